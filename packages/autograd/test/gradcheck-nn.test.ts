import fc from 'fast-check';
import { describe } from 'vitest';
import * as P from '@parcnet/tensor';
import { dimArb, leafArb, makeLeaf, shapeArb } from './arbitraries';
import { gradProperty } from './suite';

const convArb = fc
  .record({
    n: fc.integer({ min: 1, max: 2 }),
    groups: fc.integer({ min: 1, max: 3 }),
    cPerGroup: fc.integer({ min: 1, max: 2 }),
    oPerGroup: fc.integer({ min: 1, max: 2 }),
    h: fc.integer({ min: 1, max: 6 }),
    w: fc.integer({ min: 1, max: 6 }),
    kh: fc.integer({ min: 1, max: 3 }),
    kw: fc.integer({ min: 1, max: 3 }),
    stride: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    padding: fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })),
    dilation: fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 })),
    bias: fc.boolean(),
    seed: fc.integer({ min: 0, max: 1_000_000 }),
    layout: fc.constantFrom<'contiguous' | 'permuted' | 'stepped'>('contiguous', 'stepped'),
  })
  .filter((c) => c.h + 2 * c.padding[0] >= c.dilation[0] * (c.kh - 1) + 1 && c.w + 2 * c.padding[1] >= c.dilation[1] * (c.kw - 1) + 1);

const imageArb = (min: number) =>
  leafArb(fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min, max: 7 }), fc.integer({ min, max: 7 })).map((s) => [...s]));

describe('matmul', () => {
  const matmulArb = fc
    .record({ m: dimArb, k: dimArb, n: dimArb, batchA: shapeArb(0, 2), batchB: shapeArb(0, 2), vecA: fc.boolean(), vecB: fc.boolean() })
    .chain((c) => {
      const batchB = c.batchB.map((d, i) => (i < c.batchA.length && c.batchA[c.batchA.length - c.batchB.length + i] !== d ? 1 : d));
      const a = c.vecA ? [c.k] : [...c.batchA, c.m, c.k];
      const b = c.vecB ? [c.k] : [...batchB, c.k, c.n];
      return fc.tuple(leafArb(fc.constant(a)), leafArb(fc.constant(b)));
    });
  gradProperty('matmul (batched, broadcast, vectors)', matmulArb, ([a, b]) => ({ fn: P.matmul, inputs: [makeLeaf(a), makeLeaf(b)] }));
});

describe('conv2d', () => {
  gradProperty('conv2d (dense, grouped, depthwise; stride, padding, dilation)', convArb, (c) => {
    const x = makeLeaf({ shape: [c.n, c.groups * c.cPerGroup, c.h, c.w], layout: c.layout, seed: c.seed });
    const w = makeLeaf({ shape: [c.groups * c.oPerGroup, c.cPerGroup, c.kh, c.kw], layout: 'contiguous', seed: c.seed + 1 });
    const b = makeLeaf({ shape: [c.groups * c.oPerGroup], layout: 'contiguous', seed: c.seed + 2 });
    const options = { stride: c.stride, padding: c.padding, dilation: c.dilation, groups: c.groups };
    return c.bias
      ? { fn: (x, w, b) => P.conv2d(x, w, { ...options, bias: b }), inputs: [x, w, b] }
      : { fn: (x, w) => P.conv2d(x, w, options), inputs: [x, w] };
  });
});

describe('pooling', () => {
  const poolArb = fc.tuple(imageArb(3), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 0, max: 1 }), fc.boolean())
    .filter(([, k, , p]) => 2 * p <= k);
  gradProperty('avgPool2d', poolArb, ([a, k, s, p, include]) => ({
    fn: (x) => P.avgPool2d(x, k, { stride: s, padding: p, countIncludePad: include }), inputs: [makeLeaf(a)],
  }));
  gradProperty('maxPool2d', poolArb, ([a, k, s, p]) => ({ fn: (x) => P.maxPool2d(x, k, { stride: s, padding: p }), inputs: [makeLeaf(a)] }));
  gradProperty('adaptiveAvgPool2d', fc.tuple(imageArb(1), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 })), ([a, ho, wo]) => ({
    fn: (x) => P.adaptiveAvgPool2d(x, [ho, wo]), inputs: [makeLeaf(a)],
  }));
});

describe('interpolate', () => {
  const sizeArb = fc.tuple(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 7 }));
  gradProperty('interpolate bilinear', fc.tuple(imageArb(1), sizeArb, fc.boolean()), ([a, size, alignCorners]) => ({
    fn: (x) => P.interpolate(x, { size, mode: 'bilinear', alignCorners }), inputs: [makeLeaf(a)],
  }));
  gradProperty('interpolate bilinear by scale factor', fc.tuple(imageArb(2), fc.constantFrom(0.5, 1.5, 2, 3)), ([a, scaleFactor]) => ({
    fn: (x) => P.interpolate(x, { scaleFactor, mode: 'bilinear' }), inputs: [makeLeaf(a)],
  }));
  gradProperty('interpolate nearest', fc.tuple(imageArb(1), sizeArb), ([a, size]) => ({
    fn: (x) => P.interpolate(x, { size, mode: 'nearest' }), inputs: [makeLeaf(a)],
  }));
});

describe('batchNorm', () => {
  const bnArb = fc.tuple(
    leafArb(fc.tuple(fc.integer({ min: 2, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })).map((s) => [...s])),
    fc.boolean(), fc.boolean(), fc.constantFrom<P.NormActivation>(null, 'silu', 'hardswish'),
  );
  gradProperty('batchNorm (batch or running statistics, with and without affine, fused activation)', bnArb, ([a, training, affine, activation]) => {
    const x = makeLeaf(a);
    const c = x.shape[1];
    const weight = makeLeaf({ shape: [c], layout: 'contiguous', seed: a.seed + 1 });
    const bias = makeLeaf({ shape: [c], layout: 'contiguous', seed: a.seed + 2 });
    const runningMean = P.randn([c], { dtype: 'float64', seed: a.seed + 3 });
    const runningVar = P.rand([c], { dtype: 'float64', seed: a.seed + 4 }).add(0.5);
    const options = { training, momentum: 0.1, runningMean: training ? null : runningMean, runningVar: training ? null : runningVar, activation };
    return affine
      ? { fn: (x, w, b) => P.batchNorm(x, { ...options, weight: w, bias: b }), inputs: [x, weight, bias] }
      : { fn: (x) => P.batchNorm(x, options), inputs: [x] };
  });
});
