import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  add, getKernel, randn, runKernel, setBackendEnabled, Tensor, tidy, type AdamMoments, type AdamStepAttrs,
} from '@parcnet/tensor';
import '@parcnet/autograd';
import { AdamW } from '@parcnet/nn';
import { getNumThreads, setNumThreads, WASM } from '../src/index';
import { heap, setWasmTensorLimit } from '../src/runtime';

// The WASM AdamStep kernel computes in float32, as PyTorch does for float32 tensors, where the
// reference computes in float64 and rounds what it stores: the two agree within float32 rounding
// (bounded element by element below). Its moments live in wasm memory from the first step on.

const wasmKernel = getKernel('AdamStep', WASM)!;
const referenceKernel = getKernel('AdamStep', 'reference')!;
const initialThreads = getNumThreads();
const initialLimit = heap.tensorLimit;
afterAll(() => {
  setNumThreads(initialThreads);
  setBackendEnabled(WASM, true);
  setWasmTensorLimit(initialLimit);
});

const EPSILON = 2 ** -24;
const inWasm = (t: Tensor): boolean => heap.pointerOf(t.storage) >= 0;
/** An ordinary-array copy of a tensor's values (contiguous). */
const copy = (t: Tensor): Tensor => new Tensor(Float32Array.from(t.toTypedArray()), t.shape);
/** A copy that lies in wasm memory: the output of the WASM Add kernel. */
const resident = (t: Tensor): Tensor => add(copy(t), 0);

/** The step's scalars for Adam (coupled decay) or AdamW at step t, as optim.ts makes them. */
function attrsFor(lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, decoupled: boolean, t: number): AdamStepAttrs {
  return {
    beta1, beta2, eps, stepSize: lr / (1 - beta1 ** t), biasCorrection2Sqrt: Math.sqrt(1 - beta2 ** t),
    decay: decoupled ? 1 - lr * weightDecay : 1, l2: decoupled ? 0 : weightDecay,
  };
}

/**
 * Float32 rounding of one step, element by element, from its inputs (p, g, m, v before the step)
 * and the reference's results: a few units of 2⁻²⁴ of the magnitudes each result is summed from
 * (the second moment's terms are all positive; the update's size is stepSize · |m| / denominator).
 */
function expectWithinRounding(
  before: { p: ArrayLike<number>; g: ArrayLike<number>; m: ArrayLike<number>; v: ArrayLike<number> },
  wasm: { p: ArrayLike<number>; m: ArrayLike<number>; v: ArrayLike<number> },
  reference: { p: ArrayLike<number>; m: ArrayLike<number>; v: ArrayLike<number> },
  a: AdamStepAttrs,
): void {
  for (let i = 0; i < reference.p.length; i++) {
    const gradient = Math.abs(before.g[i]) + a.l2 * Math.abs(before.p[i]);
    const mBound = 4 * EPSILON * (a.beta1 * Math.abs(before.m[i]) + (1 - a.beta1) * gradient);
    const vBound = 8 * EPSILON * (a.beta2 * before.v[i] + (1 - a.beta2) * gradient * gradient);
    const denominator = Math.sqrt(reference.v[i]) / a.biasCorrection2Sqrt + a.eps;
    const pBound = 4 * EPSILON * Math.abs(reference.p[i]) + (4 * a.stepSize * mBound) / denominator;
    const where = `element ${i} of ${reference.p.length}`;
    expect(Math.abs(wasm.m[i] - reference.m[i]), `m, ${where}`).toBeLessThanOrEqual(mBound);
    expect(Math.abs(wasm.v[i] - reference.v[i]), `v, ${where}`).toBeLessThanOrEqual(vBound);
    expect(Math.abs(wasm.p[i] - reference.p[i]), `p, ${where}`).toBeLessThanOrEqual(pBound);
  }
}

const values = (t: Tensor): Float32Array => t.toTypedArray() as Float32Array;

