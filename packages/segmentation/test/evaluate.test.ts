import { describe, expect, it } from 'vitest';
import { noGrad } from '@parcnet/autograd';
import { Conv2d, Module } from '@parcnet/nn';
import { argmax, Generator, interpolate, Tensor } from '@parcnet/tensor';
import { bgrBatch } from '@parcnet/data';
import {
  ConfusionMatrix, evaluateSegmentationSamples, IGNORE_INDEX, nearestSourceIndices, resizeLabelsNearest, resizeSegmentation, type SegmentationSample,
} from '../src/index';

/** A "model" whose output is fixed logits, whatever the input. */
class FixedLogits extends Module {
  constructor(private readonly logits: Tensor) {
    super();
  }
  forward(): Tensor {
    return this.logits;
  }
}

const blankImage = (height: number, width: number) => ({ data: new Float32Array(3 * height * width), height, width });

describe('segmentation evaluation at the original image size (cvnets eval_segmentation.py)', () => {
  it('nearest source indices are PyTorch\'s: ⌊o · scale⌋ in float32, copy when equal, o >> 1 when doubled', () => {
    expect(Array.from(nearestSourceIndices(3, 2))).toEqual([0, 0, 1]);
    expect(Array.from(nearestSourceIndices(3, 5))).toEqual([0, 1, 3]);
    expect(Array.from(nearestSourceIndices(4, 4))).toEqual([0, 1, 2, 3]);
    expect(Array.from(nearestSourceIndices(6, 3))).toEqual([0, 0, 1, 1, 2, 2]);
    // 32 → 82: fl32(32/82) · 41 rounds to just under 16, so ATen's floorf gives 15 (exact: 16).
    expect(nearestSourceIndices(82, 32)[41]).toBe(15);
    expect(Array.from(resizeLabelsNearest([1, 2, 3, 4], 2, 2, 3, 3))).toEqual([1, 1, 2, 1, 1, 2, 3, 3, 4]);
  });

  it('a hand-made case where the two protocols differ: perfect at 2×2, mIoU 7/16 at the original 3×3', () => {
    // Prediction at the eval size 2×2: class 1 top-left, 0 elsewhere (logits [1, 2, 2, 2]).
    const logits = new Tensor(new Float32Array([0, 1, 1, 1, /* class 1: */ 1, 0, 0, 0]), [1, 2, 2, 2]);
    // Truth at the original 3×3: class 1 on the top-left pixel only.
    const mask = Uint8Array.from([1, 0, 0, 0, 0, 0, 0, 0, 0]);
    const m = evaluateSegmentationSamples(new FixedLogits(logits), [{ image: blankImage(3, 3), mask }], 2, 2);
    // Resized: the mask's pixel-centre nearest resize to 2×2 keeps rows/columns 0 and 2 → [[1, 0], [0, 0]],
    // the prediction exactly.
    expect([m.mIoU_resized, m.mAcc_resized, m.aAcc_resized]).toEqual([1, 1, 1]);
    // Original: PyTorch's nearest takes rows/columns [0, 0, 1] of the prediction, so class 1 covers the
    // top-left 2×2 block: class 1 TP 1, FP 3 → IoU 1/4, acc 1; class 0 TP 5, FN 3 → IoU 5/8, acc 5/8.
    expect(m.mIoU).toBeCloseTo((1 / 4 + 5 / 8) / 2, 15);
    expect(m.mAcc).toBeCloseTo((1 + 5 / 8) / 2, 15);
    expect(m.aAcc).toBeCloseTo(6 / 9, 15);
  });

  it('matches a direct reference on a tiny model: logits resized (nearest) to each original size, argmax, confusion matrix', () => {
    const rng = new Generator(7);
    const numClasses = 3;
    const size = 4;
    const model = new Conv2d(3, numClasses, 3, { padding: 1, generator: new Generator(3) }).eval();
    // Original sizes around the eval size: up (7×9), down and up (3×5), doubled (8×8), equal rows (4×6).
    const samples: SegmentationSample[] = [[7, 9], [3, 5], [8, 8], [4, 6]].map(([height, width]) => ({
      image: { data: Float32Array.from({ length: 3 * height * width }, () => 255 * rng.uniform()), height, width },
      mask: Uint8Array.from({ length: height * width }, () => (rng.uniform() < 0.1 ? IGNORE_INDEX : rng.integer(0, numClasses))),
    }));
    // The tensor package's interpolate computes ⌊o · in/out⌋ in float64; at these sizes it agrees with
    // ATen's float32, so it is a fair reference here.
    for (const { image } of samples) {
      for (const [out, inSize] of [[image.height, size], [image.width, size]]) {
        expect(Array.from(nearestSourceIndices(out, inSize))).toEqual(Array.from({ length: out }, (_, o) => Math.min(Math.floor((o * inSize) / out), inSize - 1)));
      }
    }
    const original = new ConfusionMatrix(numClasses);
    const resized = new ConfusionMatrix(numClasses);
    for (const sample of samples) {
      const input = resizeSegmentation(sample, size, size);
      const logits = noGrad(() => model.forward(bgrBatch([input.image])));
      const upsampled = interpolate(logits, { size: [sample.image.height, sample.image.width], mode: 'nearest' });
      original.add(sample.mask, argmax(upsampled, 1).toTypedArray());
      resized.add(input.mask, argmax(logits, 1).toTypedArray());
    }
    const expected = original.metrics();
    const expectedResized = resized.metrics();
    const m = evaluateSegmentationSamples(model, samples, numClasses, size);
    expect(m).toEqual({
      mIoU: expected.mIoU, mAcc: expected.mAcc, aAcc: expected.aAcc,
      mIoU_resized: expectedResized.mIoU, mAcc_resized: expectedResized.mAcc, aAcc_resized: expectedResized.aAcc,
    });
    // Not a vacuous comparison: the model predicts more than one class, and the protocols differ.
    expect(expected.mIoU).toBeGreaterThan(0);
    expect(m.mIoU).not.toBe(m.mIoU_resized);
  });
});
