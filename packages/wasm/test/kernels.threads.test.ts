import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getKernel, randn, Tensor, type Conv2DAttrs, type KernelName } from '@parcnet/tensor';
import { getNumThreads, setNumThreads, setParallelThreshold } from '../src/index';
import { chunking, setHelperJitter } from '../src/threads.js';

// Every kernel parallelFor splits gives the same bits on 1 thread (one call over the whole job) as
// on 2 and 3, whichever thread claims which chunk: each chunk may write only its own outputs and
// sum nothing with another chunk. The shapes cut into many chunks (up to 12 on 3 threads, with
// per-chunk scratch for the convs, depthwise 3×3 and ParC), and the threaded runs repeat with the
// helpers delayed at random, so the chunks land on different threads in different orders.

const REPEATS = 4;
const initialThreads = getNumThreads();
beforeAll(() => setParallelThreshold(2, 0));
afterAll(() => {
  setHelperJitter(0);
  setNumThreads(initialThreads);
  setParallelThreshold(8, 50_000);
});

const run = (name: KernelName, ...args: unknown[]): unknown => (getKernel(name, 'wasm') as unknown as (...a: unknown[]) => unknown)(...args);

/** Every number a kernel returned: its tensors, typed arrays and those inside a result object, in order. */
function numbers(result: unknown): number[] {
  if (result instanceof Tensor) return Array.from(result.toTypedArray() as ArrayLike<number>);
  if (ArrayBuffer.isView(result)) return Array.from(result as unknown as ArrayLike<number>);
  return Object.values(result as object).flatMap(numbers);
}

const conv = (stride: number, padding: number, groups = 1): Conv2DAttrs => ({ stride: [stride, stride], padding: [padding, padding], dilation: [1, 1], groups });

