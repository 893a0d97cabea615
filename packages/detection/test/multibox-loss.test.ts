import { describe, expect, it } from 'vitest';
import { gradcheck } from '@parcnet/autograd';
import { randn, tensor } from '@parcnet/tensor';
import { multiboxLoss } from '../src/index';

describe('multibox loss (spec §8)', () => {
  it('keeps 3 negatives per positive, the hardest by background loss, and divides by the positives', () => {
    // One image, 6 anchors, 2 classes; anchor 0 positive; background logits make anchors 1–3 the hardest negatives.
    const confidences = tensor([[[0, 0], [0, 3], [0, 2], [0, 1], [5, 0], [4, 0]]], { dtype: 'float64' });
    const locations = tensor([[[1, 0, 0, 0], [9, 9, 9, 9], [9, 9, 9, 9], [9, 9, 9, 9], [9, 9, 9, 9], [9, 9, 9, 9]]], { dtype: 'float64' });
    const targets = tensor([[[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]], { dtype: 'float64' });
    const labels = tensor([[1, 0, 0, 0, 0, 0]], { dtype: 'int32' });
    const out = multiboxLoss(confidences, locations, labels, targets);
    expect(out.positives).toBe(1);
    const ce = (bg: number, fg: number, target: number): number => Math.log(Math.exp(bg) + Math.exp(fg)) - (target === 0 ? bg : fg);
    const expectedCls = ce(0, 0, 1) + ce(0, 3, 0) + ce(0, 2, 0) + ce(0, 1, 0);
    expect(out.classification.item()).toBeCloseTo(expectedCls, 12);
    expect(out.localization.item()).toBeCloseTo(0.5, 12); // smooth L1 of 1 with β = 1, positives only
    expect(out.loss.item()).toBeCloseTo(expectedCls + 0.5, 12);
  });

  it('its gradient w.r.t. confidences and locations equals central differences (tiny head, float64)', () => {
    const confidences = randn([2, 6, 3], { dtype: 'float64', seed: 1 }).requiresGrad_();
    const locations = randn([2, 6, 4], { dtype: 'float64', seed: 2 }).requiresGrad_();
    const targets = randn([2, 6, 4], { dtype: 'float64', seed: 3 });
    const labels = tensor([[2, 0, 0, 1, 0, 0], [0, 0, 1, 0, 0, 0]], { dtype: 'int32' });
    expect(gradcheck((c, l) => multiboxLoss(c, l, labels, targets).loss, [confidences, locations])).toBe(true);
  });
});
