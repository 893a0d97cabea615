import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { loadSafetensors } from '@parcnet/io';
import { goldenDir } from '@parcnet/testing';
import { batchedNms, boxIou, centerToCorners, cornersToCenter, decodeBoxes, encodeBoxes, matchAnchors, nms, ssdAnchors } from '../src/index';

fc.configureGlobal({ seed: 20261129, numRuns: 200 });

const box = fc
  .tuple(fc.double({ min: 0, max: 0.9, noNaN: true }), fc.double({ min: 0, max: 0.9, noNaN: true }), fc.double({ min: 0.01, max: 0.5, noNaN: true }), fc.double({ min: 0.01, max: 0.5, noNaN: true }))
  .map(([x, y, w, h]) => [x, y, x + w, y + h]);

describe('SSD anchors, box coding, matching and NMS (spec §8)', () => {
  it('the 3232 anchors at 320×320 equal the official ones in order and value', async () => {
    const golden = (await loadSafetensors(join(goldenDir, 'ssd_anchors_320.safetensors'))).tensors.anchors;
    const anchors = ssdAnchors(320);
    expect(golden.shape).toEqual([3232, 4]);
    expect(anchors.length).toBe(3232 * 4);
    expect(Array.from(anchors)).toEqual(Array.from(golden.toTypedArray()));
  });

  it('decode(encode(box)) is the box, for any box and anchor', () => {
    fc.assert(
      fc.property(box, box, (b, a) => {
        const g = cornersToCenter(b);
        const anchor = cornersToCenter(a);
        const back = decodeBoxes(encodeBoxes(g, anchor), anchor);
        for (let i = 0; i < 4; i++) expect(Math.abs(back[i] - g[i])).toBeLessThan(1e-5);
        const corners = centerToCorners(back);
        for (let i = 0; i < 4; i++) expect(Math.abs(corners[i] - b[i])).toBeLessThan(1e-5);
      }),
    );
    // The variances: a box shifted by 10 % of the anchor width encodes as 1.
    expect(Array.from(encodeBoxes([0.55, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5]))).toEqual([1, 0, 0, 0]);
  });

  it('NMS keeps boxes that overlap no better-scored kept box by more than the threshold, and suppresses the rest', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(box, fc.double({ min: 0, max: 1, noNaN: true })), { minLength: 0, maxLength: 25 }), fc.double({ min: 0.1, max: 0.9, noNaN: true }), (items, threshold) => {
        const boxes = items.flatMap(([b]) => b);
        const scores = items.map(([, s]) => s);
        const kept = nms(boxes, scores, threshold);
        // Best first.
        for (let k = 1; k < kept.length; k++) expect(scores[kept[k - 1]]).toBeGreaterThanOrEqual(scores[kept[k]]);
        // Naive reference: walk by score; a box survives iff no survivor before it overlaps it beyond the threshold.
        const order = scores.map((_, i) => i).sort((i, j) => scores[j] - scores[i] || i - j);
        const reference: number[] = [];
        for (const i of order) if (!reference.some((r) => boxIou(boxes, i, boxes, r) > threshold)) reference.push(i);
        expect(kept).toEqual(reference);
        for (const i of order.filter((i) => !kept.includes(i))) expect(kept.some((k) => boxIou(boxes, i, boxes, k) > threshold)).toBe(true);
      }),
    );
    // Per class: class 0 is background and never reported.
    const out = batchedNms([0, 0, 1, 1, 0, 0, 1, 1], [0.9, 0.8, 0.1, 0.2, 0.7, 0.05], 3);
    expect(out.map((d) => [d.label, d.score])).toEqual([[1, 0.8], [2, 0.1]]);
  });

  it('matching: best ground truth per anchor, each ground truth forced onto its best anchor, the rest background', () => {
    const anchors = centerToCorners([0.25, 0.25, 0.5, 0.5, 0.75, 0.75, 0.5, 0.5, 0.5, 0.5, 0.2, 0.2]);
    // One box on anchor 0; one small box that only anchor 2 overlaps, weakly (IoU < 0.5) but it is its best.
    const gts = [0, 0, 0.5, 0.5, 0.45, 0.45, 0.5, 0.5];
    const { labels, matched } = matchAnchors(anchors, gts, [3, 7]);
    expect(Array.from(labels)).toEqual([3, 0, 7]);
    expect(Array.from(matched)).toEqual([0, 0, 1]); // anchor 1 overlaps nothing: argmax of zeros is the first box
    expect(Array.from(matchAnchors(anchors, [], []).labels)).toEqual([0, 0, 0]);
  });
});
