import { readFile, rename, rm, writeFile } from 'node:fs/promises';

/** Node's side of the file adapter (`#files`): reading by path and atomic writes. */

export async function readFileBytes(path: string): Promise<Uint8Array> {
  return new Uint8Array(await readFile(path));
}


/**
 * Writes `bytes` beside `path` and renames it into place, so a crash or a full disk never leaves
 * half a file under `path` (and an existing file stays intact until the new one is complete).
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const temporary = `${path}.tmp-${process.pid}`;
  try {
    await writeFile(temporary, bytes);
    await rename(temporary, path);
  } catch (e) {
    await rm(temporary, { force: true });
    throw e;
  }
}
