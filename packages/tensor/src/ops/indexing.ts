import { ShapeError, DTypeError } from '../errors.js';
import { runKernel } from '../registry.js';
import { formatShape, normalizeAxis } from '../shape.js';
import { recordOp } from '../tape.js';
import type { Tensor } from '../tensor.js';

/**
 * Picks positions along `axis`; a position of -1 yields `fill`. The shared gather behind
 * indexSelect, pad and roll. Backward: IndexAdd, the adjoint scatter.
 */
export function selectAlongAxis(op: string, x: Tensor, axis: number, positions: Int32Array, fill = 0): Tensor {
  const size = x.shape[axis];
  const out = runKernel('IndexSelect', x, axis, positions, fill);
  return recordOp(op, out, [x], (g) => [runKernel('IndexAdd', g, axis, positions, size)], { axis, positions, fill });
}

function toIndexArray(op: string, index: Tensor | readonly number[] | Int32Array): Int32Array {
  if (index instanceof Int32Array) return index;
  if (Array.isArray(index)) return Int32Array.from(index as number[]);
  const t = index as Tensor;
  if (t.dtype !== 'int32') throw new DTypeError(`${op}: index must be int32, got ${t.dtype}`);
  if (t.ndim > 1) throw new ShapeError(`${op}: index must be 0-d or 1-d, got ${formatShape(t.shape)}`);
  return t.toTypedArray() as Int32Array;
}

/** torch.index_select: the slices of x at `index` along `dim`. */
export function indexSelect(x: Tensor, dim: number, index: Tensor | readonly number[] | Int32Array): Tensor {
  const axis = normalizeAxis('indexSelect', dim, x.ndim);
  const positions = toIndexArray('indexSelect', index);
  const size = x.shape[axis];
  const bad = positions.find((p) => p < 0 || p >= size);
  if (bad !== undefined) {
    throw new ShapeError(`indexSelect: index ${bad} is out of range for dim ${dim} of size ${size} (shape ${formatShape(x.shape)})`);
  }
  return selectAlongAxis('indexSelect', x, axis, positions);
}

/** torch.gather: out[i][j][k] = x[i][index[i][j][k]][k] for dim 1; the output has index's shape. */
export function gather(x: Tensor, dim: number, index: Tensor): Tensor {
  const axis = normalizeAxis('gather', dim, x.ndim);
  if (index.dtype !== 'int32') throw new DTypeError(`gather: index must be int32, got ${index.dtype}`);
  if (index.ndim !== x.ndim || index.shape.some((d, i) => i !== axis && d > x.shape[i])) {
    throw new ShapeError(
      `gather: index ${formatShape(index.shape)} must have the dims of input ${formatShape(x.shape)} and be no larger outside dim ${dim}`,
    );
  }
  const size = x.shape[axis];
  const bad = (index.toTypedArray() as Int32Array).find((p) => p < 0 || p >= size);
  if (bad !== undefined) throw new ShapeError(`gather: index ${bad} is out of range for dim ${dim} of size ${size}`);
  const inputShape = x.shape;
  const out = runKernel('Gather', x, axis, index);
  return recordOp('gather', out, [x], (g) => [runKernel('ScatterAdd', g, axis, index, inputShape)]);
}
