import type { Generator } from '@parcnet/tensor';
import { crop, flipHorizontal, resizeBilinear, type FloatImage } from '@parcnet/data';
import { IGNORE_INDEX } from './masks.js';

/**
 * An image with its class mask, what the segmentation training transforms work on (spec §10,
 * segmentation): random resize of the shorter side, random crop (padded with 0 in the image and
 * IGNORE_INDEX in the mask where the image is smaller than the crop), horizontal flip. The mask
 * follows the image pixel for pixel; it is resized by nearest neighbour, since class labels must
 * not be interpolated.
 */
export interface SegmentationSample {
  /** Planar RGB, 0…255. */
  image: FloatImage;
  /** Class per pixel, height × width, row-major. */
  mask: Uint8Array;
}

/** Nearest-neighbour resize of a mask (pixel centres, as the bilinear image resize). */
export function resizeMask(mask: Uint8Array, height: number, width: number, outHeight: number, outWidth: number): Uint8Array {
  const out = new Uint8Array(outHeight * outWidth);
  for (let y = 0; y < outHeight; y++) {
    const sy = Math.min(height - 1, Math.floor(((y + 0.5) * height) / outHeight));
    for (let x = 0; x < outWidth; x++) out[y * outWidth + x] = mask[sy * width + Math.min(width - 1, Math.floor(((x + 0.5) * width) / outWidth))];
  }
  return out;
}

/** Resize to height × width, the image bilinear and the mask by nearest neighbour (aspect not kept). */
export function resizeSegmentation(sample: SegmentationSample, height: number, width: number): SegmentationSample {
  const { image, mask } = sample;
  return { image: resizeBilinear(image, height, width), mask: resizeMask(mask, image.height, image.width, height, width) };
}

/** Shorter side to a random integer in [minShort, maxShort], aspect kept. */
export function randomResizeSegmentation(sample: SegmentationSample, rng: Generator, minShort: number, maxShort: number): SegmentationSample {
  const short = rng.integer(minShort, maxShort + 1);
  const { height, width } = sample.image;
  const scale = short / Math.min(height, width);
  return resizeSegmentation(sample, Math.max(1, Math.round(height * scale)), Math.max(1, Math.round(width * scale)));
}

/** A random size × size window; where it leaves the image, the image reads 0 and the mask IGNORE_INDEX. */
export function randomCropSegmentation(sample: SegmentationSample, rng: Generator, size: number): SegmentationSample {
  const { height, width } = sample.image;
  const top = rng.integer(0, Math.max(0, height - size) + 1);
  const left = rng.integer(0, Math.max(0, width - size) + 1);
  const mask = new Uint8Array(size * size).fill(IGNORE_INDEX);
  for (let y = 0; y < Math.min(size, height - top); y++) {
    for (let x = 0; x < Math.min(size, width - left); x++) mask[y * size + x] = sample.mask[(top + y) * width + left + x];
  }
  return { image: crop(sample.image, top, left, size, size, 0), mask };
}

/** Mirror image and mask left–right. */
export function flipSegmentation(sample: SegmentationSample): SegmentationSample {
  const { height, width } = sample.image;
  const mask = new Uint8Array(sample.mask.length);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) mask[y * width + x] = sample.mask[y * width + width - 1 - x];
  return { image: flipHorizontal(sample.image), mask };
}
