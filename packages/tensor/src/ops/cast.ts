import { isFloatDType, type DType } from '../dtype.js';
import { runKernel } from '../registry.js';
import { recordOp } from '../tape.js';
import type { Tensor } from '../tensor.js';

/**
 * A copy of `x` in `dtype` (x itself when the dtype already matches, unless `copy`). The gradient
 * flows back cast to x's dtype; casts to int32 cut the graph, as in PyTorch.
 */
export function cast(x: Tensor, dtype: DType, copy = false): Tensor {
  if (x.dtype === dtype && !copy) return x;
  const out = runKernel('Cast', x, dtype);
  if (!isFloatDType(dtype)) return out;
  const inputDType = x.dtype;
  return recordOp('cast', out, [x], (g) => [cast(g, inputDType)], { dtype });
}

/** `x` if already row-major contiguous, else a contiguous copy. */
export function contiguous(x: Tensor): Tensor {
  if (x.isContiguous()) return x;
  const out = runKernel('Cast', x, x.dtype);
  return recordOp('contiguous', out, [x], (g) => [g]);
}
