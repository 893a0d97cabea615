import { promoteTypes } from '../dtype.js';
import { ShapeError } from '../errors.js';
import { runKernel } from '../registry.js';
import { formatShape, normalizeAxis } from '../shape.js';
import { recordOp } from '../tape.js';
import type { Tensor } from '../tensor.js';
import { cast } from './cast.js';
import { slice, unsqueeze } from './views.js';

/** torch.cat: joins along `dim`; every other dim must agree. Dtypes promote. */
export function concat(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new ShapeError('concat: expected at least one tensor');
  const first = tensors[0];
  const axis = normalizeAxis('concat', dim, first.ndim);
  for (const t of tensors) {
    if (t.ndim !== first.ndim || t.shape.some((d, i) => i !== axis && d !== first.shape[i])) {
      throw new ShapeError(
        `concat: shapes ${tensors.map((s) => formatShape(s.shape)).join(', ')} differ outside dim ${dim}`,
      );
    }
  }
  const dtype = tensors.map((t) => t.dtype).reduce(promoteTypes);
  const inputs = tensors.map((t) => cast(t, dtype));
  const out = runKernel('Concat', inputs, axis);
  const sizes = inputs.map((t) => t.shape[axis]);
  return recordOp('concat', out, inputs, (g) => {
    let at = 0;
    return sizes.map((size) => slice(g, axis, at, (at += size)));
  }, { axis });
}

/** torch.stack: joins along a new dim. */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  if (tensors.length === 0) throw new ShapeError('stack: expected at least one tensor');
  const axis = normalizeAxis('stack', dim, tensors[0].ndim + 1);
  for (const t of tensors) {
    if (formatShape(t.shape) !== formatShape(tensors[0].shape)) {
      throw new ShapeError(`stack: all shapes must be equal, got ${tensors.map((s) => formatShape(s.shape)).join(', ')}`);
    }
  }
  return concat(tensors.map((t) => unsqueeze(t, axis)), axis);
}

/**
 * torch.split: views of `splitSize` along `dim` (the last may be smaller), or of the listed sizes.
 */
export function split(x: Tensor, splitSize: number | readonly number[], dim = 0): Tensor[] {
  const axis = normalizeAxis('split', dim, x.ndim);
  const size = x.shape[axis];
  let sizes: number[];
  if (typeof splitSize === 'number') {
    if (!Number.isInteger(splitSize) || splitSize <= 0) throw new ShapeError(`split: size must be a positive integer, got ${splitSize}`);
    sizes = [];
    for (let at = 0; at < size; at += splitSize) sizes.push(Math.min(splitSize, size - at));
  } else {
    sizes = [...splitSize];
    if (sizes.reduce((a, b) => a + b, 0) !== size) {
      throw new ShapeError(`split: sizes [${sizes.join(', ')}] do not sum to dim ${dim} of size ${size}`);
    }
  }
  let at = 0;
  return sizes.map((s) => slice(x, axis, at, (at += s)));
}

/** torch.chunk: `chunks` views of ⌈size / chunks⌉ along `dim` (fewer when it does not divide). */
export function chunk(x: Tensor, chunks: number, dim = 0): Tensor[] {
  if (!Number.isInteger(chunks) || chunks <= 0) throw new ShapeError(`chunk: chunks must be a positive integer, got ${chunks}`);
  const axis = normalizeAxis('chunk', dim, x.ndim);
  return split(x, Math.max(1, Math.ceil(x.shape[axis] / chunks)), axis);
}