/** The calls to compare, by label: 13 images (7 chunks of 2, or 7 filter slices), 78 planes, 20 channels, 15 element blocks. */
function cases(): [string, () => unknown][] {
  const list: [string, () => unknown][] = [];
  /** A norm's per-channel scale and shift for o channels. */
  const affine = (o: number) => [Float64Array.from({ length: o }, (_, i) => 0.5 + i / o), Float64Array.from({ length: o }, (_, i) => i / o - 0.4)] as const;
  const x = randn([13, 6, 9, 9], { seed: 1 });
  const convs: [string, Tensor, Conv2DAttrs][] = [
    ['dense 3×3', randn([8, 6, 3, 3], { seed: 2 }), conv(1, 1)],
    ['1×1', randn([8, 6, 1, 1], { seed: 3 }), conv(1, 0)],
    ['grouped 3×3 stride 2', randn([8, 3, 3, 3], { seed: 4 }), conv(2, 1, 2)],
    ['depthwise 3×3', randn([6, 1, 3, 3], { seed: 5 }), conv(1, 1, 6)],
    ['depthwise 3×3 stride 2', randn([6, 1, 3, 3], { seed: 6 }), conv(2, 1, 6)],
    ['depthwise 5×5', randn([6, 1, 5, 5], { seed: 7 }), conv(1, 2, 6)],
  ];
  for (const [label, w, attrs] of convs) {
    const y = run('Conv2D', x, w, attrs) as Tensor;
    const g = randn([...y.shape], { seed: 8 });
    const o = w.shape[0];
    const [scale, shift] = affine(o);
    list.push(
      [`Conv2D ${label}`, () => run('Conv2D', x, w, attrs)],
      [`Conv2DNormAct ${label}`, () => run('Conv2DNormAct', x, w, scale, shift, 'silu', attrs)],
      [`Conv2DBackpropInput ${label}`, () => run('Conv2DBackpropInput', g, w, x.shape, attrs)],
      [`Conv2DBackpropFilter ${label}`, () => run('Conv2DBackpropFilter', x, g, w.shape, attrs)],
    );
  }
  // Winograd (a dense 3×3 with 8 channels or more; O and C not multiples of 4) and a 1×1 conv on
  // 2×2 maps (one GEMM over the batch's columns).
  const xw = randn([13, 9, 6, 6], { seed: 40 });
  const ww = randn([10, 9, 3, 3], { seed: 41 });
  const gw = randn([13, 10, 6, 6], { seed: 42 });
  const xs = randn([13, 12, 2, 2], { seed: 43 });
  const wsmall = randn([10, 12, 1, 1], { seed: 44 });
  const gs = randn([13, 10, 2, 2], { seed: 45 });
  list.push(
    ['Conv2D Winograd', () => run('Conv2D', xw, ww, conv(1, 1))],
    ['Conv2DNormAct Winograd', () => run('Conv2DNormAct', xw, ww, ...affine(10), 'silu', conv(1, 1))],
    ['Conv2DBackpropInput Winograd', () => run('Conv2DBackpropInput', gw, ww, xw.shape, conv(1, 1))],
    ['Conv2DBackpropFilter Winograd', () => run('Conv2DBackpropFilter', xw, gw, ww.shape, conv(1, 1))],
    ['Conv2DNormAct 1×1 on 2×2 maps', () => run('Conv2DNormAct', xs, wsmall, ...affine(10), 'hardswish', conv(1, 0))],
    ['Conv2DBackpropInput 1×1 on 2×2 maps', () => run('Conv2DBackpropInput', gs, wsmall, xs.shape, conv(1, 0))],
    ['Conv2DBackpropFilter 1×1 on 2×2 maps', () => run('Conv2DBackpropFilter', xs, gs, wsmall.shape, conv(1, 0))],
  );
  // Inference's fused blocks, a job over the images each: the inverted residual (with its residual
  // at stride 1) and the feed-forward pair.
  const xi = randn([13, 6, 8, 8], { seed: 46 });
  const stage = (weight: Tensor, act: 'silu' | 'hardswish' | null, attrs: Conv2DAttrs) => {
    const [scale, shift] = affine(weight.shape[0]);
    return { weight, scale, shift, activation: act, attrs };
  };
  const expand = stage(randn([24, 6, 1, 1], { seed: 47 }), 'silu', conv(1, 0));
  const reduce = stage(randn([6, 24, 1, 1], { seed: 48 }), null, conv(1, 0));
  for (const stride of [1, 2]) {
    const depthwise = stage(randn([24, 1, 3, 3], { seed: 49 }), 'silu', conv(stride, 1, 24));
    list.push([`InvertedResidualNormAct stride ${stride}`, () => run('InvertedResidualNormAct', xi, expand, depthwise, reduce, stride === 1 ? xi : null)]);
  }
  const xf = randn([13, 6, 4, 4], { seed: 50 });
  const [normScale, normShift] = affine(6);
  list.push(['FeedForwardNormAct', () => run('FeedForwardNormAct', xf, { scale: normScale, shift: normShift },
    stage(randn([20, 6, 1, 1], { seed: 51 }), 'hardswish', conv(1, 0)), stage(randn([6, 20, 1, 1], { seed: 52 }), null, conv(1, 0)))]);
  const a = randn([2, 37, 29], { seed: 9 });
  const b = randn([2, 29, 23], { seed: 10 });
  list.push(['BatchMatMul', () => run('BatchMatMul', a, b, false, false)]);
  // ParC planes output by output (9 × 11) and by vectors (8 × 8).
  for (const [h, w] of [[9, 11], [8, 8]]) {
    const p = randn([13, 6, h, w], { seed: 11 });
    const pg = randn([13, 6, h, w], { seed: 12 });
    for (const axis of ['H', 'W'] as const) {
      const kernel = randn([6, axis === 'H' ? h : w], { seed: 13 });
      list.push(
        [`ParcConv ${axis} ${h}×${w}`, () => run('ParcConv', p, kernel, axis)],
        [`ParcConvBackpropInput ${axis} ${h}×${w}`, () => run('ParcConvBackpropInput', pg, kernel, axis)],
        [`ParcConvBackpropKernel ${axis} ${h}×${w}`, () => run('ParcConvBackpropKernel', p, pg, axis)],
      );
    }
    const tables = (n: number, seed: number) => ({ kernel: randn([3, n], { seed }), offset: randn([3, n], { seed: seed + 1 }) });
    const halves = [{ first: tables(h, 30), second: tables(w, 32) }, { first: tables(w, 34), second: tables(h, 36) }];
    list.push([`ParcMixer ${h}×${w}`, () => run('ParcMixer', p, halves)]);
  }
  const v = randn([13, 20, 5, 5], { seed: 14 }).mul(2).add(0.5);
  const vg = randn([13, 20, 5, 5], { seed: 15 });
  const v5 = randn([5, 20, 5, 5], { seed: 26 }).mul(2).add(0.5);
  const vg5 = randn([5, 20, 5, 5], { seed: 27 });
  const c = 20;
  const mean = Float64Array.from({ length: c }, (_, i) => 0.5 + i / 100);
  const invstd = Float64Array.from({ length: c }, (_, i) => 0.4 + i / 50);
  const weight = Float64Array.from({ length: c }, (_, i) => 0.5 + i / c);
  const bias = Float64Array.from({ length: c }, (_, i) => i / c - 0.3);
  list.push(
    ['BatchNormStats', () => run('BatchNormStats', v)],
    ['BatchNormApply', () => run('BatchNormApply', v, weight, bias, 'hardswish')],
    ['BatchNormBackward', () => run('BatchNormBackward', v, vg, mean, invstd, weight, bias, true, 'silu')],
    // Batch norm splits a batch of 5 by images on 1 thread but by channels on 2 and 3 (under 4 images a thread).
    ['BatchNormStats (5 images)', () => run('BatchNormStats', v5)],
    ['BatchNormApply (5 images)', () => run('BatchNormApply', v5, weight, bias, 'silu')],
    ['BatchNormBackward (5 images)', () => run('BatchNormBackward', v5, vg5, mean, invstd, weight, bias, true, 'hardswish')],
    ['Sum over N, H, W', () => run('Sum', v, [0, 2, 3])],
    ['Sum over N', () => run('Sum', v, [0])],
  );
  const s = randn([13, 20, 7], { seed: 16 }).mul(3);
  const sg = randn([13, 20, 7], { seed: 17 });
  for (const axis of [1, 2]) {
    list.push(
      [`Softmax axis ${axis}`, () => run('Softmax', s, axis)],
      [`LogSoftmax axis ${axis}`, () => run('LogSoftmax', s, axis)],
      [`SoftmaxGrad axis ${axis}`, () => run('SoftmaxGrad', s, sg, axis)],
      [`LogSoftmaxGrad axis ${axis}`, () => run('LogSoftmaxGrad', s, sg, axis)],
    );
  }
  const pool = { kernelSize: [3, 3], stride: [2, 2], padding: [1, 1], countIncludePad: false } as const;
  const pooled = randn([13, 6, 5, 5], { seed: 18 });
  const { indices } = run('MaxPool2D', x, pool) as { indices: Tensor };
  const resize = { outSize: [13, 7], alignCorners: false, scale: [9 / 13, 9 / 7] } as const;
  list.push(
    ['AvgPool2D', () => run('AvgPool2D', x, pool)],
    ['AvgPool2DGrad', () => run('AvgPool2DGrad', pooled, x.shape, pool)],
    ['MaxPool2D', () => run('MaxPool2D', x, pool)],
    ['MaxPool2DGrad', () => run('MaxPool2DGrad', pooled, indices, x.shape)],
    ['AdaptiveAvgPool2D', () => run('AdaptiveAvgPool2D', x, [3, 4])],
    ['AdaptiveAvgPool2DGrad', () => run('AdaptiveAvgPool2DGrad', randn([13, 6, 3, 4], { seed: 19 }), x.shape)],
    ['ResizeBilinear', () => run('ResizeBilinear', x, resize)],
    ['ResizeBilinearGrad', () => run('ResizeBilinearGrad', randn([13, 6, 13, 7], { seed: 20 }), x.shape, resize)],
  );
  const e = randn([15 * 4096 - 5], { seed: 21 }).mul(4);
  const eg = randn([15 * 4096 - 5], { seed: 22 });
  for (const name of ['Silu', 'Sigmoid', 'Hardswish', 'Hardsigmoid'] as const) {
    list.push([name, () => run(name, e)], [`${name}Grad`, () => run(`${name}Grad`, e, eg)]);
  }
  list.push(['Add', () => run('Add', e, eg)], ['Mul', () => run('Mul', e, eg)]);
  // Views read in place (binaryStrided): a transpose against a broadcast, and a slice of planes.
  const planes = randn([4, 30, 16, 33], { seed: 23 });
  list.push(
    ['Add (transposed + broadcast)', () => run('Add', randn([4099, 15], { seed: 24 }).transpose(0, 1), randn([15, 1], { seed: 25 }).expand([15, 4099]))],
    ['Mul (slice of planes)', () => run('Mul', planes.slice(1, 0, 15), planes.slice(1, 15, 30))],
  );
  return list;
}

describe('WASM kernels: the same bits on any number of threads, whichever thread runs which chunk', () => {
  it('every kernel split by parallelFor, on 1 thread and repeatedly on 2 and 3 with the helpers delayed at random', () => {
    setNumThreads(3);
    expect(chunking(13)).toEqual({ chunks: 7, chunk: 2 });
    expect(chunking(13 * 6)).toEqual({ chunks: 12, chunk: 7 });
    const list = cases();
    setNumThreads(1);
    const expected = list.map(([, call]) => numbers(call()));
    setHelperJitter(2000);
    const differing = new Set<string>();
    for (let repeat = 0; repeat < REPEATS; repeat++) {
      for (const threads of [2, 3]) {
        setNumThreads(threads);
        list.forEach(([label, call], i) => {
          const got = numbers(call());
          if (got.length !== expected[i].length || got.some((value, k) => !Object.is(value, expected[i][k]))) differing.add(`${label} on ${threads} threads`);
        });
      }
    }
    expect([...differing]).toEqual([]);
  });
});
