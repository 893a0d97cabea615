import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { FormatError } from '@parcnet/tensor';
import { cacheKey, defaultCacheDir, readCachedDataset, writeCachedDataset } from './cache.js';
import { allocateImageDataset, type ImageDataset } from './dataset.js';
import { decodeRange } from './decode-range.js';
import { decodeImage } from './image.js';
import { DEFAULT_DATA_WORKERS, startWorker } from './threads.js';

const IMAGE_EXTENSIONS = /\.(jpe?g|png)$/i;
/** Part of the cache key: bump it when decoding changes, so old caches are not reused. */
const DECODER_VERSION = 'decode/2 (jpeg-js, rounded YCbCr→RGB)';

/** The files of an image folder, as {@link listImageFolder} finds them. */
export interface ImageFolderListing {
  /** The folder listed. */
  root: string;
  /** Class folder names, sorted; a label is an index into this list. */
  classes: string[];
  /** Every image, class by class, sorted by name within a class. */
  files: {
    /** Path of the image file (root joined with class folder and file name). */
    path: string;
    /** Index of its class in `classes`. */
    label: number;
  }[];
}

/**
 * The layout torchvision's ImageFolder reads: one folder per class under `root`, classes in sorted
 * order (label = position), files sorted by name within each class.
 */
export function listImageFolder(root: string): ImageFolderListing {
  if (!existsSync(root) || !statSync(root).isDirectory()) throw new FormatError(`image folder ${root}: no such folder`);
  const classes = readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
  if (classes.length === 0) throw new FormatError(`image folder ${root}: no class folders inside`);
  const files: ImageFolderListing['files'] = [];
  classes.forEach((name, label) => {
    const images = readdirSync(join(root, name)).filter((f) => IMAGE_EXTENSIONS.test(f)).sort();
    if (images.length === 0) throw new FormatError(`image folder ${root}: class folder ${name} holds no .jpg, .jpeg or .png files`);
    for (const f of images) files.push({ path: join(root, name, f), label });
  });
  return { root, classes, files };
}

/** Options of {@link loadImageFolder}. */
export interface ImageFolderOptions {
  /** Dataset name, used in messages and in the cache file name; default the folder's base name. */
  name?: string;
  /** Resize every image to this [height, width]; without it all images must share one size. */
  size?: [number, number];
  /** Where decoded datasets are cached (default ~/.cache/parcnet); `false` disables the cache. */
  cacheDir?: string | false;
  /** Decoding threads (default 1; 0 decodes on the calling thread). */
  workers?: number;
}

/**
 * Decodes an image folder into an ImageDataset. The decoded pixels are cached under a key hashed
 * from the listing (relative paths, sizes, modification times), so later runs skip decoding.
 */
export async function loadImageFolder(root: string, options: ImageFolderOptions = {}): Promise<ImageDataset> {
  const listing = listImageFolder(root);
  const name = options.name ?? basename(root);
  const sourceListing = listing.files
    .map(({ path }) => {
      const s = statSync(path);
      return `${relative(root, path)}\t${s.size}\t${Math.round(s.mtimeMs)}`;
    })
    .join('\n');
  const key = cacheKey(`${DECODER_VERSION}\n${JSON.stringify(options.size ?? null)}\n${sourceListing}`);
  const cacheDir = options.cacheDir === undefined ? defaultCacheDir() : options.cacheDir;
  const cacheFile = cacheDir === false ? null : join(cacheDir, `${name.replace(/[^\w.-]+/g, '_')}-${key}.u8`);
  if (cacheFile && existsSync(cacheFile)) {
    try {
      return readCachedDataset(cacheFile);
    } catch {
      // A damaged cache entry is rebuilt below (and overwritten atomically).
    }
  }
  const [height, width] = options.size ?? sizeOf(listing.files[0].path);
  const dataset = allocateImageDataset(name, listing.classes, listing.files.length, height, width);
  listing.files.forEach((f, i) => (dataset.labels[i] = f.label));
  await decodeAll(listing.files.map((f) => f.path), dataset, options.size !== undefined, options.workers ?? DEFAULT_DATA_WORKERS);
  if (cacheFile) writeCachedDataset(cacheFile, dataset);
  return dataset;
}

function sizeOf(file: string): [number, number] {
  const image = decodeImage(readFileSync(file), file);
  return [image.height, image.width];
}

async function decodeAll(files: string[], dataset: ImageDataset, resize: boolean, workers: number): Promise<void> {
  const chunks = Math.max(1, Math.min(workers, files.length));
  const perChunk = Math.ceil(files.length / chunks);
  const jobs = Array.from({ length: chunks }, (_, c) => ({
    files: files.slice(c * perChunk, (c + 1) * perChunk),
    first: c * perChunk,
    images: dataset.images,
    height: dataset.height,
    width: dataset.width,
    resize,
  }));
  if (workers === 0) {
    for (const job of jobs) decodeRange(job);
    return;
  }
  await Promise.all(
    jobs.map(
      (job) =>
        new Promise<void>((resolve, reject) => {
          const worker = startWorker('decode-worker', job);
          worker.once('message', (m: { ok: boolean; message?: string }) => {
            void worker.terminate();
            if (m.ok) resolve();
            else reject(new FormatError(`image folder ${dataset.name}: ${m.message}`));
          });
          worker.once('error', reject);
        }),
    ),
  );
}
