import { FormatError } from '@parcnet/tensor';
import type { RgbImage } from './image.js';

/**
 * A labelled set of same-sized RGB images held in memory as one uint8 block [N, 3, H, W]
 * (planar, like the CIFAR binary records). The block lives on a SharedArrayBuffer so that the
 * DataLoader's worker threads read the pixels without copying them.
 */
export interface ImageDataset {
  /** Name used in messages and cache file names, e.g. 'cifar10-train'. */
  readonly name: string;
  /** Class names; a label is an index into this list. */
  readonly classes: readonly string[];
  /** The pixels, [length, 3, height, width] uint8 (0…255), planar RGB per image. */
  readonly images: Uint8Array;
  /** Class index of each image, in [0, classes.length). */
  readonly labels: Int32Array;
  /** Height of every image, in pixels. */
  readonly height: number;
  /** Width of every image, in pixels. */
  readonly width: number;
  /** Number of images. */
  readonly length: number;
}

/** An empty dataset of `length` images of height × width, its pixels on shared memory. */
export function allocateImageDataset(name: string, classes: readonly string[], length: number, height: number, width: number): ImageDataset {
  return {
    name,
    classes,
    images: new Uint8Array(new SharedArrayBuffer(length * 3 * height * width)),
    labels: new Int32Array(length),
    height,
    width,
    length,
  };
}

/** Image `index` as a view (no copy) into the dataset's block. */
export function datasetImage(dataset: ImageDataset, index: number): RgbImage {
  if (!Number.isInteger(index) || index < 0 || index >= dataset.length) {
    throw new RangeError(`${dataset.name}: image index ${index} is outside [0, ${dataset.length})`);
  }
  const size = 3 * dataset.height * dataset.width;
  return { data: dataset.images.subarray(index * size, (index + 1) * size), height: dataset.height, width: dataset.width };
}

/** A new dataset holding the listed images, in that order (copied). */
export function subsetDataset(dataset: ImageDataset, indices: readonly number[], name = `${dataset.name}[subset]`): ImageDataset {
  const out = allocateImageDataset(name, dataset.classes, indices.length, dataset.height, dataset.width);
  const size = 3 * dataset.height * dataset.width;
  indices.forEach((index, i) => {
    out.images.set(datasetImage(dataset, index).data, i * size);
    out.labels[i] = dataset.labels[index];
  });
  return out;
}

/**
 * `count` images taken class by class in turn (class 0's first image, class 1's first, …, then
 * the second of each), in dataset order within a class: a balanced subset whose every prefix is
 * balanced too.
 */
export function balancedSubset(dataset: ImageDataset, count: number, name = `${dataset.name}[${count}]`): ImageDataset {
  if (count > dataset.length) throw new FormatError(`${dataset.name}: asked for ${count} images, it holds ${dataset.length}`);
  const byClass: number[][] = dataset.classes.map(() => []);
  for (let i = 0; i < dataset.length; i++) byClass[dataset.labels[i]].push(i);
  const order: number[] = [];
  for (let k = 0; order.length < count; k++) {
    for (const bucket of byClass) {
      if (order.length === count) break;
      if (k < bucket.length) order.push(bucket[k]);
    }
  }
  return subsetDataset(dataset, order, name);
}

/** Images per class, in class order. */
export function classCounts(dataset: ImageDataset): number[] {
  const counts = dataset.classes.map(() => 0);
  for (const label of dataset.labels) counts[label]++;
  return counts;
}
