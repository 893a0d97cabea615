import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { FormatError } from '@parcnet/tensor';
import { allocateImageDataset, type ImageDataset } from './dataset.js';

/**
 * Decoded datasets cached as one uint8 file, so that JPEG is decoded once per machine, not per
 * epoch or per run. Layout: the 8 magic bytes "PNCACHE1", a uint32 LE header length, the header
 * JSON {name, classes, length, height, width}, int32 LE labels, then the [N, 3, H, W] pixels.
 */
const MAGIC = 'PNCACHE1';

/** The cache folder: $PARCNET_CACHE, else ~/.cache/parcnet. */
export function defaultCacheDir(): string {
  return process.env.PARCNET_CACHE ?? join(homedir(), '.cache', 'parcnet');
}

/** A short hash naming a cache entry, from a listing of the source (paths, sizes, times). */
export function cacheKey(listing: string): string {
  return createHash('sha256').update(listing).digest('hex').slice(0, 16);
}

/** Writes `dataset` to the cache file `file` (folders created; written to a temporary file, then renamed). */
export function writeCachedDataset(file: string, dataset: ImageDataset): void {
  const header = new TextEncoder().encode(
    JSON.stringify({ name: dataset.name, classes: dataset.classes, length: dataset.length, height: dataset.height, width: dataset.width }),
  );
  const prefix = new Uint8Array(12 + header.length);
  prefix.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(prefix.buffer).setUint32(8, header.length, true);
  prefix.set(header, 12);
  mkdirSync(dirname(file), { recursive: true });
  // Written beside the target and renamed, so a reader never sees half a cache file.
  const temporary = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, prefix);
    writeFileSync(temporary, new Uint8Array(dataset.labels.buffer, dataset.labels.byteOffset, dataset.labels.byteLength), { flag: 'a' });
    writeFileSync(temporary, dataset.images, { flag: 'a' });
    renameSync(temporary, file);
  } catch (e) {
    rmSync(temporary, { force: true });
    throw e;
  }
}

/** Reads a cache file written by {@link writeCachedDataset}; a FormatError if it is not one or is truncated. */
export function readCachedDataset(file: string): ImageDataset {
  const bytes = readFileSync(file);
  if (bytes.length < 12 || bytes.subarray(0, 8).toString('latin1') !== MAGIC) throw new FormatError(`${file}: not a parcnet dataset cache (bad magic)`);
  const headerLength = bytes.readUInt32LE(8);
  let header: { name: string; classes: string[]; length: number; height: number; width: number };
  try {
    header = JSON.parse(bytes.subarray(12, 12 + headerLength).toString('utf8')) as typeof header;
  } catch (e) {
    throw new FormatError(`${file}: unreadable cache header (${(e as Error).message})`);
  }
  const { name, classes, length, height, width } = header;
  const labelsStart = 12 + headerLength;
  const pixelsStart = labelsStart + 4 * length;
  const expected = pixelsStart + length * 3 * height * width;
  if (bytes.length !== expected) throw new FormatError(`${file}: ${bytes.length} bytes, the header implies ${expected}`);
  const dataset = allocateImageDataset(name, classes, length, height, width);
  for (let i = 0; i < length; i++) dataset.labels[i] = bytes.readInt32LE(labelsStart + 4 * i);
  dataset.images.set(bytes.subarray(pixelsStart));
  return dataset;
}
