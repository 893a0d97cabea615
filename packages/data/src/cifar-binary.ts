import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FormatError } from '@parcnet/tensor';
import { allocateImageDataset, type ImageDataset } from './dataset.js';

/**
 * The official CIFAR binary release (https://www.cs.toronto.edu/~kriz/cifar.html). Each record is
 * the label byte(s) then 3072 pixel bytes: the 1024 red values, then green, then blue, rows in
 * order — already our planar [3, 32, 32] layout.
 *   CIFAR-10:  data_batch_1..5.bin / test_batch.bin, 1 label byte, names in batches.meta.txt.
 *   CIFAR-100: train.bin / test.bin, a coarse then a fine label byte, names in fine_label_names.txt.
 */
export type CifarVariant = 'cifar10' | 'cifar100';
/** A CIFAR split: 'train' (50,000 images) or 'test' (10,000). */
export type Split = 'train' | 'test';

const PIXELS = 3 * 32 * 32;

interface Layout {
  subfolder: string;
  files: Record<Split, string[]>;
  labelBytes: number;
  namesFile: string;
  numClasses: number;
}

const LAYOUTS: Record<CifarVariant, Layout> = {
  cifar10: {
    subfolder: 'cifar-10-batches-bin',
    files: { train: [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`), test: ['test_batch.bin'] },
    labelBytes: 1,
    namesFile: 'batches.meta.txt',
    numClasses: 10,
  },
  cifar100: {
    subfolder: 'cifar-100-binary',
    files: { train: ['train.bin'], test: ['test.bin'] },
    labelBytes: 2,
    namesFile: 'fine_label_names.txt',
    numClasses: 100,
  },
};

/** The folder holding the binary files: `dir` itself or its official subfolder; null if neither. */
export function findCifarBinary(dir: string, variant: CifarVariant): string | null {
  const layout = LAYOUTS[variant];
  for (const candidate of [dir, join(dir, layout.subfolder)]) {
    if (existsSync(join(candidate, layout.files.test[0]))) return candidate;
  }
  return null;
}

/**
 * Reads one split of the official binary files in `dir` (or its official subfolder) into a dataset
 * of 32×32 images named `<variant>-<split>`; class names from the names file, else '0', '1', ….
 * CIFAR-100 gets its fine labels.
 */
export function readCifarBinary(dir: string, split: Split, variant: CifarVariant = 'cifar10'): ImageDataset {
  const layout = LAYOUTS[variant];
  const root = findCifarBinary(dir, variant);
  if (!root) throw new FormatError(`${variant}: no ${layout.files.test[0]} in ${dir} or ${join(dir, layout.subfolder)}`);
  const classes = readClassNames(join(root, layout.namesFile), layout.numClasses);
  const recordSize = layout.labelBytes + PIXELS;
  const paths = layout.files[split].map((f) => join(root, f));
  let total = 0;
  for (const path of paths) {
    if (!existsSync(path)) throw new FormatError(`${variant}: missing ${path}`);
    const size = statSync(path).size;
    if (size === 0 || size % recordSize !== 0) {
      throw new FormatError(`${path}: ${size} bytes is not a whole number of ${recordSize}-byte ${variant} records (truncated, or the wrong format)`);
    }
    total += size / recordSize;
  }
  const dataset = allocateImageDataset(`${variant}-${split}`, classes, total, 32, 32);
  let n = 0;
  for (const path of paths) {
    const bytes = readFileSync(path);
    for (let offset = 0; offset < bytes.length; offset += recordSize, n++) {
      const label = bytes[offset + layout.labelBytes - 1]; // CIFAR-100: the fine label is the second byte
      if (label >= layout.numClasses) throw new FormatError(`${path}: record ${offset / recordSize} has label ${label}, ${variant} has ${layout.numClasses} classes`);
      dataset.labels[n] = label;
      dataset.images.set(bytes.subarray(offset + layout.labelBytes, offset + recordSize), n * PIXELS);
    }
  }
  return dataset;
}

function readClassNames(path: string, numClasses: number): string[] {
  if (!existsSync(path)) return Array.from({ length: numClasses }, (_, i) => String(i));
  const names = readFileSync(path, 'utf8').split(/\r?\n/).map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length !== numClasses) throw new FormatError(`${path}: ${names.length} class names, expected ${numClasses}`);
  return names;
}

/**
 * Writes datasets of 32×32 images in the official binary layout (CIFAR-100 records get coarse
 * label 0): test fixtures, and a way to hand the sample to tools that read the official files.
 */
export function writeCifarBinary(dir: string, splits: Partial<Record<Split, ImageDataset>>, variant: CifarVariant = 'cifar10'): void {
  const layout = LAYOUTS[variant];
  mkdirSync(dir, { recursive: true });
  let classes: readonly string[] | null = null;
  for (const split of ['train', 'test'] as const) {
    const dataset = splits[split];
    if (!dataset) continue;
    if (dataset.height !== 32 || dataset.width !== 32) throw new FormatError(`writeCifarBinary: ${dataset.name} holds ${dataset.height}×${dataset.width} images, CIFAR records are 32×32`);
    classes = dataset.classes;
    const files = layout.files[split];
    const perFile = Math.ceil(dataset.length / files.length);
    files.forEach((file, f) => {
      const start = f * perFile;
      const end = Math.min(dataset.length, start + perFile);
      const recordSize = layout.labelBytes + PIXELS;
      const bytes = new Uint8Array(Math.max(0, end - start) * recordSize);
      for (let i = start; i < end; i++) {
        const offset = (i - start) * recordSize;
        bytes[offset + layout.labelBytes - 1] = dataset.labels[i];
        bytes.set(dataset.images.subarray(i * PIXELS, (i + 1) * PIXELS), offset + layout.labelBytes);
      }
      writeFileSync(join(dir, file), bytes);
    });
  }
  if (classes) writeFileSync(join(dir, layout.namesFile), `${classes.join('\n')}\n`);
}
