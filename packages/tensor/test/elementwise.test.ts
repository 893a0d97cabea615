import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as P from '../src/index';
import { at } from './oracle';

describe('broadcasting and type promotion', () => {
  it('broadcasts like NumPy and matches index arithmetic', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 0, maxLength: 4 }), fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), fc.nat({ max: 4 }),
        (shape, ones, drop) => {
          const other = shape.slice(Math.min(drop, shape.length)).map((d, i) => (ones[i] ? 1 : d));
          const a = P.randn(shape, { seed: 1 });
          const b = P.randn(other, { seed: 2 });
          const c = P.add(a, P.mul(b, 2));
          expect(c.shape).toEqual(shape);
          const flat = c.toTypedArray();
          const idx = new Array<number>(shape.length).fill(0);
          for (let n = 0; n < flat.length; n++) {
            const bIdx = idx.slice(shape.length - other.length).map((i, d) => (other[d] === 1 ? 0 : i));
            expect(flat[n]).toBeCloseTo(at(a, ...idx) + 2 * at(b, ...bIdx), 5);
            for (let d = shape.length - 1; d >= 0; d--) {
              if (++idx[d] < shape[d]) break;
              idx[d] = 0;
            }
          }
        }),
      { seed: 11, numRuns: 100 },
    );
  });

  it('promotes float32 with float64 to float64, int32 with float32 to float32', () => {
    const i = P.tensor([1, 2], { dtype: 'int32' });
    expect(P.add(i, i).dtype).toBe('int32');
    expect(P.add(i, P.tensor([1, 2])).dtype).toBe('float32');
    expect(P.add(P.tensor([1]), P.tensor([1], { dtype: 'float64' })).dtype).toBe('float64');
    expect(P.add(i, 0.5).dtype).toBe('float32');
    expect(P.add(i, 2).dtype).toBe('int32');
    expect(P.div(i, i).dtype).toBe('float32');
    expect(P.div(P.tensor([1], { dtype: 'int32' }), 2).item()).toBe(0.5);
  });

  it('comparisons return int32 masks; where picks by them', () => {
    const a = P.tensor([1, 2, 3]);
    const m = P.gt(a, 1.5);
    expect(m.dtype).toBe('int32');
    expect(Array.from(m.toTypedArray())).toEqual([0, 1, 1]);
    expect(Array.from(P.where(m, a, P.neg(a)).toTypedArray())).toEqual([-1, 2, 3]);
    expect(Array.from(P.eq(a, 2).toTypedArray())).toEqual([0, 1, 0]);
    expect(Array.from(P.le(a, 2).toTypedArray())).toEqual([1, 1, 0]);
  });

  it('clamp, maximum, minimum and pow', () => {
    const a = P.tensor([-2, 0.5, 4]);
    expect(Array.from(P.clamp(a, -1, 1).toTypedArray())).toEqual([-1, 0.5, 1]);
    expect(Array.from(P.clamp(a, 0).toTypedArray())).toEqual([0, 0.5, 4]);
    expect(Array.from(P.maximum(a, 0).toTypedArray())).toEqual([0, 0.5, 4]);
    expect(Array.from(P.minimum(a, 0).toTypedArray())).toEqual([-2, 0, 0]);
    expect(Array.from(P.pow(a, 2).toTypedArray())).toEqual([4, 0.25, 16]);
  });
});

describe('activations', () => {
  const x = P.tensor([-4, -3, -1, 0, 1, 3, 4, 7], { dtype: 'float64' });
  const values = (t: P.Tensor): number[] => Array.from(t.toTypedArray());
  it('relu, relu6, hardsigmoid and hardswish have their kinks where PyTorch has them', () => {
    expect(values(P.relu(x))).toEqual([0, 0, 0, 0, 1, 3, 4, 7]);
    expect(values(P.relu6(x))).toEqual([0, 0, 0, 0, 1, 3, 4, 6]);
    expect(values(P.hardsigmoid(x))).toEqual([0, 0, 1 / 3, 0.5, 2 / 3, 1, 1, 1]);
    expect(values(P.hardswish(x))).toEqual([0, 0, -1 / 3, 0, 2 / 3, 3, 4, 7]);
  });
  it('erf is accurate to double precision', () => {
    expect(P.erf(0.5)).toBeCloseTo(0.5204998778130465, 15);
    expect(P.erf(-1.5)).toBeCloseTo(-0.9661051464753108, 15);
    expect(P.erf(3)).toBeCloseTo(0.9999779095030014, 15);
    expect(P.erf(7)).toBe(1);
  });
  it('sigmoid, silu and gelu are stable for large magnitudes', () => {
    const big = P.tensor([-800, 800], { dtype: 'float64' });
    expect(values(P.sigmoid(big))).toEqual([0, 1]);
    expect(values(P.silu(big))).toEqual([-0, 800]);
    expect(values(P.gelu(big))).toEqual([-0, 800]);
  });
  it('softmax rows sum to 1 and logSoftmax is its log, even for large inputs', () => {
    const z = P.tensor([[1000, 1001, 1002], [-5, 0, 5]], { dtype: 'float64' });
    const s = P.softmax(z, 1);
    expect(values(P.sum(s, 1))).toEqual([expect.closeTo(1, 14), expect.closeTo(1, 14)]);
    const ls = P.logSoftmax(z, -1);
    values(ls).forEach((v, i) => expect(Math.exp(v)).toBeCloseTo(s.toTypedArray()[i], 12));
  });
});
