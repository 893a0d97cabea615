import ndarray, { type NdArray } from 'ndarray';
import { DTypeError } from './errors.js';
import type { TypedArray } from './dtype.js';
import { Tensor } from './tensor.js';

/** A zero-copy scijs `ndarray` view of a tensor: same storage, shape, strides and offset. */
export function toNdarray(t: Tensor): NdArray<TypedArray> {
  return ndarray(t.storage, [...t.shape], [...t.strides], t.offset);
}

/** A zero-copy tensor over an `ndarray` whose data is a Float32Array, Float64Array or Int32Array. */
export function fromNdarray(a: NdArray): Tensor {
  const data: unknown = a.data;
  if (!(data instanceof Float32Array || data instanceof Float64Array || data instanceof Int32Array)) {
    const kind = (data as object | null)?.constructor?.name ?? typeof data;
    throw new DTypeError(`fromNdarray: data must be a Float32Array, Float64Array or Int32Array, got ${kind}`);
  }
  return new Tensor(data, a.shape, a.stride, a.offset);
}
