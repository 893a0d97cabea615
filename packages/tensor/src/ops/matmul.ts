import { assertFloat } from '../dtype.js';
import { DTypeError, ShapeError } from '../errors.js';
import { runKernel } from '../registry.js';
import { broadcastShapes, formatShape, sizeOf } from '../shape.js';
import { recordOp } from '../tape.js';
import type { Tensor } from '../tensor.js';
import { sumToShape } from './reduce.js';
import { expand, reshape, squeeze, unsqueeze } from './views.js';

/**
 * The batched product of two 3-D tensors a: [Ba, M, K], b: [Bb, K, N] with Ba, Bb equal or 1.
 * Backward: da = g · bᵀ, db = aᵀ · g (the BatchMatMul kernel's transpose flags, no copies),
 * summed over the batch where an operand was shared.
 */
function batchMatMul(a: Tensor, b: Tensor): Tensor {
  const out = runKernel('BatchMatMul', a, b, false, false);
  return recordOp('matmul', out, [a, b], (g) => [
    sumToShape(runKernel('BatchMatMul', g, b, false, true), a.shape),
    sumToShape(runKernel('BatchMatMul', a, g, true, false), b.shape),
  ]);
}

/** As a 3-D [B, rows, cols] tensor: B = 1 when the batch dims are all 1, else the full broadcast batch. */
function asBatched(x: Tensor, batchShape: readonly number[]): Tensor {
  const batch = x.shape.slice(0, -2);
  const [rows, cols] = x.shape.slice(-2);
  if (sizeOf(batch) === 1) return reshape(x, [1, rows, cols]);
  return reshape(expand(x, [...batchShape, rows, cols]), [sizeOf(batchShape), rows, cols]);
}

/**
 * torch.matmul: 1-D operands are promoted to a row / column and squeezed back; leading dims are
 * batch dims that broadcast.
 */
export function matmul(a: Tensor, b: Tensor): Tensor {
  assertFloat('matmul', a.dtype, 'first operand');
  assertFloat('matmul', b.dtype, 'second operand');
  if (a.dtype !== b.dtype) {
    throw new DTypeError(`matmul: operands must share a dtype, got ${a.dtype} ${formatShape(a.shape)} and ${b.dtype} ${formatShape(b.shape)}`);
  }
  if (a.ndim === 0 || b.ndim === 0) {
    throw new ShapeError(`matmul: both operands need at least 1 dim, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  }
  const a2 = a.ndim === 1 ? unsqueeze(a, 0) : a;
  const b2 = b.ndim === 1 ? unsqueeze(b, 1) : b;
  const [m, k] = a2.shape.slice(-2);
  const [k2, n] = b2.shape.slice(-2);
  if (k !== k2) {
    throw new ShapeError(
      `matmul: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} cannot be multiplied (${k} columns vs ${k2} rows)`,
    );
  }
  const batchShape = broadcastShapes('matmul (batch dims)', a2.shape.slice(0, -2), b2.shape.slice(0, -2));
  const product = batchMatMul(asBatched(a2, batchShape), asBatched(b2, batchShape));
  let out = reshape(product, [...batchShape, m, n]);
  if (b.ndim === 1) out = squeeze(out, -1);
  if (a.ndim === 1) out = squeeze(out, a.ndim === 1 && b.ndim === 1 ? 0 : -2);
  return out;
}
