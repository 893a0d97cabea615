import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { randn, concat, slice, conv2d, type Tensor } from '@parcnet/tensor';
import { gradcheck } from '@parcnet/autograd';
import { parcConv, resampleKernel } from '../src/index';

const SEED = 20261128;

const caseArb = fc.record({
  b: fc.integer({ min: 1, max: 2 }),
  c: fc.integer({ min: 1, max: 2 }),
  n: fc.integer({ min: 1, max: 40 }),
  other: fc.integer({ min: 1, max: 3 }),
  k: fc.integer({ min: 1, max: 40 }),
  axis: fc.constantFrom<'H' | 'W'>('H', 'W'),
  pe: fc.boolean(),
  bias: fc.boolean(),
  seed: fc.integer({ min: 0, max: 1_000_000 }),
});

function leaf(shape: number[], seed: number): Tensor {
  return randn(shape, { dtype: 'float64', seed }).requiresGrad_();
}

describe('the ParC operator', () => {
  it('gradient equals central differences over random B, C, n, K (1..40), both axes, PE, bias, non-square', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const [h, w] = c.axis === 'H' ? [c.n, c.other] : [c.other, c.n];
        const x = leaf([c.b, c.c, h, w], c.seed);
        const metaKernel = leaf(c.axis === 'H' ? [c.c, 1, c.k, 1] : [c.c, 1, 1, c.k], c.seed + 1);
        const inputs = [x, metaKernel];
        const metaPE = c.pe ? leaf(c.axis === 'H' ? [1, c.c, c.k, 1] : [1, c.c, 1, c.k], c.seed + 2) : null;
        const bias = c.bias ? leaf([c.c], c.seed + 3) : null;
        if (metaPE) inputs.push(metaPE);
        if (bias) inputs.push(bias);
        gradcheck((x, m, ...rest) => parcConv(x, m, { axis: c.axis, metaPE: metaPE ? rest[0] : null, bias: bias ? rest[metaPE ? 1 : 0] : null }), inputs);
      }),
      { seed: SEED, numRuns: 50 },
    );
  });

  it('equals the official formulation: concatenate the first n − 1 rows, then a valid depthwise conv', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const [h, w] = c.axis === 'H' ? [c.n, c.other + 2] : [c.other + 2, c.n];
        const x = randn([c.b, c.c, h, w], { dtype: 'float64', seed: c.seed });
        const meta = randn(c.axis === 'H' ? [c.c, 1, c.k, 1] : [c.c, 1, 1, c.k], { dtype: 'float64', seed: c.seed + 1 });
        const dim = c.axis === 'H' ? 2 : 3;
        const wrapped = concat([x, slice(x, dim, 0, c.n - 1)], dim);
        const official = conv2d(wrapped, resampleKernel(meta, c.n, c.axis), { groups: c.c });
        const ours = parcConv(x, meta, { axis: c.axis });
        const a = ours.toTypedArray();
        official.toTypedArray().forEach((v, i) => expect(a[i]).toBeCloseTo(v, 12));
      }),
      { seed: SEED, numRuns: 50 },
    );
  });

  it('resamples with PyTorch float32 rounding: K = 32 → n = 8 weights only the 15 taps the spec lists', () => {
    const meta = randn([1, 1, 32, 1], { seed: 1 }).requiresGrad_();
    resampleKernel(meta, 8, 'H').sum().backward();
    const nonzero = Array.from(meta.grad!.toTypedArray()).flatMap((v, i) => (v !== 0 ? [i] : []));
    expect(nonzero).toEqual([0, 4, 5, 8, 9, 13, 14, 17, 18, 22, 23, 26, 27, 30, 31]);
  });

  it('refuses a meta kernel of the wrong shape or dtype, naming both', () => {
    const x = randn([1, 4, 8, 8]);
    expect(() => parcConv(x, randn([3, 1, 5, 1]), { axis: 'H' })).toThrow(/meta kernel for axis H .* must be \[C, 1, K, 1\] with C = 4, got \[3, 1, 5, 1\]/);
    expect(() => parcConv(x, randn([4, 1, 5, 1], { dtype: 'float64' }), { axis: 'H' })).toThrow('parcConv: meta kernel is float64 but the input is float32');
  });
});
