import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { conv2d, getKernel, randn, Tensor } from '@parcnet/tensor';
import { noGrad } from '@parcnet/autograd';
import { WasmHeap } from '../src/heap';
import { heap, setWasmTensorLimit, wasmHeapStats } from '../src/runtime';
import '../src/index';

// A full collection on demand, as `node --expose-gc` gives, so the finalizer path can be tested.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const DEFAULT_LIMIT = heap.tensorLimit;

afterEach(() => setWasmTensorLimit(DEFAULT_LIMIT));

const inWasm = (t: Tensor): boolean => heap.pointerOf(t.storage) >= 0;

describe('tensor storage in wasm memory', () => {
  it('blocks cover the request plus slack, rounded up to 64 bytes', () => {
    for (const bytes of [1, 63, 64, 100, 4096, 5000, 65536, 3 * 2 ** 20 + 1]) {
      const size = WasmHeap.blockSize(bytes);
      expect(size).toBeGreaterThanOrEqual(bytes + 16);
      expect(size % 64).toBe(0);
      expect(size).toBeLessThan(Math.max(64, bytes + 16 + 64));
    }
  });

  it('a kernel output lives in wasm memory and the next kernel reads it in place, with the same numbers as copies', () => {
    const x = randn([2, 8, 9, 9], { seed: 1 });
    const w1 = randn([8, 8, 3, 3], { seed: 2 });
    const w2 = randn([4, 8, 1, 1], { seed: 3 });
    const resident = noGrad(() => conv2d(x, w1, { padding: 1 }));
    expect(inWasm(resident)).toBe(true);
    const twice = noGrad(() => conv2d(resident, w2));
    setWasmTensorLimit(0);
    const copied = noGrad(() => conv2d(x, w1, { padding: 1 }));
    expect(inWasm(copied)).toBe(false);
    expect(Array.from(copied.toTypedArray())).toEqual(Array.from(resident.toTypedArray()));
    expect(Array.from(noGrad(() => conv2d(copied, w2)).toTypedArray())).toEqual(Array.from(twice.toTypedArray()));
  });

  it('past the limit outputs are copied out (and still right)', () => {
    const x = randn([4, 16, 16, 16], { seed: 4 });
    const w = randn([16, 1, 3, 3], { seed: 5 });
    const reference = getKernel('Conv2D', 'reference')!(x, w, { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 16 });
    setWasmTensorLimit(wasmHeapStats().tensorBytes); // no room for one more
    const before = wasmHeapStats().copiedOut;
    const y = noGrad(() => conv2d(x, w, { padding: 1, groups: 16 }));
    expect(inWasm(y)).toBe(false);
    expect(wasmHeapStats().copiedOut).toBe(before + 1);
    const error = Array.from(y.toTypedArray()).reduce((m, v, i) => Math.max(m, Math.abs(v - reference.storage[i])), 0);
    expect(error).toBeLessThan(1e-5);
  });

  it('the block of a collected tensor goes back to the heap and is handed out again', async () => {
    const x = randn([1, 4, 32, 32], { seed: 6 });
    const w = randn([4, 1, 3, 3], { seed: 7 });
    const make = (): number => heap.pointerOf(noGrad(() => conv2d(x, w, { padding: 1, groups: 4 })).storage);
    const first = make();
    expect(first).toBeGreaterThan(0);
    const freedBefore = wasmHeapStats().tensorBlocksFreed;
    // The tensor is unreachable now; finalizers run after a collection, between tasks.
    for (let i = 0; i < 20 && wasmHeapStats().tensorBlocksFreed === freedBefore; i++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(wasmHeapStats().tensorBlocksFreed).toBeGreaterThan(freedBefore);
    const held = wasmHeapStats().tensorBytes;
    // Blocks of this size class are free again, so the heap does not grow for the next one.
    const heapBefore = wasmHeapStats().heapBytes;
    make();
    expect(wasmHeapStats().heapBytes).toBe(heapBefore);
    expect(wasmHeapStats().tensorBytes).toBeGreaterThan(held);
  });

  it('a kernel that throws gives its output block back', () => {
    const held = wasmHeapStats().tensorBytes;
    expect(() => heap.scoped(() => {
      heap.output(1000);
      expect(wasmHeapStats().tensorBytes).toBeGreaterThan(held);
      throw new Error('kernel failed');
    })).toThrow('kernel failed');
    expect(wasmHeapStats().tensorBytes).toBe(held);
  });
});
