import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable, Transform } from 'node:stream';
import { extract } from 'tar';
import { FormatError } from '@parcnet/tensor';
import { defaultCacheDir } from './cache.js';
import { findCifarBinary, readCifarBinary, type CifarVariant, type Split } from './cifar-binary.js';
import type { ImageDataset } from './dataset.js';
import { loadImageFolder } from './image-folder.js';

/** Options of {@link loadCifar10} and {@link loadCifar100}. */
export interface CifarOptions {
  /** Which split to load. */
  split: Split;
  /** A folder with the binary files (or their official subfolder), or with `train/` and `test/` class folders. */
  data?: string;
  /** Cache of decoded image folders and of downloads; default $PARCNET_CACHE, else ~/.cache/parcnet. */
  cacheDir?: string;
  /** Download the official archive when the data is nowhere else (default true). */
  download?: boolean;
  /** Called while downloading with bytes received and total. */
  onDownload?: (received: number, total: number) => void;
  /** Decoding threads for image folders; default 1 (see {@link ImageFolderOptions.workers}). */
  workers?: number;
}

/** The official binary archives (sizes and sha256 of the files at cs.toronto.edu). */
const ARCHIVES: Record<CifarVariant, { url: string; bytes: number; sha256: string }> = {
  cifar10: {
    url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz',
    bytes: 170052171,
    sha256: 'c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd',
  },
  cifar100: {
    url: 'https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz',
    bytes: 168513733,
    sha256: '58a81ae192c23a4be8b1804d68e518ed807d710a4eb253b1f2a199162a40d8ec',
  },
};

/**
 * CIFAR-10 (10 classes, 32×32): from `options.data`, else $PARCNET_DATA/cifar10, else the cache
 * folder, else downloaded there (sha256-checked). Either layout works: the binary files or
 * `train/` and `test/` class folders.
 */
export function loadCifar10(options: CifarOptions): Promise<ImageDataset> {
  return loadCifar('cifar10', options);
}

/** CIFAR-100 (100 fine classes, 32×32), found or downloaded as {@link loadCifar10} does, under `cifar100`. */
export function loadCifar100(options: CifarOptions): Promise<ImageDataset> {
  return loadCifar('cifar100', options);
}

/** Which layout a folder holds: 'binary', 'folders' (train/ and test/ class folders) or null. */
export function cifarLayout(dir: string, variant: CifarVariant): 'binary' | 'folders' | null {
  if (findCifarBinary(dir, variant)) return 'binary';
  if (existsSync(join(dir, 'train')) && existsSync(join(dir, 'test'))) return 'folders';
  return null;
}

/**
 * Finds the data in this order: `data`, then $PARCNET_DATA/<variant>, then the cache folder; if it
 * is nowhere, downloads the official archive into the cache (sha256-checked) or, offline, says how
 * to provide it.
 */
async function loadCifar(variant: CifarVariant, options: CifarOptions): Promise<ImageDataset> {
  const cacheDir = options.cacheDir ?? defaultCacheDir();
  const searched: string[] = [];
  const candidates = [
    options.data,
    process.env.PARCNET_DATA ? join(process.env.PARCNET_DATA, variant) : undefined,
    join(cacheDir, variant),
  ].filter((d): d is string => d !== undefined);
  for (const [i, dir] of candidates.entries()) {
    searched.push(dir);
    const layout = existsSync(dir) ? cifarLayout(dir, variant) : null;
    if (layout === 'binary') return readCifarBinary(dir, options.split, variant);
    if (layout === 'folders') return loadImageFolder(join(dir, options.split), { name: `${variant}-${options.split}`, cacheDir, workers: options.workers });
    // An explicit --data that holds neither layout is a mistake to report, not to skip past.
    if (i === 0 && options.data !== undefined) {
      throw new FormatError(
        `${variant}: ${dir} holds neither the binary files (${variant === 'cifar10' ? 'data_batch_1..5.bin, test_batch.bin' : 'train.bin, test.bin'}) nor train/ and test/ class folders`,
      );
    }
  }
  const target = join(cacheDir, variant);
  if (options.download === false) throw notFound(variant, searched, 'downloading is disabled');
  try {
    await downloadArchive(variant, target, options.onDownload);
  } catch (e) {
    throw notFound(variant, searched, `downloading ${ARCHIVES[variant].url} failed: ${(e as Error).message}`);
  }
  return readCifarBinary(target, options.split, variant);
}

function notFound(variant: CifarVariant, searched: string[], why: string): FormatError {
  return new FormatError(
    `${variant}: no data in ${searched.join(', ')}, and ${why}. Provide it with --data <dir> (or PARCNET_DATA=<parent>): ` +
      `a folder holding the official binary files, or train/<class>/*.jpg and test/<class>/*.jpg; ` +
      `or download ${ARCHIVES[variant].url} and unpack it into ${searched[searched.length - 1]}`,
  );
}

/** Streams the archive to a temporary file, checks its sha256, unpacks it into `target`. */
async function downloadArchive(variant: CifarVariant, target: string, onDownload?: (received: number, total: number) => void): Promise<void> {
  const archive = ARCHIVES[variant];
  mkdirSync(target, { recursive: true });
  const temporary = join(target, `download-${process.pid}.tar.gz.tmp`);
  try {
    const response = await fetch(archive.url, { signal: AbortSignal.timeout(30 * 60_000) });
    if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
    const hash = createHash('sha256');
    let received = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        received += chunk.length;
        hash.update(chunk);
        onDownload?.(received, archive.bytes);
        done(null, chunk);
      },
    });
    await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), meter, createWriteStream(temporary));
    const digest = hash.digest('hex');
    if (digest !== archive.sha256) throw new Error(`sha256 ${digest} of ${received} bytes, expected ${archive.sha256}`);
    const unpacked = join(target, `unpack-${process.pid}`);
    mkdirSync(unpacked, { recursive: true });
    await extract({ file: temporary, cwd: unpacked });
    const folder = findCifarBinary(unpacked, variant);
    if (!folder) throw new Error(`the archive holds no ${variant} binary files`);
    for (const name of ['cifar-10-batches-bin', 'cifar-100-binary']) {
      if (existsSync(join(unpacked, name))) renameSync(join(unpacked, name), join(target, name));
    }
    rmSync(unpacked, { recursive: true, force: true });
  } finally {
    rmSync(temporary, { force: true });
  }
}
