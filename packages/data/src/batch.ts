import { Generator } from '@parcnet/tensor';
import { applyTransforms, type TransformSpec } from './transforms.js';

/** What a batch is made from: the shared pixel block and the pipeline (plain data, sent to workers). */
export interface BatchSource {
  images: Uint8Array;
  height: number;
  width: number;
  transforms: TransformSpec[];
  seed: number;
}

/**
 * The generator for the image at `position` of `epoch`: seeded from (seed, epoch, position) alone,
 * so a batch comes out the same whichever thread makes it and whenever (resume included).
 */
export function sampleGenerator(seed: number, epoch: number, position: number): Generator {
  let h = Math.imul(seed ^ 0x3c6ef372, 0x9e3779b1);
  h = Math.imul(h ^ (epoch + 0x7f4a7c15), 0x85ebca77);
  h = Math.imul(h ^ (position + 0x165667b1), 0xc2b2ae3d);
  return new Generator((h ^ (h >>> 15)) >>> 0);
}

/**
 * Transforms the images `indices` (dataset order) found at `firstPosition`… of the epoch's order
 * and packs them as one float32 block [B, 3, H, W].
 */
export function makeBatch(source: BatchSource, indices: Int32Array, epoch: number, firstPosition: number): { data: Float32Array; height: number; width: number } {
  const size = 3 * source.height * source.width;
  let data: Float32Array | null = null;
  let height = 0;
  let width = 0;
  indices.forEach((index, i) => {
    const image = { data: source.images.subarray(index * size, (index + 1) * size), height: source.height, width: source.width };
    const out = applyTransforms(image, source.transforms, sampleGenerator(source.seed, epoch, firstPosition + i));
    if (!data) {
      ({ height, width } = out);
      data = new Float32Array(indices.length * out.data.length);
    } else if (out.height !== height || out.width !== width) {
      throw new Error(`DataLoader: the transforms made a ${out.height}×${out.width} image after a ${height}×${width} one; end the pipeline with a fixed-size crop or resize`);
    }
    data.set(out.data, i * out.data.length);
  });
  return { data: data ?? new Float32Array(0), height, width };
}
