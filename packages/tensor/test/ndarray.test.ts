import ndarray from 'ndarray';
import ops from 'ndarray-ops';
import { describe, expect, it } from 'vitest';
import * as P from '../src/index';

describe('scijs ndarray interop', () => {
  it('toNdarray is a zero-copy view with the same strides, also for flipped and transposed tensors', () => {
    const t = P.arange(6, undefined, 1, { dtype: 'float32' }).reshape(2, 3).transpose(0, 1).flip(0);
    const a = P.toNdarray(t);
    expect(a.data).toBe(t.storage);
    expect(a.shape).toEqual([3, 2]);
    expect(a.get(0, 1)).toBe(5);
    a.set(0, 0, 42);
    expect(t.toArray()).toEqual([[42, 5], [1, 4], [0, 3]]);
  });

  it('fromNdarray wraps without copying, and ndarray-ops work on the result', () => {
    const a = ndarray(new Float64Array([1, 2, 3, 4]), [2, 2]);
    const t = P.fromNdarray(a.transpose(1, 0));
    expect(t.storage).toBe(a.data);
    expect(t.toArray()).toEqual([[1, 3], [2, 4]]);
    ops.mulseq(P.toNdarray(t), 10);
    expect(Array.from(a.data)).toEqual([10, 20, 30, 40]);
  });

  it('refuses ndarrays over plain arrays', () => {
    expect(() => P.fromNdarray(ndarray([1, 2, 3] as unknown as Float64Array))).toThrow(/fromNdarray: data must be a Float32Array, Float64Array or Int32Array, got Array/);
  });
});
