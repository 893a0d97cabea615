import { ShapeError } from '../errors.js';
import { runKernel } from '../registry.js';
import { contiguousStrides, formatShape, normalizeAxes, normalizeAxis, sizeOf, sizesFromArgs, type Shape } from '../shape.js';
import { recordOp } from '../tape.js';
import { Tensor } from '../tensor.js';
import { contiguous } from './cast.js';
import { sumToShape } from './reduce.js';

/**
 * Zero-copy views: a new shape, strides and offset over the same storage, each with its backward.
 */

function view(
  opName: string, x: Tensor, shape: Shape, strides: readonly number[], offset: number,
  backward: (g: Tensor) => Tensor, attrs?: Record<string, unknown>,
): Tensor {
  const out = new Tensor(x.storage, shape, strides, offset);
  return recordOp(opName, out, [x], (g) => [backward(g)], attrs);
}

/**
 * Strides that let `newShape` view memory laid out as (oldShape, oldStrides), or null when a copy
 * is needed (PyTorch's computeStride: each run of merged dims must be contiguous in itself).
 */
function viewStrides(oldShape: Shape, oldStrides: readonly number[], newShape: Shape): number[] | null {
  if (sizeOf(oldShape) === 0 || oldShape.length === 0) return contiguousStrides(newShape);
  const newStrides = new Array<number>(newShape.length);
  let viewDim = newShape.length - 1;
  let chunkBaseStride = oldStrides[oldStrides.length - 1];
  let tensorNumel = 1;
  let viewNumel = 1;
  for (let d = oldShape.length - 1; d >= 0; d--) {
    tensorNumel *= oldShape[d];
    if (d === 0 || (oldShape[d - 1] !== 1 && oldStrides[d - 1] !== tensorNumel * chunkBaseStride)) {
      while (viewDim >= 0 && (viewNumel < tensorNumel || newShape[viewDim] === 1)) {
        newStrides[viewDim] = viewNumel * chunkBaseStride;
        viewNumel *= newShape[viewDim];
        viewDim--;
      }
      if (viewNumel !== tensorNumel) return null;
      if (d > 0) {
        chunkBaseStride = oldStrides[d - 1];
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  return viewDim === -1 ? newStrides : null;
}

/** Resolves one -1 in a requested shape against `size`. */
function inferShape(op: string, requested: Shape, x: Tensor): number[] {
  const free = requested.filter((d) => d === -1).length;
  if (free > 1 || requested.some((d) => !Number.isInteger(d) || d < -1)) {
    throw new ShapeError(`${op}: invalid shape ${formatShape(requested)} (at most one -1, others non-negative integers)`);
  }
  const known = requested.reduce((n, d) => (d === -1 ? n : n * d), 1);
  const shape = requested.map((d) => (d === -1 ? (known === 0 ? 0 : x.size / known) : d));
  if (sizeOf(shape) !== x.size || !shape.every(Number.isInteger)) {
    throw new ShapeError(`${op}: shape ${formatShape(requested)} is invalid for input of shape ${formatShape(x.shape)} (${x.size} elements)`);
  }
  return shape;
}

/**
 * A view of the new shape when the strides allow it, else a contiguous copy reshaped. The shape
 * comes as separate sizes, `reshape(x, 2, -1)`, or as one array, `reshape(x, [2, -1])`; one size
 * may be -1, inferred from the others.
 */
export function reshape(x: Tensor, ...shape: number[]): Tensor;
export function reshape(x: Tensor, shape: Shape): Tensor;
export function reshape(x: Tensor, ...args: (number | Shape)[]): Tensor {
  const target = inferShape('reshape', sizesFromArgs('reshape', 'sizes', args), x);
  const strides = viewStrides(x.shape, x.strides, target);
  const source = strides ? x : contiguous(x);
  const inputShape = x.shape;
  return view('reshape', source, target, strides ?? contiguousStrides(target), source.offset, (g) => reshape(g, inputShape));
}

/** torch.flatten: dims startDim…endDim (all by default) merged into one; a 0-d tensor becomes [1]. A view when the strides allow. */
export function flatten(x: Tensor, startDim = 0, endDim = -1): Tensor {
  if (x.ndim === 0) return reshape(x, [1]);
  const start = normalizeAxis('flatten', startDim, x.ndim);
  const end = normalizeAxis('flatten', endDim, x.ndim);
  if (start > end) throw new ShapeError(`flatten: startDim ${startDim} comes after endDim ${endDim} for shape ${formatShape(x.shape)}`);
  const merged = x.shape.slice(start, end + 1).reduce((a, b) => a * b, 1);
  return reshape(x, [...x.shape.slice(0, start), merged, ...x.shape.slice(end + 1)]);
}

/**
 * Reorders the dims as a view: `permute(x, 2, 0, 1)` or `permute(x, [2, 0, 1])`, every dim once
 * (negative dims count from the end).
 */
export function permute(x: Tensor, ...dims: number[]): Tensor;
export function permute(x: Tensor, dims: readonly number[]): Tensor;
export function permute(x: Tensor, ...args: (number | readonly number[])[]): Tensor {
  const dims = sizesFromArgs('permute', 'dims', args);
  const order = dims.map((d) => normalizeAxis('permute', d, x.ndim));
  if (order.length !== x.ndim || new Set(order).size !== order.length) {
    throw new ShapeError(`permute: dims [${dims.join(', ')}] are not a permutation of the ${x.ndim} dims of shape ${formatShape(x.shape)}`);
  }
  const inverse = new Array<number>(order.length);
  order.forEach((d, i) => (inverse[d] = i));
  return view('permute', x, order.map((d) => x.shape[d]), order.map((d) => x.strides[d]), x.offset, (g) => permute(g, inverse), { perm: order });
}

/** torch.transpose: dims `dim0` and `dim1` swapped, as a view (negative dims count from the end). */
export function transpose(x: Tensor, dim0: number, dim1: number): Tensor {
  const a = normalizeAxis('transpose', dim0, x.ndim);
  const b = normalizeAxis('transpose', dim1, x.ndim);
  const order = x.shape.map((_, i) => (i === a ? b : i === b ? a : i));
  return permute(x, order);
}

/** Removes size-1 dims: all of them, or only `dim` (a no-op when that dim is not 1, as in PyTorch). */
export function squeeze(x: Tensor, dim?: number): Tensor {
  const drop = dim === undefined ? x.shape.map((d) => d === 1) : x.shape.map((d, i) => i === normalizeAxis('squeeze', dim, x.ndim) && d === 1);
  const inputShape = x.shape;
  return view(
    'squeeze', x,
    x.shape.filter((_, i) => !drop[i]), x.strides.filter((_, i) => !drop[i]), x.offset,
    (g) => reshape(g, inputShape),
  );
}

/** torch.unsqueeze: a size-1 dim inserted at `dim` (in −(ndim + 1) … ndim; −1 appends), as a view. */
export function unsqueeze(x: Tensor, dim: number): Tensor {
  const at = normalizeAxis('unsqueeze', dim, x.ndim + 1);
  const shape = [...x.shape];
  const strides = [...x.strides];
  shape.splice(at, 0, 1);
  strides.splice(at, 0, at < x.ndim ? x.strides[at] * x.shape[at] : 1);
  const inputShape = x.shape;
  return view('unsqueeze', x, shape, strides, x.offset, (g) => reshape(g, inputShape));
}

/**
 * Broadcasts to a shape with stride 0 along the new or size-1 dims, as a view. The shape comes as
 * separate sizes, `expand(x, 4, -1, 3)`, or as one array, `expand(x, [4, -1, 3])`; -1 keeps an
 * existing dim.
 */
export function expand(x: Tensor, ...shape: number[]): Tensor;
export function expand(x: Tensor, shape: Shape): Tensor;
export function expand(x: Tensor, ...args: (number | Shape)[]): Tensor {
  const shape = sizesFromArgs('expand', 'sizes', args);
  if (shape.length < x.ndim) {
    throw new ShapeError(`expand: target ${formatShape(shape)} has fewer dims than the input ${formatShape(x.shape)}`);
  }
  const lead = shape.length - x.ndim;
  const target: number[] = [];
  const strides: number[] = [];
  shape.forEach((d, i) => {
    if (d < -1 || (d === -1 && i < lead)) {
      throw new ShapeError(`expand: invalid size ${d} at dim ${i} of ${formatShape(shape)} (sizes are non-negative; -1 only keeps an existing dim)`);
    }
    const own = i >= lead ? x.shape[i - lead] : 1;
    const size = d === -1 && i >= lead ? own : d;
    if (own !== size && own !== 1) {
      throw new ShapeError(`expand: cannot expand shape ${formatShape(x.shape)} to ${formatShape(shape)} (dim ${i}: ${own} vs ${size})`);
    }
    target.push(size);
    strides.push(i >= lead && own === size ? x.strides[i - lead] : 0);
  });
  const inputShape = x.shape;
  if (target.length === x.ndim && target.every((d, i) => d === x.shape[i])) return x;
  return view('expand', x, target, strides, x.offset, (g) => sumToShape(g, inputShape));
}

/**
 * Reverses the order along some dims, as a view with negative strides: `flip(x, 0, 1)` or
 * `flip(x, [0, 1])`.
 */
export function flip(x: Tensor, ...dims: number[]): Tensor;
export function flip(x: Tensor, dims: readonly number[]): Tensor;
export function flip(x: Tensor, ...args: (number | readonly number[])[]): Tensor {
  const axes = normalizeAxes('flip', sizesFromArgs('flip', 'dims', args), x.ndim);
  let offset = x.offset;
  const strides = x.strides.map((s, i) => {
    if (!axes.includes(i)) return s;
    if (x.shape[i] > 0) offset += (x.shape[i] - 1) * s;
    return -s;
  });
  return view('flip', x, x.shape, strides, offset, (g) => flip(g, axes), { axes });
}

interface SliceRange { start: number; length: number; step: number }

function sliceRange(x: Tensor, axis: number, start: number | undefined, end: number | undefined, step: number): SliceRange {
  if (!Number.isInteger(step) || step <= 0) throw new ShapeError(`slice: step must be a positive integer, got ${step}`);
  const size = x.shape[axis];
  const clampIndex = (i: number): number => Math.min(Math.max(i < 0 ? i + size : i, 0), size);
  const s = clampIndex(start ?? 0);
  const e = clampIndex(end ?? size);
  return { start: s, length: e > s ? Math.ceil((e - s) / step) : 0, step };
}

function sliceView(x: Tensor, axis: number, r: SliceRange): Tensor {
  const shape = x.shape.map((d, i) => (i === axis ? r.length : d));
  const strides = x.strides.map((s, i) => (i === axis ? s * r.step : s));
  return new Tensor(x.storage, shape, strides, x.offset + r.start * x.strides[axis]);
}

/** x[..., start:end:step, ...] along `dim`, like Python slicing (negative indices count from the end). */
export function slice(x: Tensor, dim: number, start?: number, end?: number, step = 1): Tensor {
  const axis = normalizeAxis('slice', dim, x.ndim);
  const range = sliceRange(x, axis, start, end, step);
  const out = sliceView(x, axis, range);
  const inputShape = x.shape;
  return recordOp('slice', out, [x], (g) => [runKernel('SliceGrad', g, inputShape, axis, range.start, range.step)], { axis, start: range.start, length: range.length, step: range.step });
}

/** x[..., index, ...] along `dim`, dropping that dim. */
export function select(x: Tensor, dim: number, index: number): Tensor {
  const axis = normalizeAxis('select', dim, x.ndim);
  const size = x.shape[axis];
  if (!Number.isInteger(index) || index < -size || index >= size) {
    throw new ShapeError(`select: index ${index} is out of range for dim ${dim} of size ${size}`);
  }
  const i = index < 0 ? index + size : index;
  return squeeze(slice(x, axis, i, i + 1), axis);
}
