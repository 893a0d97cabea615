import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Generator } from '@parcnet/tensor';
import { allocateImageDataset, type ImageDataset } from '../src/index';

export function temporaryDir(prefix = 'parcnet-data-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A dataset of random 32×32 images, `perClass` per class, labels cycling through the classes. */
export function randomDataset(numClasses: number, perClass: number, seed = 0, name = 'random'): ImageDataset {
  const classes = Array.from({ length: numClasses }, (_, i) => `class${i}`);
  const dataset = allocateImageDataset(name, classes, numClasses * perClass, 32, 32);
  const rng = new Generator(seed);
  for (let i = 0; i < dataset.images.length; i++) dataset.images[i] = rng.integer(0, 256);
  for (let i = 0; i < dataset.length; i++) dataset.labels[i] = i % numClasses;
  return dataset;
}
