import { rename, rm, writeFile } from 'node:fs/promises';

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
