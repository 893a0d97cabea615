import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as P from '../src/index';

/** Reference reduction by explicit iteration over all elements, grouping by kept coordinates. */
function naiveReduce(x: P.Tensor, axes: number[], reduce: (values: number[]) => number): number[] {
  const flat = Array.from(x.toTypedArray());
  const groups = new Map<string, number[]>();
  const idx = new Array<number>(x.ndim).fill(0);
  for (const v of flat) {
    const key = idx.map((i, d) => (axes.includes(d) ? 0 : i)).join(',');
    (groups.get(key) ?? groups.set(key, []).get(key)!).push(v);
    for (let d = x.ndim - 1; d >= 0; d--) {
      if (++idx[d] < x.shape[d]) break;
      idx[d] = 0;
    }
  }
  return [...groups.values()].map(reduce);
}

const caseArb = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }).chain((shape) =>
  fc.tuple(fc.constant(shape), fc.subarray(shape.map((_, i) => i), { minLength: 1 })),
);

describe('reductions over any axes', () => {
  it('sum, mean, max, min, var and logsumexp equal explicit iteration', () => {
    fc.assert(
      fc.property(caseArb, ([shape, axes]) => {
        const x = P.randn(shape, { dtype: 'float64', seed: shape.length * 7 + axes.length }).transpose(0, -1);
        const sorted = axes.map((a) => (a === 0 ? x.ndim - 1 : a === x.ndim - 1 ? 0 : a)).sort();
        const check = (got: P.Tensor, f: (v: number[]) => number): void => {
          const want = naiveReduce(x, sorted, f);
          Array.from(got.toTypedArray()).forEach((v, i) => expect(v).toBeCloseTo(want[i], 10));
        };
        const total = (v: number[]): number => v.reduce((a, b) => a + b, 0);
        check(P.sum(x, sorted), total);
        check(P.mean(x, sorted, true), (v) => total(v) / v.length);
        check(P.max(x, sorted), (v) => Math.max(...v));
        check(P.min(x, sorted), (v) => Math.min(...v));
        check(P.variance(x, sorted, { unbiased: false }), (v) => {
          const m = total(v) / v.length;
          return total(v.map((e) => (e - m) ** 2)) / v.length;
        });
        check(P.logsumexp(x, sorted), (v) => Math.log(total(v.map(Math.exp))));
      }),
      { seed: 5, numRuns: 100 },
    );
  });

  it('keepdim keeps size-1 dims; no axes reduces everything', () => {
    const x = P.ones([2, 3, 4]);
    expect(P.sum(x, [0, 2], true).shape).toEqual([1, 3, 1]);
    expect(P.sum(x, [0, 2]).shape).toEqual([3]);
    expect(P.sum(x).shape).toEqual([]);
    expect(P.sum(x).item()).toBe(24);
    expect(P.sum(P.tensor([1, 2, 3], { dtype: 'int32' })).dtype).toBe('int32');
  });

  it('var is unbiased by default, like torch.var', () => {
    const x = P.tensor([1, 2, 3, 4], { dtype: 'float64' });
    expect(P.variance(x).item()).toBeCloseTo(5 / 3, 14);
    expect(P.variance(x, undefined, { unbiased: false }).item()).toBeCloseTo(1.25, 14);
  });

  it('argmax picks the first maximum, along an axis or over everything', () => {
    const x = P.tensor([[1, 5, 5], [7, 0, 7]]);
    expect(Array.from(P.argmax(x, 1).toTypedArray())).toEqual([1, 0]);
    expect(P.argmax(x).item()).toBe(3);
    expect(P.argmax(x, 0, true).shape).toEqual([1, 3]);
  });

  it('logsumexp does not overflow', () => {
    expect(P.logsumexp(P.tensor([1000, 1000], { dtype: 'float64' })).item()).toBeCloseTo(1000 + Math.log(2), 10);
    expect(P.logsumexp(P.tensor([-Infinity, -Infinity], { dtype: 'float64' })).item()).toBe(-Infinity);
  });
});
