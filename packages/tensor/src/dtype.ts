import { DTypeError } from './errors.js';

/** The element types a tensor can hold. */
export type DType = 'float32' | 'float64' | 'int32';
/** The dtypes that can require a gradient and that float-only ops (exp, conv2d, …) accept. */
export type FloatDType = 'float32' | 'float64';

/** The storage of a tensor of any {@link DType}. */
export type TypedArray = Float32Array | Float64Array | Int32Array;
/** The storage of a float tensor. */
export type FloatArray = Float32Array | Float64Array;

export type TypedArrayFor<D extends DType> = D extends 'float32'
  ? Float32Array
  : D extends 'float64'
    ? Float64Array
    : Int32Array;

export function allocate(dtype: DType, length: number): TypedArray {
  switch (dtype) {
    case 'float32':
      return new Float32Array(length);
    case 'float64':
      return new Float64Array(length);
    case 'int32':
      return new Int32Array(length);
  }
}

export function dtypeOfArray(array: TypedArray): DType {
  if (array instanceof Float32Array) return 'float32';
  if (array instanceof Float64Array) return 'float64';
  return 'int32';
}

/** True for float32 and float64. */
export function isFloatDType(dtype: DType): dtype is FloatDType {
  return dtype !== 'int32';
}

/**
 * The dtype of a binary op's result, as PyTorch promotes: float64 beats float32 beats int32.
 * A JS number operand is "weak": it takes the tensor's dtype unless it is fractional and the
 * tensor holds integers.
 */
export function promoteTypes(a: DType, b: DType): DType {
  if (a === 'float64' || b === 'float64') return 'float64';
  if (a === 'float32' || b === 'float32') return 'float32';
  return 'int32';
}

/** Throws a DTypeError naming `op` and `what` (the argument) unless `dtype` is float32 or float64. */
export function assertFloat(op: string, dtype: DType, what = 'input'): asserts dtype is FloatDType {
  if (!isFloatDType(dtype)) {
    throw new DTypeError(`${op}: ${what} must be float32 or float64, got ${dtype}`);
  }
}
