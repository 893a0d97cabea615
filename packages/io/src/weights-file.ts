import { FormatError, type Tensor } from '@parcnet/tensor';
import { readFileBytes } from '#files';
import { parseSafetensors } from './safetensors.js';
import { parseTorch } from './torch.js';

/** What `loadWeightsFile` found: the tensors, the file's metadata (safetensors only) and the format. */
export interface WeightsFile {
  /** The tensors by state-dict key. */
  tensors: Record<string, Tensor>;
  /** safetensors' `__metadata__` strings; empty for a `.pt` file. */
  metadata: Record<string, string>;
  /** What the bytes held: 'pt' for a torch.save zip, else 'safetensors'. */
  format: 'safetensors' | 'pt';
}

/**
 * Reads a weights file in either format: a `torch.save` zip (an official `.pt` checkpoint) or
 * safetensors. They are told apart by the zip magic, not by the name, so a `.pt` renamed, or a
 * safetensors file called `.bin`, still reads. Every command that takes `--weights` reads through
 * this one function.
 */
export async function loadWeightsFile(source: string | Uint8Array): Promise<WeightsFile> {
  const name = typeof source === 'string' ? source : '<bytes>';
  let bytes: Uint8Array;
  if (typeof source === 'string') {
    try {
      bytes = await readFileBytes(source);
    } catch (e) {
      const code = (e as { code?: string }).code;
      throw new FormatError(`${name}: cannot read the weights file (${code === 'ENOENT' ? 'no such file' : (code ?? (e as Error).message)})`);
    }
  } else bytes = source;
  if (bytes[0] === 0x50 && bytes[1] === 0x4b) return { tensors: parseTorch(bytes, name), metadata: {}, format: 'pt' };
  return { ...parseSafetensors(bytes, name), format: 'safetensors' };
}