describe('AdamStep: WASM equals the reference within float32 rounding', () => {
  it('on random shapes, hyper-parameters and steps; strided gradients; moments new, in ordinary arrays or in wasm memory; parameters in either', () => {
    expect(wasmKernel).toBeDefined();
    fc.assert(fc.property(
      fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 3 }),
      fc.record({
        lr: fc.double({ min: 1e-4, max: 0.5, noNaN: true }), beta1: fc.double({ min: 0, max: 0.99, noNaN: true }),
        beta2: fc.double({ min: 0.9, max: 0.9999, noNaN: true }), eps: fc.constantFrom(1e-8, 1e-6, 1e-3),
        weightDecay: fc.double({ min: 0, max: 0.5, noNaN: true }), decoupled: fc.boolean(), t: fc.integer({ min: 1, max: 1000 }),
      }),
      fc.constantFrom('new', 'ordinary', 'wasm'), fc.boolean(), fc.boolean(), fc.nat({ max: 1e6 }),
      (shape, h, moments, strided, paramInWasm, seed) => {
        const attrs = attrsFor(h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, h.decoupled, h.t);
        const p = randn(shape, { seed });
        // A transposed view: the kernel gathers it.
        const g = strided && shape.length > 1 ? randn([...shape].reverse(), { seed: seed + 1 }).permute([...shape.keys()].reverse()) : randn(shape, { seed: seed + 1 });
        const m = randn(shape, { seed: seed + 2 }).mul(0.1);
        const v = randn(shape, { seed: seed + 3 }).pow(2).mul(0.01);
        const given = (make: (t: Tensor) => Tensor): AdamMoments | null => (moments === 'new' ? null : { expAvg: make(m), expAvgSq: make(v) });
        const pw = paramInWasm ? resident(p) : copy(p);
        expect(inWasm(pw)).toBe(paramInWasm);
        const w = wasmKernel(pw, g, given(moments === 'wasm' ? resident : copy), attrs);
        const pr = copy(p);
        const r = referenceKernel(pr, g, given(copy), attrs);
        const zeros = new Float32Array(p.size);
        expectWithinRounding(
          { p: values(p), g: values(g), m: moments === 'new' ? zeros : values(m), v: moments === 'new' ? zeros : values(v) },
          { p: values(pw), m: values(w.expAvg), v: values(w.expAvgSq) },
          { p: values(pr), m: values(r.expAvg), v: values(r.expAvgSq) },
          attrs,
        );
      }), { seed: 20261206, numRuns: 300 });
  });

  it('keeps the moments in wasm memory: new ones there at the first step, those updated in place after, ordinary arrays moved in', () => {
    const p = randn([5, 7], { seed: 1 });
    const g = randn([5, 7], { seed: 2 });
    const attrs = attrsFor(0.01, 0.9, 0.999, 1e-8, 0.05, true, 1);
    const first = wasmKernel(p, g, null, attrs);
    expect(inWasm(first.expAvg) && inWasm(first.expAvgSq)).toBe(true);
    expect(inWasm(p)).toBe(false);
    const second = wasmKernel(p, g, first, attrsFor(0.01, 0.9, 0.999, 1e-8, 0.05, true, 2));
    expect(second.expAvg).toBe(first.expAvg);
    expect(second.expAvgSq).toBe(first.expAvgSq);
    const loaded = { expAvg: copy(first.expAvg), expAvgSq: copy(first.expAvgSq) };
    const moved = wasmKernel(copy(p), g, loaded, attrsFor(0.01, 0.9, 0.999, 1e-8, 0.05, true, 3));
    expect(inWasm(moved.expAvg) && inWasm(moved.expAvgSq)).toBe(true);
    expect(moved.expAvg).not.toBe(loaded.expAvg);
  });

  it('goes on from moments copied out to ordinary arrays (a saved and loaded state) with the bits it has in place, on 1 and on 2 threads', () => {
    const results: number[][] = [];
    for (const threads of [1, 2]) {
      setNumThreads(threads);
      const p = randn([4099], { seed: 5 });
      let moments = wasmKernel(p, randn([4099], { seed: 6 }), null, attrsFor(0.01, 0.9, 0.999, 1e-8, 0.05, true, 1));
      const twin = copy(p);
      let loaded: AdamMoments = { expAvg: copy(moments.expAvg), expAvgSq: copy(moments.expAvgSq) };
      for (let t = 2; t <= 4; t++) {
        const g = randn([4099], { seed: 6 + t });
        moments = wasmKernel(p, g, moments, attrsFor(0.01, 0.9, 0.999, 1e-8, 0.05, true, t));
        loaded = wasmKernel(twin, g, loaded, attrsFor(0.01, 0.9, 0.999, 1e-8, 0.05, true, t));
      }
      expect(Array.from(values(twin))).toEqual(Array.from(values(p)));
      expect(Array.from(values(loaded.expAvgSq))).toEqual(Array.from(values(moments.expAvgSq)));
      results.push(Array.from(values(p)));
    }
    expect(results[1]).toEqual(results[0]);
  });

  it('with no room for tensors in wasm memory (limit 0, as in a page without shared memory) the moments come back as ordinary arrays, with the same bits', () => {
    const g = randn([4, 9], { seed: 2 });
    const kept = randn([4, 9], { seed: 1 });
    const copied = copy(kept);
    let inPlace: AdamMoments | null = null;
    let outside: AdamMoments | null = null;
    for (let t = 1; t <= 3; t++) {
      inPlace = wasmKernel(kept, g, inPlace, attrsFor(0.01, 0.9, 0.999, 1e-8, 0.05, true, t));
      setWasmTensorLimit(0);
      outside = wasmKernel(copied, g, outside, attrsFor(0.01, 0.9, 0.999, 1e-8, 0.05, true, t));
      setWasmTensorLimit(initialLimit);
      expect(inWasm(outside.expAvg) || inWasm(outside.expAvgSq)).toBe(false);
    }
    expect(Array.from(values(copied))).toEqual(Array.from(values(kept)));
    expect(Array.from(values(outside!.expAvgSq))).toEqual(Array.from(values(inPlace!.expAvgSq)));
  });

  it('leaves float64 parameters to the reference', () => {
    const p = randn([6], { seed: 1, dtype: 'float64' });
    const g = randn([6], { seed: 2, dtype: 'float64' });
    const moments = runKernel('AdamStep', p, g, null, attrsFor(0.01, 0.9, 0.999, 1e-8, 0, true, 1));
    expect(moments.expAvg.dtype).toBe('float64');
    expect(inWasm(moments.expAvg)).toBe(false);
  });
});

