import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { dropout, getKernel, Generator, ones, setBackendEnabled, type GeneratorWords } from '@parcnet/tensor';
import { WASM } from '../src/index';

// The WASM DropoutMask kernel is the reference's stream bit for bit: the same mask and the same
// state after it, for every length (the kernel takes four draws at a time, then single ones) and
// every threshold, 0 and 2³² (keep none, keep all) included.

const wasmKernel = getKernel('DropoutMask', WASM)!;
const referenceKernel = getKernel('DropoutMask', 'reference')!;

afterEach(() => setBackendEnabled(WASM, true));

const words = (seed: number): GeneratorWords => {
  const [s0, s1, s2, s3] = new Generator(seed).getState();
  return [s0, s1, s2, s3];
};

describe('DropoutMask: WASM equals the reference', () => {
  it('gives the identical mask and state on random lengths, shapes and thresholds', () => {
    expect(wasmKernel).toBeDefined();
    const threshold = fc.oneof(fc.constantFrom(0, 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32), fc.integer({ min: 0, max: 2 ** 32 }));
    fc.assert(fc.property(
      fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 4 }), threshold, fc.double({ min: 1, max: 100, noNaN: true }), fc.nat(),
      (shape, keepBelow, scale, seed) => {
        const state = words(seed);
        const w = wasmKernel(shape, keepBelow, scale, 'float32', state);
        const r = referenceKernel(shape, keepBelow, scale, 'float32', state);
        expect(w.mask.shape).toEqual(shape);
        expect(Array.from(w.mask.toTypedArray())).toEqual(Array.from(r.mask.toTypedArray()));
        expect(w.state).toEqual(r.state);
      }), { seed: 20261206, numRuns: 200 });
  });

  it('leaves the generator in the same state through dropout, and the next draws agree (lengths 1 … 9, 1001, 4099)', () => {
    for (const size of [1, 2, 3, 4, 5, 6, 7, 8, 9, 1001, 4099]) {
      const viaWasm = new Generator(size);
      const viaReference = new Generator(size);
      const a = dropout(ones([size]), 0.3, true, { generator: viaWasm });
      setBackendEnabled(WASM, false);
      const b = dropout(ones([size]), 0.3, true, { generator: viaReference });
      setBackendEnabled(WASM, true);
      expect(Array.from(a.toTypedArray())).toEqual(Array.from(b.toTypedArray()));
      expect(viaWasm.getState()).toEqual(viaReference.getState());
      expect([viaWasm.nextUint32(), viaWasm.nextUint32()]).toEqual([viaReference.nextUint32(), viaReference.nextUint32()]);
    }
  });
});
