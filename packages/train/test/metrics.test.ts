import { describe, expect, it } from 'vitest';
import { tensor } from '@parcnet/tensor';
import { countTopK } from '../src/index';

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
