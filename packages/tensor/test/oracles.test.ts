import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as P from '../src/index';
import { flatDeep, maxAbsDiff, naiveBilinear, naiveConv2d, naiveMatmul2d, naiveNearest, naivePool2d } from './oracle';

// Forward results against independent naive oracles, on float32 and float64 and on strided inputs.
const SEED = 7;
const RUNS = 60;
const dtypeArb = fc.constantFrom<P.FloatDType>('float32', 'float64');
const tolerance = (dtype: P.FloatDType): number => (dtype === 'float32' ? 1e-4 : 1e-12);

/** A random tensor, either contiguous or a transposed view of a contiguous one. */
function randomTensor(shape: number[], dtype: P.FloatDType, seed: number, transposed: boolean): P.Tensor {
  if (!transposed || shape.length < 2) return P.randn(shape, { dtype, seed });
  const swapped = [...shape];
  [swapped[swapped.length - 1], swapped[swapped.length - 2]] = [swapped[swapped.length - 2], swapped[swapped.length - 1]];
  return P.randn(swapped, { dtype, seed }).transpose(-1, -2);
}

describe('forward against naive oracles', () => {
  it('matmul', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), dtypeArb, fc.boolean(), fc.boolean(),
        (m, k, n, dtype, ta, tb) => {
          const a = randomTensor([m, k], dtype, m * 100 + k, ta);
          const b = randomTensor([k, n], dtype, k * 100 + n, tb);
          expect(maxAbsDiff(P.matmul(a, b).toTypedArray(), flatDeep(naiveMatmul2d(a, b)))).toBeLessThan(tolerance(dtype) * k);
        }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('batched matmul equals a loop of 2-D products', () => {
    const a = P.randn([3, 4, 5], { dtype: 'float64', seed: 1 });
    const b = P.randn([5, 2], { dtype: 'float64', seed: 2 });
    const out = P.matmul(a, b);
    for (let i = 0; i < 3; i++) {
      expect(maxAbsDiff(P.select(out, 0, i).toTypedArray(), flatDeep(naiveMatmul2d(P.select(a, 0, i), b)))).toBeLessThan(1e-12);
    }
  });

  it('conv2d (dense, grouped, depthwise, stride, padding, dilation)', () => {
    fc.assert(
      fc.property(
        fc.record({
          n: fc.integer({ min: 1, max: 2 }), groups: fc.integer({ min: 1, max: 3 }), cg: fc.integer({ min: 1, max: 3 }), og: fc.integer({ min: 1, max: 2 }),
          h: fc.integer({ min: 1, max: 8 }), w: fc.integer({ min: 1, max: 8 }), kh: fc.integer({ min: 1, max: 3 }), kw: fc.integer({ min: 1, max: 3 }),
          sh: fc.integer({ min: 1, max: 3 }), sw: fc.integer({ min: 1, max: 3 }), ph: fc.integer({ min: 0, max: 2 }), pw: fc.integer({ min: 0, max: 2 }),
          dh: fc.integer({ min: 1, max: 2 }), dw: fc.integer({ min: 1, max: 2 }), dtype: dtypeArb, transposed: fc.boolean(),
        }).filter((c) => c.h + 2 * c.ph >= c.dh * (c.kh - 1) + 1 && c.w + 2 * c.pw >= c.dw * (c.kw - 1) + 1),
        (c) => {
          const x = randomTensor([c.n, c.groups * c.cg, c.h, c.w], c.dtype, c.h * 10 + c.w, c.transposed);
          const w = P.randn([c.groups * c.og, c.cg, c.kh, c.kw], { dtype: c.dtype, seed: c.kh * 10 + c.kw });
          const params = { stride: [c.sh, c.sw] as [number, number], padding: [c.ph, c.pw] as [number, number], dilation: [c.dh, c.dw] as [number, number], groups: c.groups };
          const got = P.conv2d(x, w, params);
          const want = naiveConv2d(x, w, params);
          expect(got.shape).toEqual([want.length, want[0].length, want[0][0].length, want[0][0][0].length]);
          expect(maxAbsDiff(got.toTypedArray(), flatDeep(want))).toBeLessThan(tolerance(c.dtype) * 10);
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('max and average pooling', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 8 }), fc.integer({ min: 2, max: 8 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 1 }), fc.boolean(), dtypeArb, fc.boolean(),
        (h, w, k, s, pad, include, dtype, transposed) => {
          fc.pre(2 * pad <= k && h + 2 * pad >= k && w + 2 * pad >= k);
          const x = randomTensor([2, 3, h, w], dtype, h * w, transposed);
          const max = P.maxPool2d(x, k, { stride: s, padding: pad });
          expect(maxAbsDiff(max.toTypedArray(), flatDeep(naivePool2d(x, 'max', k, s, pad)))).toBeLessThan(tolerance(dtype));
          const avg = P.avgPool2d(x, k, { stride: s, padding: pad, countIncludePad: include });
          expect(maxAbsDiff(avg.toTypedArray(), flatDeep(naivePool2d(x, 'avg', k, s, pad, include)))).toBeLessThan(tolerance(dtype));
        }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('adaptive average pooling to 1×1 is the spatial mean; to the input size it is the identity', () => {
    const x = P.randn([2, 3, 5, 7], { dtype: 'float64', seed: 3 });
    expect(maxAbsDiff(P.adaptiveAvgPool2d(x, 1).toTypedArray(), P.mean(x, [2, 3], true).toTypedArray())).toBeLessThan(1e-12);
    expect(maxAbsDiff(P.adaptiveAvgPool2d(x, [5, 7]).toTypedArray(), x.toTypedArray())).toBe(0);
  });

  it('bilinear and nearest interpolation', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }),
        fc.boolean(), dtypeArb, fc.boolean(),
        (h, w, ho, wo, alignCorners, dtype, transposed) => {
          const x = randomTensor([1, 2, h, w], dtype, h * 10 + w, transposed);
          const bilinear = P.interpolate(x, { size: [ho, wo], mode: 'bilinear', alignCorners });
          expect(maxAbsDiff(bilinear.toTypedArray(), flatDeep(naiveBilinear(x, ho, wo, alignCorners)))).toBeLessThan(tolerance(dtype));
          const nearest = P.interpolate(x, { size: [ho, wo], mode: 'nearest' });
          expect(maxAbsDiff(nearest.toTypedArray(), flatDeep(naiveNearest(x, ho, wo)))).toBeLessThan(tolerance(dtype));
        }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});
