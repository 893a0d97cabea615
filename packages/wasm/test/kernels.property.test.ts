import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { add, getKernel, randn, slice, Tensor, type Conv2DAttrs, type KernelName } from '@parcnet/tensor';
import { getNumThreads, setNumThreads, setParallelThreshold } from '../src/index';

// Every WASM kernel against its reference twin on random shapes: odd sizes, size 1, strided
// inputs, groups, both ParC axes, non-square maps; on 1 and 2 threads.
const SEED = 20261128;
const RUNS = 60;
const initialThreads = getNumThreads();
afterAll(() => {
  setNumThreads(initialThreads);
  setParallelThreshold(8, 50_000);
});
// Split every job, however small, so that the 2-thread runs really go through the workers.
setParallelThreshold(2, 0);

function both<K extends KernelName>(name: K): [(...a: unknown[]) => unknown, (...a: unknown[]) => unknown] {
  const wasm = getKernel(name, 'wasm') as unknown as (...a: unknown[]) => unknown;
  const reference = getKernel(name, 'reference') as unknown as (...a: unknown[]) => unknown;
  expect(wasm, `${name} has a wasm kernel`).toBeDefined();
  return [wasm, reference];
}

/** Relative to the reference's largest magnitude: float32 SIMD sums in another order than the double-precision reference. */
function expectClose(actual: Tensor, expected: Tensor, tolerance = 2e-5): void {
  expect(actual.shape).toEqual(expected.shape);
  const a = actual.toTypedArray();
  const b = expected.toTypedArray();
  let scale = 1e-6;
  for (const v of b) scale = Math.max(scale, Math.abs(v));
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  expect(worst / scale).toBeLessThan(tolerance);
}

/** A float32 tensor, contiguous or a transposed (non-contiguous) view. */
/**
 * Channels 1 … C of a [N, C + 2, H, W] tensor in wasm memory (an Add output): whole planes, images
 * (C + 2)·H·W floats apart, as a ParC block's halves and their gradients reach the ParC kernels.
 */
function channelBlock(shape: number[], seed: number): Tensor {
  const [n, c, h, w] = shape;
  return slice(add(randn([n, c + 2, h, w], { seed }), 0), 1, 1, 1 + c);
}

function input(shape: number[], seed: number, strided: boolean): Tensor {
  if (!strided || shape.length < 2) return randn(shape, { seed });
  const s = [...shape];
  [s[s.length - 1], s[s.length - 2]] = [s[s.length - 2], s[s.length - 1]];
  return randn(s, { seed }).transpose(-1, -2);
}

/** A random per-channel affine of `k` channels: scales in [0.5, ∞), shifts N(0, 1). */
function randomAffine(k: number, seed: number): { scale: Float64Array; shift: Float64Array } {
  return {
    scale: Float64Array.from(randn([k], { seed }).toTypedArray(), (v) => 0.5 + Math.abs(v)),
    shift: Float64Array.from(randn([k], { seed: seed + 1 }).toTypedArray()),
  };
}

/** A conv → norm → activation stage of an inference kernel, with a random affine per output channel. */
function randomStage(weight: Tensor, activation: 'silu' | 'hardswish' | null, attrs: Conv2DAttrs, seed: number) {
  return { weight, activation, attrs, ...randomAffine(weight.shape[0], seed) };
}

/** A 1×1 conv's attributes. */
const POINTWISE: Conv2DAttrs = { stride: [1, 1], padding: [0, 0], dilation: [1, 1], groups: 1 };

interface DenseConvCase { n: number; c: number; o: number; h: number; w: number; k: number; activation: 'silu' | 'hardswish' | null; strided: boolean; seed: number }

/**
 * A dense k×k conv with stride 1 (groups 1) through the WASM and the reference kernels: forward,
 * both backprops, and the forward with the norm and activation as its epilogue.
 */
