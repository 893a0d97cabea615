import { noGrad } from '@parcnet/autograd';
import { argmax, ShapeError, tidy } from '@parcnet/tensor';
import type { Module } from '@parcnet/nn';
import { bgrBatch } from '@parcnet/data';
import { ConfusionMatrix } from './metrics.js';
import { resizeSegmentation, type SegmentationSample } from './transforms.js';

/**
 * A segmenter's metrics over a split under two protocols. The plain names are the official one
 * (cvnets `engine/eval_segmentation.py`): the prediction resized back to each image's original size
 * and compared with the original mask. The `_resized` names compare the prediction at the evaluation
 * size with the mask resized to it (nearest), the figure parcnet reported before.
 */
export interface SegmentationMetrics {
  /** Mean IoU at the original image size, over the classes present in the truth (ConfusionMatrix.metrics). */
  mIoU: number;
  /** Mean per-class pixel accuracy at the original size, over the classes present in the truth. */
  mAcc: number;
  /** Pixel accuracy at the original size, over the non-ignored pixels. */
  aAcc: number;
  /** Mean IoU at the evaluation size (mask resized to it by nearest neighbour). */
  mIoU_resized: number;
  /** Mean per-class pixel accuracy at the evaluation size. */
  mAcc_resized: number;
  /** Pixel accuracy at the evaluation size. */
  aAcc_resized: number;
}

/**
 * Source index along one axis of PyTorch's `F.interpolate(mode="nearest")` with `size` given:
 * ⌊o · scale⌋ clipped to the input, with scale = in / out **in float32** (ATen's
 * `nearest_neighbor_compute_source_index`, `floorf(dst_index * scale)`), and the exact cases
 * out = in (copy) and out = 2·in (o >> 1) that ATen treats without floats. The float32 matters:
 * e.g. 32 → 82 maps output 41 to source 15, where exact arithmetic gives 16.
 */
export function nearestSourceIndices(outSize: number, inSize: number): Int32Array {
  if (!(Number.isInteger(outSize) && outSize > 0 && Number.isInteger(inSize) && inSize > 0)) {
    throw new ShapeError(`nearestSourceIndices: sizes must be positive integers, got ${inSize} → ${outSize}`);
  }
  const indices = new Int32Array(outSize);
  const scale = Math.fround(inSize / outSize);
  for (let o = 0; o < outSize; o++) {
    if (outSize === inSize) indices[o] = o;
    else if (outSize === 2 * inSize) indices[o] = o >> 1;
    else indices[o] = Math.min(Math.floor(Math.fround(o * scale)), inSize - 1);
  }
  return indices;
}

/**
 * A label map [height × width] resized to outHeight × outWidth as PyTorch's nearest interpolation
 * moves pixels ({@link nearestSourceIndices}). Taking the argmax and then resizing this way gives
 * exactly the argmax of the nearest-resized logits: nearest copies a pixel's whole channel vector.
 */
export function resizeLabelsNearest(labels: ArrayLike<number>, height: number, width: number, outHeight: number, outWidth: number): Int32Array {
  if (labels.length !== height * width) throw new ShapeError(`resizeLabelsNearest: ${labels.length} labels for a ${height}×${width} map`);
  const rows = nearestSourceIndices(outHeight, height);
  const columns = nearestSourceIndices(outWidth, width);
  const out = new Int32Array(outHeight * outWidth);
  for (let y = 0; y < outHeight; y++) {
    const row = rows[y] * width;
    for (let x = 0; x < outWidth; x++) out[y * outWidth + x] = labels[row + columns[x]];
  }
  return out;
}

/**
 * Metrics of a model over samples at their original size (images planar RGB 0…255, masks the
 * original ones): each image is resized (bilinear) to size × size and run once; its logits
 * [1, C, h, w] give both protocols of {@link SegmentationMetrics}. For the official one, cvnets
 * resizes the logits to the original height × width with `mode="nearest"` and then takes the
 * argmax; here the argmax map is resized instead, which is the same prediction (see
 * {@link resizeLabelsNearest}) at 1/C of the memory.
 */
export function evaluateSegmentationSamples(
  model: Module,
  samples: readonly SegmentationSample[],
  numClasses: number,
  size: number,
  onImage?: (done: number, total: number) => void,
): SegmentationMetrics {
  const original = new ConfusionMatrix(numClasses);
  const resized = new ConfusionMatrix(numClasses);
  samples.forEach((sample, i) => {
    onImage?.(i, samples.length);
    const input = resizeSegmentation(sample, size, size);
    // tidy: the image's activations go back as soon as its labels are read.
    const { labels, h, w } = noGrad(() => tidy(() => {
      const logits = model.forward(bgrBatch([input.image]));
      if (logits.ndim !== 4 || logits.shape[0] !== 1) throw new ShapeError(`evaluateSegmentation: expected logits [1, C, H, W], got [${logits.shape.join(', ')}]`);
      return { labels: argmax(logits, 1).toTypedArray(), h: logits.shape[2], w: logits.shape[3] }; // per-pixel class, [1, h, w]
    }));
    // The resized protocol compares at the logits' size, which is the input's (DeepLabV3 upsamples ×16).
    if (h !== size || w !== size) throw new ShapeError(`evaluateSegmentation: logits are ${h}×${w} for a ${size}×${size} input`);
    resized.add(input.mask, labels);
    const { height, width } = sample.image;
    original.add(sample.mask, resizeLabelsNearest(labels, h, w, height, width));
  });
  const o = original.metrics();
  const r = resized.metrics();
  return { mIoU: o.mIoU, mAcc: o.mAcc, aAcc: o.aAcc, mIoU_resized: r.mIoU, mAcc_resized: r.mAcc, aAcc_resized: r.aAcc };
}
