import { ParcnetError } from '@parcnet/tensor';

/**
 * A browser's side of the file adapter (`#files`): a page has no file system, so reading or writing
 * by path is refused with the byte-level function to use instead (a file the user picks, or a
 * fetched URL, gives the bytes).
 */

export async function readFileBytes(path: string): Promise<Uint8Array> {
  throw new ParcnetError(`@parcnet/io: cannot read "${path}": a browser has no file system; read the bytes (File.arrayBuffer() or fetch) and pass them: parseSafetensors(bytes), parseTorch(bytes)`);
}

/** A browser's writeFileAtomic: refused with a ParcnetError (a page has no file system) that names the serialise functions to use. */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  throw new ParcnetError(`@parcnet/io: cannot write ${bytes.length} bytes to "${path}": a browser has no file system; use serializeSafetensors, serializeTorch or serializeOnnx and offer the bytes as a download`);
}