describe('AdamW over the WASM kernel', () => {
  /** A few float32 parameters of odd sizes, and a loss whose gradients are kernel outputs in wasm memory. */
  const parameters = (): Tensor[] => [[3, 5], [7], [2, 3, 3, 3]].map((shape, i) => randn(shape, { seed: 10 + i }).requiresGrad_());
  const step = (params: Tensor[], optimizer: AdamW): void => tidy(() => {
    optimizer.zeroGrad();
    for (const p of params) p.mul(p).mul(p.add(1)).sum().backward();
    optimizer.step();
  });
  const bits = (params: Tensor[]): number[][] => params.map((p) => Array.from(p.toTypedArray()));

  it('keeps its moments in wasm memory across steps taken in tidy scopes; saved, loaded and continued, equals the uninterrupted run bit for bit', () => {
    const uninterrupted = parameters();
    const optimizer = new AdamW(uninterrupted, { lr: 0.02, weightDecay: 0.1 });
    for (let i = 0; i < 3; i++) step(uninterrupted, optimizer);
    const saved = JSON.parse(JSON.stringify(optimizer.stateDict())) as ReturnType<AdamW['stateDict']>;
    const resumed = parameters();
    resumed.forEach((p, i) => p.storage.set(uninterrupted[i].storage));
    const loaded = new AdamW(resumed, {});
    loaded.loadStateDict(saved);
    for (let i = 0; i < 3; i++) {
      step(uninterrupted, optimizer);
      step(resumed, loaded);
    }
    expect(bits(resumed)).toEqual(bits(uninterrupted));
    expect(loaded.stateDict()).toEqual(optimizer.stateDict());
  });

  it('follows the reference backend\'s run within float32 rounding', () => {
    const viaWasm = parameters();
    const viaReference = parameters();
    const a = new AdamW(viaWasm, { lr: 0.02, weightDecay: 0.1 });
    const b = new AdamW(viaReference, { lr: 0.02, weightDecay: 0.1 });
    for (let i = 0; i < 5; i++) {
      step(viaWasm, a);
      setBackendEnabled(WASM, false);
      step(viaReference, b);
      setBackendEnabled(WASM, true);
    }
    const expected = bits(viaReference).flat();
    bits(viaWasm).flat().forEach((x, i) => expect(Math.abs(x - expected[i])).toBeLessThan(1e-6 * Math.max(1, Math.abs(expected[i]))));
  });
});
