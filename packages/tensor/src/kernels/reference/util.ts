import ndarray from 'ndarray';
import ops from 'ndarray-ops';
import { allocate, type DType, type FloatArray, type TypedArray } from '../../dtype.js';
import { DTypeError } from '../../errors.js';
import { Tensor } from '../../tensor.js';
import { toNdarray } from '../../ndarray.js';

export const REFERENCE = 'reference';

/** A contiguous copy of `x` (any strides) in `dtype`, written by ndarray-ops' strided assign. */
export function castContiguous(x: Tensor, dtype: DType): Tensor {
  const out = Tensor.empty(x.shape, dtype);
  if (x.size === 0) return out;
  ops.assign(ndarray(out.storage, [...out.shape]), toNdarray(x));
  return out;
}

/** The elements of `x` in row-major order: the storage itself when already laid out so, else a copy. */
export function rowMajor(x: Tensor): TypedArray {
  if (x.isContiguous()) {
    return x.offset === 0 && x.storage.length === x.size ? x.storage : x.storage.subarray(x.offset, x.offset + x.size);
  }
  return castContiguous(x, x.dtype).storage;
}

export function rowMajorFloat(op: string, x: Tensor): FloatArray {
  const data = rowMajor(x);
  if (data instanceof Int32Array) throw new DTypeError(`${op}: expected a float tensor, got int32`);
  return data;
}

export function emptyLike(x: Tensor, shape: readonly number[] = x.shape): Tensor {
  return new Tensor(allocate(x.dtype, shape.reduce((a, b) => a * b, 1)), shape);
}
