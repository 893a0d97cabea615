import { readFileSync } from 'node:fs';
import { FormatError } from '@parcnet/tensor';
import { decodeImage } from './image.js';
import { resizeBilinear } from './transforms.js';

export interface DecodeJob {
  files: string[];
  /** Index in the dataset of files[0]. */
  first: number;
  images: Uint8Array;
  height: number;
  width: number;
  /** Resize images of another size (else they are an error). */
  resize: boolean;
}

/** Decodes `files` into the dataset block [N, 3, height, width] from image `first` on. */
export function decodeRange({ files, first, images, height, width, resize }: DecodeJob): void {
  const size = 3 * height * width;
  files.forEach((file, i) => {
    let image = decodeImage(readFileSync(file), file);
    if (image.height !== height || image.width !== width) {
      if (!resize) throw new FormatError(`${file} is ${image.width}×${image.height}, the folder's first image is ${width}×${height}; give a size to resize`);
      image = resizeBilinear(image, height, width);
    }
    images.set(image.data, (first + i) * size);
  });
}
