import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as P from '../src/index';
import { at } from './oracle';

describe('repeat and tile', () => {
  it('follow torch.Tensor.repeat and torch.tile', () => {
    const x = P.tensor([1, 2, 3]);
    expect(x.repeat(4, 2).toArray()).toEqual(Array.from({ length: 4 }, () => [1, 2, 3, 1, 2, 3]));
    expect(x.repeat(4, 2, 1).shape).toEqual([4, 2, 3]);
    expect(x.tile(2).toArray()).toEqual([1, 2, 3, 1, 2, 3]);
    const y = P.tensor([[1, 2], [3, 4]]);
    expect(y.tile(2, 2).toArray()).toEqual([[1, 2, 1, 2], [3, 4, 3, 4], [1, 2, 1, 2], [3, 4, 3, 4]]);
    expect(y.tile(2).toArray()).toEqual([[1, 2, 1, 2], [3, 4, 3, 4]]);
    expect(y.repeat(0, 1).shape).toEqual([0, 2]);
  });

  it('always copy, even when every count is 1', () => {
    const x = P.tensor([[1, 2], [3, 4]]);
    const same = x.repeat(1, 1);
    expect(same.toArray()).toEqual(x.toArray());
    expect(same.storage).not.toBe(x.storage);
    expect(x.tile().storage).not.toBe(x.storage);
  });

  it('element i of the result is element i mod shape of the input, on any layout', () => {
    const caseArb = fc.record({
      shape: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }),
      lead: fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }),
      counts: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 3, maxLength: 3 }),
      transposed: fc.boolean(),
    });
    fc.assert(
      fc.property(caseArb, ({ shape, lead, counts, transposed }) => {
        const base = P.randn(shape, { dtype: 'float64', seed: shape.length });
        const x = transposed ? base.transpose(0, -1) : base;
        const repeats = [...lead, ...counts.slice(0, x.ndim)];
        const out = x.repeat(repeats);
        expect(out.shape).toEqual([...lead, ...x.shape.map((d, i) => d * counts[i])]);
        const flat = out.toTypedArray();
        const index = new Array<number>(out.ndim).fill(0);
        for (let n = 0; n < flat.length; n++) {
          expect(flat[n]).toBe(at(x, ...index.slice(lead.length).map((i, d) => i % x.shape[d])));
          for (let d = out.ndim - 1; d >= 0; d--) {
            if (++index[d] < out.shape[d]) break;
            index[d] = 0;
          }
        }
      }),
      { seed: 42, numRuns: 60 },
    );
  });
});
