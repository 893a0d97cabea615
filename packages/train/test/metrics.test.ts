import { describe, expect, it } from 'vitest';
import { allocateImageDataset, DataLoader } from '@parcnet/data';
import { Module } from '@parcnet/nn';
import { tensor, type Tensor } from '@parcnet/tensor';
import { countTopK, evaluateClassifier } from '../src/index';

describe('top-k accuracy', () => {
  it('counts a label among the k best scores; ties go to the lower index, as argmax does', () => {
    const logits = tensor([
      [0.1, 0.9, 0.0],
      [0.5, 0.2, 0.3],
      [0.2, 0.2, 0.1],
      [0.2, 0.2, 0.1],
    ]);
    const labels = tensor([1, 2, 0, 1], { dtype: 'int32' });
    expect(countTopK(logits, labels, 1)).toBe(2); // rows 0 and 2
    expect(countTopK(logits, labels, 2)).toBe(4);
    expect(countTopK(logits, labels, 3)).toBe(4);
  });
});

/** Scores class 0 by the mean of the left half of the image, class 1 by the right half's: a classifier that a mirror image fools. */
class SideScorer extends Module {
  forward(x: Tensor): Tensor {
    const [b, c, h, w] = x.shape;
    const v = x.contiguous().toTypedArray();
    const rows: number[][] = [];
    for (let i = 0; i < b; i++) {
      const sides = [0, 0];
      for (let p = 0; p < c * h; p++) for (let j = 0; j < w; j++) sides[j < w / 2 ? 0 : 1] += v[(i * c * h + p) * w + j];
      rows.push(sides.map((s) => s / ((c * h * w) / 2)));
    }
    return tensor(rows);
  }
}

describe('evaluateClassifier', () => {
  it('with flipTta scores the mean of the logits of each image and of its mirror image', async () => {
    // Four 2×4 images, bright on the left (label 0) or on the right (label 1).
    const data = allocateImageDataset('sides', ['left', 'right'], 4, 2, 4);
    for (let i = 0; i < 4; i++) {
      data.labels[i] = i % 2;
      for (let p = 0; p < 3 * 2; p++) for (let j = 0; j < 4; j++) data.images[(i * 6 + p) * 4 + j] = (j < 2) === (i % 2 === 0) ? 255 : 51;
    }
    const loader = new DataLoader(data, { batchSize: 3, transforms: [{ name: 'toFloat' }], workers: 0 });
    try {
      const plain = await evaluateClassifier(new SideScorer(), loader);
      expect([plain.top1, plain.images]).toEqual([1, 4]);
      // Logits [1, 0.2] or [0.2, 1]: cross-entropy log(1 + e^−0.8).
      expect(plain.loss).toBeCloseTo(Math.log(1 + Math.exp(-0.8)), 5);
      const flipped = await evaluateClassifier(new SideScorer(), loader, undefined, { flipTta: true });
      // The mean of an image's logits and its mirror's is [0.6, 0.6]: a tie, which goes to class 0.
      expect([flipped.top1, flipped.top5, flipped.images]).toEqual([0.5, 1, 4]);
      expect(flipped.loss).toBeCloseTo(Math.log(2), 5);
    } finally {
      await loader.close();
    }
  });
});