function expectDenseConvKernelsClose(c: DenseConvCase, padding: [number, number]): void {
  const [forward, backInput, backFilter, fused] = (['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'Conv2DNormAct'] as const).map(both);
  const x = input([c.n, c.c, c.h, c.w], c.seed, c.strided);
  const w = randn([c.o, c.c, c.k, c.k], { seed: c.seed + 1 });
  const attrs: Conv2DAttrs = { stride: [1, 1], padding, dilation: [1, 1], groups: 1 };
  const y = forward[1](x, w, attrs) as Tensor;
  expectClose(forward[0](x, w, attrs) as Tensor, y);
  const g = input([...y.shape], c.seed + 2, c.strided);
  expectClose(backInput[0](g, w, x.shape, attrs) as Tensor, backInput[1](g, w, x.shape, attrs) as Tensor);
  expectClose(backFilter[0](x, g, w.shape, attrs) as Tensor, backFilter[1](x, g, w.shape, attrs) as Tensor);
  const scale = Float64Array.from({ length: c.o }, (_, i) => 0.5 + i / c.o);
  const shift = Float64Array.from({ length: c.o }, (_, i) => i / c.o - 0.4);
  expectClose(fused[0](x, w, scale, shift, c.activation, attrs) as Tensor, fused[1](x, w, scale, shift, c.activation, attrs) as Tensor);
}

const convCase = fc.record({
  // Up to 11 images: the filter gradient cuts the batch into slices of 2 there, with an odd tail.
  n: fc.integer({ min: 1, max: 11 }), groups: fc.integer({ min: 1, max: 3 }), cg: fc.integer({ min: 1, max: 5 }), og: fc.integer({ min: 1, max: 9 }),
  h: fc.integer({ min: 1, max: 11 }), w: fc.integer({ min: 1, max: 11 }), kh: fc.integer({ min: 1, max: 3 }), kw: fc.integer({ min: 1, max: 3 }),
  sh: fc.integer({ min: 1, max: 2 }), sw: fc.integer({ min: 1, max: 2 }), ph: fc.integer({ min: 0, max: 2 }), pw: fc.integer({ min: 0, max: 2 }),
  dh: fc.integer({ min: 1, max: 2 }), dw: fc.integer({ min: 1, max: 2 }), depthwise: fc.boolean(), pointwise: fc.boolean(), strided: fc.boolean(), seed: fc.nat({ max: 1e6 }),
}).map((c) => (c.depthwise ? { ...c, cg: 1, og: 1, groups: c.groups * c.cg + 1 } : c))
  // 1×1 convs (stride 1, no padding) skip the columns entirely, and a depthwise one is a per-channel scale: draw them often.
  .map((c) => (c.pointwise ? { ...c, kh: 1, kw: 1, sh: 1, sw: 1, ph: 0, pw: 0 } : c))
  .filter((c) => c.h + 2 * c.ph >= c.dh * (c.kh - 1) + 1 && c.w + 2 * c.pw >= c.dw * (c.kw - 1) + 1);

for (const threads of [1, 2]) {
  describe(`WASM kernels equal the reference on ${threads} thread${threads > 1 ? 's' : ''}`, () => {
    it('BatchMatMul, with transposes and a shared operand', () => {
      setNumThreads(threads);
      const [wasm, reference] = both('BatchMatMul');
      fc.assert(fc.property(
        fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 13 }), fc.integer({ min: 1, max: 13 }), fc.integer({ min: 1, max: 13 }),
        fc.boolean(), fc.boolean(), fc.boolean(), fc.nat({ max: 1e6 }),
        (batch, m, k, n, ta, tb, shareB, seed) => {
          const a = input(ta ? [batch, k, m] : [batch, m, k], seed, seed % 2 === 0);
          const b = input(tb ? [shareB ? 1 : batch, n, k] : [shareB ? 1 : batch, k, n], seed + 1, seed % 3 === 0);
          expectClose(wasm(a, b, ta, tb) as Tensor, reference(a, b, ta, tb) as Tensor);
        }), { seed: SEED, numRuns: RUNS });
    });

    it('Conv2D and both backprops: dense, grouped, depthwise, pointwise; stride, padding, dilation', () => {
      setNumThreads(threads);
      const kernels = (['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'] as const).map(both);
      fc.assert(fc.property(convCase, (c) => {
        const groups = c.groups;
        const x = input([c.n, groups * c.cg, c.h, c.w], c.seed, c.strided);
        const w = randn([groups * c.og, c.cg, c.kh, c.kw], { seed: c.seed + 1 });
        const attrs: Conv2DAttrs = { stride: [c.sh, c.sw], padding: [c.ph, c.pw], dilation: [c.dh, c.dw], groups };
        const y = kernels[0][1](x, w, attrs) as Tensor;
        expectClose(kernels[0][0](x, w, attrs) as Tensor, y);
        const g = input([...y.shape], c.seed + 2, c.strided);
        expectClose(kernels[1][0](g, w, x.shape, attrs) as Tensor, kernels[1][1](g, w, x.shape, attrs) as Tensor);
        expectClose(kernels[2][0](x, g, w.shape, attrs) as Tensor, kernels[2][1](x, g, w.shape, attrs) as Tensor);
      }), { seed: SEED, numRuns: RUNS });
    });

    it('Conv2DNormAct (inference conv with the norm and activation as its epilogue): dense, grouped, depthwise, pointwise', () => {
      setNumThreads(threads);
      const [fused, fusedR] = both('Conv2DNormAct');
      fc.assert(fc.property(convCase, fc.constantFrom<'silu' | 'hardswish' | null>(null, 'silu', 'hardswish'), (c, activation) => {
        const x = input([c.n, c.groups * c.cg, c.h, c.w], c.seed, c.strided);
        const w = randn([c.groups * c.og, c.cg, c.kh, c.kw], { seed: c.seed + 1 });
        const attrs: Conv2DAttrs = { stride: [c.sh, c.sw], padding: [c.ph, c.pw], dilation: [c.dh, c.dw], groups: c.groups };
        const o = c.groups * c.og;
        const scale = Float64Array.from({ length: o }, (_, i) => 0.5 + i / o);
        const shift = Float64Array.from({ length: o }, (_, i) => i / o - 0.4);
        expectClose(fused(x, w, scale, shift, activation, attrs) as Tensor, fusedR(x, w, scale, shift, activation, attrs) as Tensor);
      }), { seed: SEED, numRuns: RUNS });
    });

    it('depthwise 3×3, stride 1 or 2 per axis (the padded-plane kernels): forward and both backprops, padding 0–2, odd and tiny maps, batches cut into slices of 1–3 images', () => {
      setNumThreads(threads);
      const [forward, backInput, backFilter] = (['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'] as const).map(both);
      const dwCase = fc.record({
        n: fc.integer({ min: 1, max: 19 }), c: fc.integer({ min: 1, max: 6 }), h: fc.integer({ min: 1, max: 13 }), w: fc.integer({ min: 1, max: 13 }),
        sh: fc.integer({ min: 1, max: 2 }), sw: fc.integer({ min: 1, max: 2 }),
        ph: fc.integer({ min: 0, max: 2 }), pw: fc.integer({ min: 0, max: 2 }), strided: fc.boolean(), seed: fc.nat({ max: 1e6 }),
      }).filter((c) => c.h + 2 * c.ph >= 3 && c.w + 2 * c.pw >= 3);
      fc.assert(fc.property(dwCase, (c) => {
        const x = input([c.n, c.c, c.h, c.w], c.seed, c.strided);
        const w = randn([c.c, 1, 3, 3], { seed: c.seed + 1 });
        const attrs: Conv2DAttrs = { stride: [c.sh, c.sw], padding: [c.ph, c.pw], dilation: [1, 1], groups: c.c };
        const y = forward[1](x, w, attrs) as Tensor;
        expectClose(forward[0](x, w, attrs) as Tensor, y);
        const g = input([...y.shape], c.seed + 2, c.strided);
        expectClose(backInput[0](g, w, x.shape, attrs) as Tensor, backInput[1](g, w, x.shape, attrs) as Tensor);
        expectClose(backFilter[0](x, g, w.shape, attrs) as Tensor, backFilter[1](x, g, w.shape, attrs) as Tensor);
      }), { seed: SEED, numRuns: RUNS });
    });

    it('dense 3×3 stride 1 by Winograd F(2×2, 3×3): forward (plain and with the epilogue) and both backprops, padding 0–2, odd and tiny maps', () => {
      setNumThreads(threads);
      const winogradCase = fc.record({
        // At least 8 input channels: fewer go to im2col (the 3-channel stem).
        n: fc.integer({ min: 1, max: 4 }), c: fc.integer({ min: 8, max: 19 }), o: fc.integer({ min: 1, max: 13 }),
        h: fc.integer({ min: 1, max: 11 }), w: fc.integer({ min: 1, max: 11 }), ph: fc.integer({ min: 0, max: 2 }), pw: fc.integer({ min: 0, max: 2 }),
        activation: fc.constantFrom<'silu' | 'hardswish' | null>(null, 'silu', 'hardswish'), strided: fc.boolean(), seed: fc.nat({ max: 1e6 }),
      }).filter((c) => c.h + 2 * c.ph >= 3 && c.w + 2 * c.pw >= 3);
      fc.assert(fc.property(winogradCase, (c) => {
        expectDenseConvKernelsClose({ ...c, k: 3 }, [c.ph, c.pw]);
      }), { seed: SEED, numRuns: RUNS });
    });

    it('1×1 convs on maps of fewer than 8 pixels (one GEMM over the batch): forward (plain and with the epilogue) and both backprops', () => {
      setNumThreads(threads);
      const smallMapCase = fc.record({
        n: fc.integer({ min: 1, max: 13 }), c: fc.integer({ min: 1, max: 21 }), o: fc.integer({ min: 1, max: 21 }),
        h: fc.integer({ min: 1, max: 3 }), w: fc.integer({ min: 1, max: 3 }),
        activation: fc.constantFrom<'silu' | 'hardswish' | null>(null, 'silu', 'hardswish'), strided: fc.boolean(), seed: fc.nat({ max: 1e6 }),
      });
      fc.assert(fc.property(smallMapCase, (c) => {
        expectDenseConvKernelsClose({ ...c, k: 1 }, [0, 0]);
      }), { seed: SEED, numRuns: RUNS });
    });

    it('InvertedResidualNormAct: bit for bit Conv2DNormAct per stage and Add, fused or not (with and without the expansion, odd sizes, strides 1 and 2, small batches), and close to the reference', () => {
      setNumThreads(threads);
      const [fused, reference] = both('InvertedResidualNormAct');
      const [convNormAct] = both('Conv2DNormAct');
      const [addW] = both('Add');
      fc.assert(fc.property(
        fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 7 }), fc.integer({ min: 1, max: 11 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 2, max: 12 }), fc.integer({ min: 2, max: 17 }),
        fc.constantFrom(1, 2), fc.constantFrom<'silu' | 'hardswish' | null>(null, 'silu', 'hardswish'), fc.constantFrom<'silu' | null>(null, 'silu'), fc.boolean(), fc.nat({ max: 1e6 }),
        (n, c, k, o, h, w, stride, act, pwAct, withResidual, seed) => {
          // c = 0: no expansion, the input has k channels.
          const x = randn([n, c || k, h, w], { seed });
          const expand = c ? randomStage(randn([k, c, 1, 1], { seed: seed + 1 }), act, POINTWISE, seed + 2) : null;
          const depthwise = randomStage(randn([k, 1, 3, 3], { seed: seed + 4 }), act, { stride: [stride, stride], padding: [1, 1], dilation: [1, 1], groups: k }, seed + 5);
          const pointwise = randomStage(randn([o, k, 1, 1], { seed: seed + 7 }), pwAct, POINTWISE, seed + 8);
          const run = (input: Tensor, s: ReturnType<typeof randomStage>): Tensor => convNormAct(input, s.weight, s.scale, s.shift, s.activation, s.attrs) as Tensor;
          let want = run(run(expand ? run(x, expand) : x, depthwise), pointwise);
          const residual = withResidual ? randn([...want.shape], { seed: seed + 10 }) : null;
          if (residual) want = addW(want, residual) as Tensor;
          const got = fused(x, expand, depthwise, pointwise, residual) as Tensor;
          expect(got.shape).toEqual(want.shape);
          expect(Array.from(got.toTypedArray())).toEqual(Array.from(want.toTypedArray()));
          expectClose(got, reference(x, expand, depthwise, pointwise, residual) as Tensor);
        }), { seed: SEED, numRuns: RUNS });
    });

    it('FeedForwardNormAct: bit for bit BatchNormApply and Conv2DNormAct twice, fused or not (maps of 1 to 30 pixels, small batches), and close to the reference', () => {
      setNumThreads(threads);
      const [fused, reference] = both('FeedForwardNormAct');
      const [convNormAct] = both('Conv2DNormAct');
      const [apply] = both('BatchNormApply');
      fc.assert(fc.property(
        fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 11 }), fc.integer({ min: 1, max: 13 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 6 }),
        fc.constantFrom<'silu' | 'hardswish' | null>(null, 'silu', 'hardswish'), fc.boolean(), fc.nat({ max: 1e6 }),
        (n, c, f, o, h, w, act, withNorm, seed) => {
          const x = randn([n, c, h, w], { seed });
          const norm = withNorm ? randomAffine(c, seed + 1) : null;
          const hidden = randomStage(randn([f, c, 1, 1], { seed: seed + 3 }), act, POINTWISE, seed + 4);
          const output = randomStage(randn([o, f, 1, 1], { seed: seed + 6 }), null, POINTWISE, seed + 7);
          const normalised = norm ? apply(x, norm.scale, norm.shift, null) as Tensor : x;
          const h1 = convNormAct(normalised, hidden.weight, hidden.scale, hidden.shift, act, POINTWISE) as Tensor;
          const want = convNormAct(h1, output.weight, output.scale, output.shift, null, POINTWISE) as Tensor;
          const got = fused(x, norm, hidden, output) as Tensor;
          expect(got.shape).toEqual(want.shape);
          expect(Array.from(got.toTypedArray())).toEqual(Array.from(want.toTypedArray()));
          expectClose(got, reference(x, norm, hidden, output) as Tensor);
        }), { seed: SEED, numRuns: RUNS });
    });

    it('ParcConv (with and without its offset table) and both backprops, both axes, non-square, batches cut into slices', () => {
      setNumThreads(threads);
      const kernels = (['ParcConv', 'ParcConvBackpropInput', 'ParcConvBackpropKernel'] as const).map(both);
      // Sides up to 37, and often under 9 (this network's planes: 8, 4, 2): planes whose size (along H)
      // or width (along W) is a multiple of 4 go by vectors, widths of 2 along W by swapped pairs,
      // the rest output by output. Batches up to 19: the kernel gradient's slices hold 1 to 3 images.
      const side = fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 37 }));
      fc.assert(fc.property(
        fc.integer({ min: 1, max: 19 }), fc.integer({ min: 1, max: 5 }), side, side,
        fc.constantFrom<'H' | 'W'>('H', 'W'), fc.boolean(), fc.boolean(), fc.boolean(), fc.nat({ max: 1e6 }),
        (b, c, h, w, axis, strided, withOffset, blocks, seed) => {
          // A block of a wider tensor's channels is read where it lies (kernels.ts, planesIn).
          const x = blocks && strided ? channelBlock([b, c, h, w], seed) : input([b, c, h, w], seed, strided);
          const kernel = randn([c, axis === 'H' ? h : w], { seed: seed + 1 });
          const offset = withOffset ? randn([c, axis === 'H' ? h : w], { seed: seed + 3 }) : null;
          const g = blocks && !strided ? channelBlock([b, c, h, w], seed + 2) : input([b, c, h, w], seed + 2, !strided);
          expectClose(kernels[0][0](x, kernel, axis, offset) as Tensor, kernels[0][1](x, kernel, axis, offset) as Tensor);
          expectClose(kernels[1][0](g, kernel, axis) as Tensor, kernels[1][1](g, kernel, axis) as Tensor);
          expectClose(kernels[2][0](x, g, axis) as Tensor, kernels[2][1](x, g, axis) as Tensor);
        }), { seed: SEED, numRuns: RUNS });
      // Every path on every run: this network's 8×8, 4×4 and 2×2, rows of 2 under 6, a width of 4 under 3, 5×5.
      for (const [h, w] of [[8, 8], [4, 4], [2, 2], [6, 2], [3, 4], [5, 5]]) {
        for (const axis of ['H', 'W'] as const) {
          const kernel = randn([3, axis === 'H' ? h : w], { seed: h + w });
          const offset = randn([3, axis === 'H' ? h : w], { seed: h * w + 7 });
          for (const [x, g] of [
            [input([17, 3, h, w], h * w, false), input([17, 3, h, w], h * w + 1, true)],
            [channelBlock([17, 3, h, w], h * w), channelBlock([17, 3, h, w], h * w + 1)],
          ]) {
            expectClose(kernels[0][0](x, kernel, axis, offset) as Tensor, kernels[0][1](x, kernel, axis, offset) as Tensor);
            expectClose(kernels[1][0](g, kernel, axis) as Tensor, kernels[1][1](g, kernel, axis) as Tensor);
            expectClose(kernels[2][0](x, g, axis) as Tensor, kernels[2][1](x, g, axis) as Tensor);
          }
        }
      }
    });

    it('ParcMixer (both halves\' two ParCs and residuals): close to the reference, any plane, this network\'s planes on every run', () => {
      setNumThreads(threads);
      const [wasm, reference] = both('ParcMixer');
      const tables = (c: number, n: number, seed: number) => ({ kernel: randn([c, n], { seed }), offset: randn([c, n], { seed: seed + 1 }) });
      const check = (b: number, c: number, h: number, w: number, seed: number, strided: boolean) => {
        const x = input([b, 2 * c, h, w], seed, strided);
        const halves = [
          { first: tables(c, h, seed + 2), second: tables(c, w, seed + 4) },
          { first: tables(c, w, seed + 6), second: tables(c, h, seed + 8) },
        ] as const;
        expectClose(wasm(x, halves) as Tensor, reference(x, halves) as Tensor);
      };
      const side = fc.oneof(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 20 }));
      fc.assert(fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 4 }), side, side, fc.nat({ max: 1e6 }), fc.boolean(), check), { seed: SEED, numRuns: RUNS });
      for (const [h, w] of [[8, 8], [4, 4], [2, 2], [6, 2], [3, 4], [5, 5]]) check(17, 3, h, w, h * w, false);
    });

    it('batch norm statistics, apply and backward, with fused SiLU / Hardswish', () => {
      setNumThreads(threads);
      const [statsW, statsR] = both('BatchNormStats');
      const [applyW, applyR] = both('BatchNormApply');
      const [backW, backR] = both('BatchNormBackward');
      fc.assert(fc.property(
        fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 7 }),
        fc.constantFrom<'silu' | 'hardswish' | null>(null, 'silu', 'hardswish'), fc.boolean(), fc.nat({ max: 1e6 }),
        (n, c, h, w, activation, batchStats, seed) => {
          const x = input([n, c, h, w], seed, seed % 2 === 0).mul(2).add(0.5);
          const g = input([n, c, h, w], seed + 1, false);
          const stats = statsW(x) as { mean: Float64Array; variance: Float64Array };
          const reference = statsR(x) as { mean: Float64Array; variance: Float64Array };
          stats.mean.forEach((m, i) => expect(m).toBeCloseTo(reference.mean[i], 5));
          stats.variance.forEach((v, i) => expect(v).toBeCloseTo(reference.variance[i], 5));
          const invstd = reference.variance.map((v) => 1 / Math.sqrt(v + 1e-5));
          const weight = Float64Array.from({ length: c }, (_, i) => 0.5 + i / c);
          const bias = Float64Array.from({ length: c }, (_, i) => i / c - 0.3);
          const scale = weight.map((wt, i) => wt * invstd[i]);
          const shift = bias.map((b, i) => b - reference.mean[i] * scale[i]);
          expectClose(applyW(x, scale, shift, activation) as Tensor, applyR(x, scale, shift, activation) as Tensor, 1e-5);
          const got = backW(x, g, reference.mean, invstd, weight, bias, batchStats, activation) as { dx: Tensor; dweight: Float64Array; dbias: Float64Array };
          const want = backR(x, g, reference.mean, invstd, weight, bias, batchStats, activation) as { dx: Tensor; dweight: Float64Array; dbias: Float64Array };
          expectClose(got.dx, want.dx, 1e-4);
          got.dweight.forEach((v, i) => expect(v).toBeCloseTo(want.dweight[i], 3));
          got.dbias.forEach((v, i) => expect(v).toBeCloseTo(want.dbias[i], 3));
        }), { seed: SEED, numRuns: RUNS });
    });

    it('batch norm on a block of a wider tensor\'s channels (read where it lies): the bits it gives on a contiguous copy', () => {
      setNumThreads(threads);
      const [stats] = both('BatchNormStats');
      const [apply] = both('BatchNormApply');
      const [back] = both('BatchNormBackward');
      const bits = (t: Tensor): number[] => Array.from(t.toTypedArray());
      // Batches of 9 and 17 split by images on 2 threads, of 2 by channels.
      for (const [n, c, h, w] of [[9, 3, 4, 4], [2, 5, 3, 3], [17, 2, 8, 8]]) {
        for (const activation of [null, 'silu', 'hardswish'] as const) {
          const x = channelBlock([n, c, h, w], n * c + h);
          const g = channelBlock([n, c, h, w], n * c + h + 1);
          const [xc, gc] = [add(x, 0), add(g, 0)];
          expect(xc.isContiguous() && !x.isContiguous()).toBe(true);
          const s = stats(x) as { mean: Float64Array; variance: Float64Array };
          expect(stats(xc)).toEqual(s);
          const invstd = s.variance.map((v) => 1 / Math.sqrt(v + 1e-5));
          const weight = Float64Array.from({ length: c }, (_, i) => 0.5 + i / c);
          const bias = Float64Array.from({ length: c }, (_, i) => i / c - 0.3);
          expect(bits(apply(x, weight, bias, activation) as Tensor)).toEqual(bits(apply(xc, weight, bias, activation) as Tensor));
          const got = back(x, g, s.mean, invstd, weight, bias, true, activation) as { dx: Tensor; dweight: Float64Array; dbias: Float64Array };
          const want = back(xc, gc, s.mean, invstd, weight, bias, true, activation) as { dx: Tensor; dweight: Float64Array; dbias: Float64Array };
          expect(bits(got.dx)).toEqual(bits(want.dx));
          expect([got.dweight, got.dbias]).toEqual([want.dweight, want.dbias]);
        }
      }
    });

    it('activations and their gradients (vector exp within a few float32 ulps)', () => {
      setNumThreads(threads);
      for (const name of ['Silu', 'Sigmoid', 'Hardswish', 'Hardsigmoid'] as const) {
        const [wasm, reference] = both(name);
        const [wasmGrad, referenceGrad] = both(`${name}Grad`);
        fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 4 }), fc.nat({ max: 1e6 }), fc.boolean(), (shape, seed, strided) => {
          const x = input(shape, seed, strided).mul(4);
          const g = input(shape, seed + 1, false);
          const y = reference(x) as Tensor;
          expectClose(wasm(x) as Tensor, y, 1e-6);
          const saved = name === 'Sigmoid' ? y : x;
          expectClose(wasmGrad(saved, g) as Tensor, referenceGrad(saved, g) as Tensor, 1e-6);
        }), { seed: SEED, numRuns: RUNS / 2 });
      }
    });

    it('Add, Sub, Mul of same-shape tensors, contiguous or strided: bit for bit the reference', () => {
      setNumThreads(threads);
      for (const name of ['Add', 'Sub', 'Mul'] as const) {
        const [wasm, reference] = both(name);
        fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 4 }), fc.nat({ max: 1e6 }), fc.boolean(), fc.boolean(), (shape, seed, stridedA, stridedB) => {
          const a = input(shape, seed, stridedA);
          const b = input(shape, seed + 1, stridedB);
          const got = wasm(a, b) as Tensor;
          const want = reference(a, b) as Tensor;
          expect(got.shape).toEqual(want.shape);
          expect(Array.from(got.toTypedArray())).toEqual(Array.from(want.toTypedArray()));
        }), { seed: SEED, numRuns: RUNS / 2 });
      }
    });

    it('Add, Sub, Mul of views read in place (permuted, flipped, sliced with a step, broadcast; in wasm memory or not): bit for bit the reference', async () => {
      setNumThreads(threads);
      const { add, flip, permute, slice, expand, zeros } = await import('@parcnet/tensor');
      fc.assert(fc.property(
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 5 }), fc.nat({ max: 1e6 }), fc.nat(), fc.boolean(), fc.boolean(), fc.integer({ min: 1, max: 3 }),
        fc.constantFrom<'Add' | 'Sub' | 'Mul'>('Add', 'Sub', 'Mul'), fc.constantFrom('broadcast', 'contiguous', 'transposed'),
        (shape, seed, pick, resident, flipped, step, name, other) => {
          const base = resident ? add(randn(shape, { seed }), zeros(shape)) : randn(shape, { seed });
          const order = shape.map((_, i) => i).sort((a, b) => ((a * 7 + pick) % 5) - ((b * 7 + pick) % 5));
          let a = permute(base, order);
          if (flipped) a = flip(a, [pick % shape.length]);
          a = slice(a, 0, 0, undefined, step);
          if (pick % 3 === 0) a = expand(a.unsqueeze(0), [2, ...a.shape]);
          const b = other === 'broadcast'
            ? expand(randn(a.shape.map((d, i) => ((pick >> i) & 1 ? 1 : d)), { seed: seed + 1 }), a.shape)
            : input([...a.shape], seed + 1, other === 'transposed');
          const [wasm, reference] = both(name);
          for (const [x, y] of [[a, b], [b, a]]) {
            const got = wasm(x, y) as Tensor;
            const want = reference(x, y) as Tensor;
            expect(got.shape).toEqual(want.shape);
            expect(Array.from(got.toTypedArray())).toEqual(Array.from(want.toTypedArray()));
          }
        }), { seed: SEED, numRuns: RUNS });
    });

    it('pooling, forward and backward: average (padding counted or not), max with its indices, adaptive (1 × 1 and uneven bins)', () => {
      setNumThreads(threads);
      const [avg, avgR] = both('AvgPool2D');
      const [avgGrad, avgGradR] = both('AvgPool2DGrad');
      const [maxP, maxR] = both('MaxPool2D');
      const [maxGrad, maxGradR] = both('MaxPool2DGrad');
      const [adaptive, adaptiveR] = both('AdaptiveAvgPool2D');
      const [adaptiveGrad, adaptiveGradR] = both('AdaptiveAvgPool2DGrad');
      const poolCase = fc.record({
        n: fc.integer({ min: 1, max: 3 }), c: fc.integer({ min: 1, max: 5 }), h: fc.integer({ min: 1, max: 11 }), w: fc.integer({ min: 1, max: 11 }),
        kh: fc.integer({ min: 1, max: 3 }), kw: fc.integer({ min: 1, max: 3 }), sh: fc.integer({ min: 1, max: 3 }), sw: fc.integer({ min: 1, max: 3 }),
        ph: fc.integer({ min: 0, max: 1 }), pw: fc.integer({ min: 0, max: 1 }), includePad: fc.boolean(),
        oh: fc.integer({ min: 1, max: 5 }), ow: fc.integer({ min: 1, max: 5 }), strided: fc.boolean(), seed: fc.nat({ max: 1e6 }),
      }).filter((c) => c.ph <= c.kh / 2 && c.pw <= c.kw / 2 && c.h + 2 * c.ph >= c.kh && c.w + 2 * c.pw >= c.kw);
      fc.assert(fc.property(poolCase, (c) => {
        const x = input([c.n, c.c, c.h, c.w], c.seed, c.strided);
        const attrs = { kernelSize: [c.kh, c.kw], stride: [c.sh, c.sw], padding: [c.ph, c.pw], countIncludePad: c.includePad } as const;
        const y = avgR(x, attrs) as Tensor;
        expectClose(avg(x, attrs) as Tensor, y, 1e-6);
        const g = input([...y.shape], c.seed + 1, c.strided);
        expectClose(avgGrad(g, x.shape, attrs) as Tensor, avgGradR(g, x.shape, attrs) as Tensor, 1e-6);
        const got = maxP(x, attrs) as { output: Tensor; indices: Tensor };
        const want = maxR(x, attrs) as { output: Tensor; indices: Tensor };
        expect(Array.from(got.output.toTypedArray())).toEqual(Array.from(want.output.toTypedArray()));
        expect(got.indices.dtype).toBe('int32');
        expect(Array.from(got.indices.toTypedArray())).toEqual(Array.from(want.indices.toTypedArray()));
        expectClose(maxGrad(g, want.indices, x.shape) as Tensor, maxGradR(g, want.indices, x.shape) as Tensor, 1e-6);
        for (const outSize of [[1, 1], [Math.min(c.oh, c.h), Math.min(c.ow, c.w)]] as [number, number][]) {
          const z = adaptiveR(x, outSize) as Tensor;
          expectClose(adaptive(x, outSize) as Tensor, z, 1e-6);
          const gz = input([...z.shape], c.seed + 2, false);
          expectClose(adaptiveGrad(gz, x.shape) as Tensor, adaptiveGradR(gz, x.shape) as Tensor, 1e-6);
        }
      }), { seed: SEED, numRuns: RUNS });
    });

    it('bilinear resize and its gradient: up and down, align corners or not, scale factors', () => {
      setNumThreads(threads);
      const [resize, resizeR] = both('ResizeBilinear');
      const [grad, gradR] = both('ResizeBilinearGrad');
      fc.assert(fc.property(
        fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 1, max: 17 }), fc.integer({ min: 1, max: 17 }), fc.boolean(), fc.boolean(), fc.boolean(), fc.nat({ max: 1e6 }),
        (n, c, h, w, ho, wo, alignCorners, byFactor, strided, seed) => {
          const x = input([n, c, h, w], seed, strided);
          // PyTorch maps with 1/scale_factor when one is given, else with in/out.
          const scale: [number, number] = byFactor ? [1 / (ho / h + 0.25), 1 / (wo / w + 0.25)] : [h / ho, w / wo];
          const attrs = { outSize: [ho, wo], alignCorners, scale } as const;
          expectClose(resize(x, attrs) as Tensor, resizeR(x, attrs) as Tensor, 1e-6);
          const g = input([n, c, ho, wo], seed + 1, strided);
          expectClose(grad(g, x.shape, attrs) as Tensor, gradR(g, x.shape, attrs) as Tensor, 1e-6);
        }), { seed: SEED, numRuns: RUNS });
    });

    it('softmax and log-softmax with their gradients, along every axis (contiguous lines and lines 4 at a time)', () => {
      setNumThreads(threads);
      const pairs = (['Softmax', 'LogSoftmax', 'SoftmaxGrad', 'LogSoftmaxGrad'] as const).map(both);
      fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 4 }), fc.nat(), fc.nat({ max: 1e6 }), fc.boolean(), (shape, pick, seed, strided) => {
        const axis = pick % shape.length;
        const x = input(shape, seed, strided).mul(3);
        const g = input(shape, seed + 1, !strided);
        for (let i = 0; i < 2; i++) {
          const y = pairs[i][1](x, axis) as Tensor;
          expectClose(pairs[i][0](x, axis) as Tensor, y, 1e-5);
          expectClose(pairs[i + 2][0](y, g, axis) as Tensor, pairs[i + 2][1](y, g, axis) as Tensor, 1e-5);
        }
      }), { seed: SEED, numRuns: RUNS });
    });

    it('Sum over any axes that leave at most two kept blocks (bias and broadcast gradients, totals, a PE gradient [N, C, H, W] → [C, W])', async () => {
      setNumThreads(threads);
      const { getKernel: kernelOf } = await import('@parcnet/tensor');
      const { sumBlocks } = await import('../src/reductions');
      const [sum, sumR] = both('Sum');
      expect(kernelOf('Sum', 'wasm')).toBeDefined();
      fc.assert(fc.property(fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 5 }), fc.nat(), fc.nat({ max: 1e6 }), fc.boolean(), (shape, pick, seed, strided) => {
        // Each axis reduced or kept by a bit of `pick`.
        const axes = shape.map((_, i) => i).filter((i) => (pick >> i) & 1);
        const blocks = sumBlocks(shape, axes);
        const x = input(shape, seed, strided);
        if (blocks === null) return;
        expectClose(sum(x, axes) as Tensor, sumR(x, axes) as Tensor, 1e-6);
      }), { seed: SEED, numRuns: RUNS });
      expect(sumBlocks([2, 3, 4], [1])).toEqual({ a: 1, k: 2, m: 3, j: 4, b: 1 });
      expect(sumBlocks([2, 1, 4], [1])).toEqual({ a: 1, k: 8, m: 1, j: 1, b: 1 });
      expect(sumBlocks([64, 192, 8, 8], [0, 2, 3])).toEqual({ a: 64, k: 192, m: 1, j: 1, b: 64 });
      expect(sumBlocks([2, 3, 4], [0, 1, 2])).toEqual({ a: 1, k: 1, m: 1, j: 1, b: 24 });
      expect(sumBlocks([2, 3, 4, 5, 6], [1, 3])).toBeNull();
      expect(sumBlocks([6, 2, 3, 4, 5], [0, 2, 4])).toEqual({ a: 6, k: 2, m: 3, j: 4, b: 5 });
    });

    it('SliceGrad (a slice\'s gradient: zeros with the gradient at the slice), any axis, start and step, strided gradients: bit for bit the reference', () => {
      setNumThreads(threads);
      const [wasm, reference] = both('SliceGrad');
      fc.assert(fc.property(
        fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 5 }), fc.nat(), fc.nat(), fc.integer({ min: 1, max: 3 }), fc.boolean(), fc.nat({ max: 1e6 }),
        (inputShape, pickAxis, pickStart, step, strided, seed) => {
          const axis = pickAxis % inputShape.length;
          const start = pickStart % inputShape[axis];
          const length = Math.ceil((inputShape[axis] - start) / step);
          const g = input(inputShape.map((d, i) => (i === axis ? length : d)), seed, strided);
          const got = wasm(g, inputShape, axis, start, step) as Tensor;
          const want = reference(g, inputShape, axis, start, step) as Tensor;
          expect(got.shape).toEqual(want.shape);
          expect(Array.from(got.toTypedArray())).toEqual(Array.from(want.toTypedArray()));
        }), { seed: SEED, numRuns: RUNS });
    });

    it('Concat of 1 to 4 inputs along any axis (sizes 0 to 4 along it), strided inputs: bit for bit the reference', () => {
      setNumThreads(threads);
      const [wasm, reference] = both('Concat');
      fc.assert(fc.property(
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 5 }), fc.nat(), fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 1, maxLength: 4 }), fc.boolean(), fc.nat({ max: 1e6 }),
        (shape, pickAxis, sizes, strided, seed) => {
          const axis = pickAxis % shape.length;
          const tensors = sizes.map((size, i) => input(shape.map((d, k) => (k === axis ? size : d)), seed + i, strided && i % 2 === 0));
          const got = wasm(tensors, axis) as Tensor;
          const want = reference(tensors, axis) as Tensor;
          expect(got.shape).toEqual(want.shape);
          expect(Array.from(got.toTypedArray())).toEqual(Array.from(want.toTypedArray()));
        }), { seed: SEED, numRuns: RUNS });
    });

    it('Cast (contiguous copy) of views on wasm-resident storage: permuted, flipped, sliced with a step, expanded; bit for bit', async () => {
      setNumThreads(threads);
      const { add, flip, permute, slice, expand, zeros } = await import('@parcnet/tensor');
      const [wasm, reference] = both('Cast');
      fc.assert(fc.property(
        fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 5 }), fc.nat({ max: 1e6 }), fc.nat(), fc.boolean(), fc.integer({ min: 1, max: 3 }),
        (shape, seed, pick, flipped, step) => {
          // An Add output: its storage lies in wasm memory.
          const base = add(randn(shape, { seed }), zeros(shape));
          const order = shape.map((_, i) => i).sort((a, b) => ((a * 7 + pick) % 5) - ((b * 7 + pick) % 5));
          let view = permute(base, order);
          if (flipped) view = flip(view, [pick % shape.length]);
          view = slice(view, 0, 0, undefined, step);
          if (pick % 3 === 0) view = expand(view.unsqueeze(0), [2, ...view.shape]);
          const got = wasm(view, 'float32') as Tensor;
          const want = reference(view, 'float32') as Tensor;
          expect(got.shape).toEqual(want.shape);
          expect(Array.from(got.toTypedArray())).toEqual(Array.from(want.toTypedArray()));
        }), { seed: SEED, numRuns: RUNS });
    });
  });
}

