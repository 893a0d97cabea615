import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { AdamW, crossEntropy, ModelEma } from '@parcnet/nn';
import {
  conv2d, DisposedTensorError, manualSeed, memoryStats, models, noGrad, randint, randn, resetWasmHeapPeak, tidy, wasmHeapStats,
  type Tensor,
} from 'parcnet';

// A full collection on demand, to show that nothing is left for the safety net.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** A small ParC-Net (the real blocks, narrow widths), as benchmarks/memory.ts trains. */
function smallParcNet(): models.ParcNet {
  const stage = (c: number, k: number): models.ParcNetScale['stages'][number] => ({ channels: c, spatial: 16, ffn: 32, blocks: 1, metaKernel: k });
  return new models.ParcNet(
    { stem: { channels: 8, kernel: 3 }, layer1: 8, layer2: 16, stages: [stage(16, 8), stage(16, 4), stage(16, 2)], fusion: 'add' },
    { numClasses: 10, cifarStem: true },
  );
}

function trainSteps(steps: number, scoped: boolean): { parameters: Float32Array[]; live: number[]; heap: number[]; peaks: number[] } {
  manualSeed(0);
  const model = smallParcNet();
  const optimizer = new AdamW(model.parameters(), { lr: 1e-3 });
  const x = randn([8, 3, 16, 16], { seed: 1 });
  const y = randint(0, 10, [8], { seed: 2 });
  const live: number[] = [];
  const heap: number[] = [];
  const peaks: number[] = [];
  for (let i = 0; i < steps; i++) {
    resetWasmHeapPeak();
    const step = (): number => {
      optimizer.zeroGrad();
      const loss = crossEntropy(model.forward(x), y);
      loss.backward();
      optimizer.step();
      return loss.item();
    };
    if (scoped) tidy(step);
    else step();
    const stats = wasmHeapStats();
    live.push(stats.liveBytes);
    heap.push(stats.heapBytes);
    peaks.push(stats.peakLiveBytes);
  }
  return { parameters: model.parameters().map((p) => Float32Array.from(p.toTypedArray())), live, heap, peaks };
}

describe('deterministic memory of a training step', () => {
  it('a step in tidy gives back everything but the gradients it keeps: live bytes, peak and heap stay flat, nothing is left to the collector', () => {
    const freedBefore = wasmHeapStats().tensorBlocksFreed;
    const { live, heap, peaks } = trainSteps(6, true);
    // After the first step the same bytes are live, the same peak is reached and the heap does not grow.
    for (let i = 2; i < live.length; i++) {
      expect(live[i]).toBe(live[1]);
      expect(peaks[i]).toBe(peaks[1]);
      expect(heap[i]).toBe(heap[1]);
    }
    gc();
    expect(wasmHeapStats().tensorBlocksFreed).toBe(freedBefore);
  });

  it('gives the same numbers as a step without a scope, bit for bit', () => {
    const scoped = trainSteps(3, true).parameters;
    const unscoped = trainSteps(3, false).parameters;
    expect(scoped.length).toBe(unscoped.length);
    scoped.forEach((p, i) => expect(p).toEqual(unscoped[i]));
  });

  it('parameters, optimiser state, batch-norm buffers and the EMA survive the step\'s scope', () => {
    manualSeed(0);
    const model = smallParcNet();
    const ema = new ModelEma(model, smallParcNet(), { momentum: 0.5 });
    const optimizer = new AdamW(model.parameters(), { lr: 1e-3 });
    const x = randn([4, 3, 16, 16], { seed: 7 });
    const y = randint(0, 10, [4], { seed: 8 });
    for (let i = 0; i < 2; i++) {
      tidy(() => {
        optimizer.zeroGrad();
        crossEntropy(model.forward(x), y).backward();
        optimizer.step();
        ema.update();
      });
    }
    const everything = [...Object.values(model.stateDict()), ...Object.values(ema.model.stateDict())];
    for (const t of everything) expect(t.isDisposed).toBe(false);
    for (const t of everything) expect(t.toTypedArray().every(Number.isFinite)).toBe(true);
    expect(JSON.stringify(optimizer.stateDict())).not.toMatch(/null/);
    // And the EMA model still runs: none of its weights or buffers was taken by the scopes.
    expect(noGrad(() => tidy(() => ema.model.forward(x).toTypedArray())).every(Number.isFinite)).toBe(true);
  });

  it('backward gives intermediate gradients back as it consumes them, while the activations stay', () => {
    const model = smallParcNet();
    const x = randn([4, 3, 16, 16], { seed: 3 });
    const y = randint(0, 10, [4], { seed: 4 });
    tidy(() => {
      const loss = crossEntropy(model.forward(x), y);
      const before = memoryStats().released;
      loss.backward();
      // Dozens of layers, each handing on at least one gradient block that goes back at once.
      expect(memoryStats().released - before).toBeGreaterThan(20);
      expect(loss.isDisposed).toBe(false);
      expect(Number.isFinite(loss.item())).toBe(true);
    });
  });

  it('a kernel output used after its scope throws, naming the op, from a kernel, a view and backward', () => {
    const x = randn([1, 4, 8, 8], { seed: 5 }).requiresGrad_();
    const w = randn([4, 4, 3, 3], { seed: 6 }).requiresGrad_();
    let escaped!: Tensor;
    let loss!: Tensor;
    tidy(() => {
      escaped = noGrad(() => conv2d(x, w, { padding: 1 }));
      loss = conv2d(conv2d(x, w, { padding: 1 }), w, { padding: 1 }).sum();
      return loss;
    });
    expect(escaped.isDisposed).toBe(true);
    expect(() => conv2d(escaped, w)).toThrow(DisposedTensorError);
    expect(() => conv2d(escaped, w)).toThrow(/made by conv2d/);
    expect(() => escaped.reshape(-1)).toThrow(/made by conv2d/);
    // The loss survived, but the activation its graph saved did not: backward says so instead of reading recycled memory.
    expect(() => loss.backward()).toThrow(/made by conv2d/);
  });
});