describe('WASM elementwise kernels over several blocks (threads take 4,096 elements at a time)', () => {
  it('Add, Mul, Silu and SiluGrad on 12,297 elements equal the reference, on 1 and 2 threads', () => {
    for (const threads of [1, 2]) {
      setNumThreads(threads);
      const a = randn([3, 4099], { seed: 1 });
      const b = randn([3, 4099], { seed: 2 });
      for (const name of ['Add', 'Mul'] as const) {
        const [wasm, reference] = both(name);
        expect(Array.from((wasm(a, b) as Tensor).toTypedArray())).toEqual(Array.from((reference(a, b) as Tensor).toTypedArray()));
      }
      const [silu, siluR] = both('Silu');
      const [grad, gradR] = both('SiluGrad');
      expectClose(silu(a) as Tensor, siluR(a) as Tensor, 1e-6);
      expectClose(grad(a, b) as Tensor, gradR(a, b) as Tensor, 1e-6);
    }
  });
});

describe('WASM dispatch', () => {
  it('Add: float32 goes to wasm (broadcast operands arrive as expanded views, read in place), float64 to the reference', async () => {
    const { add, observeKernels, setBackendEnabled } = await import('@parcnet/tensor');
    const seen: string[] = [];
    const stop = observeKernels((name, _args, backend) => { if (name === 'Add') seen.push(backend); });
    const a = randn([2, 3, 4], { seed: 1 });
    const bias = randn([3, 1], { seed: 2 });
    const got = add(a, bias);
    add(randn([2, 3], { dtype: 'float64', seed: 1 }), randn([2, 3], { dtype: 'float64', seed: 2 }));
    stop();
    expect(seen).toEqual(['wasm', 'reference']);
    setBackendEnabled('wasm', false);
    const want = add(a, bias);
    setBackendEnabled('wasm', true);
    expect(Array.from(got.toTypedArray())).toEqual(Array.from(want.toTypedArray()));
  });

  it('float32 goes to wasm, float64 falls back to the reference', async () => {
    const { listKernels, conv2d } = await import('@parcnet/tensor');
    expect(listKernels().Conv2D[0]).toBe('wasm');
    const x = randn([1, 2, 5, 5], { dtype: 'float64', seed: 1 });
    const w = randn([3, 2, 3, 3], { dtype: 'float64', seed: 2 });
    expect(conv2d(x, w).dtype).toBe('float64');
  });
});
