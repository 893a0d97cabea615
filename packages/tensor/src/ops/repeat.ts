import { ShapeError } from '../errors.js';
import { formatShape, sizesFromArgs, type Shape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { cast } from './cast.js';
import { expand, reshape } from './views.js';

/**
 * torch.Tensor.repeat and torch.tile: copies of the input laid side by side along each dim. Written
 * with views (a size-1 dim before each dim, expanded to the repeat count, then merged by a copying
 * reshape), so their backward is the views' own: the copies' gradients summed.
 */

function repeatSizes(op: string, x: Tensor, repeats: readonly number[]): Tensor {
  if (repeats.length < x.ndim) {
    throw new ShapeError(`${op}: ${repeats.length} repeat counts ${formatShape(repeats)} are fewer than the ${x.ndim} dims of shape ${formatShape(x.shape)}`);
  }
  if (repeats.some((r) => r < 0)) throw new ShapeError(`${op}: repeat counts ${formatShape(repeats)} must be non-negative`);
  // x: [d0, …] → [1, d0, 1, d1, …] → [r0, d0, r1, d1, …] → [r0·d0, r1·d1, …]
  const padded = [...new Array<number>(repeats.length - x.ndim).fill(1), ...x.shape];
  const spread = expand(reshape(x, padded.flatMap((d) => [1, d])), padded.flatMap((d, i) => [repeats[i], d]));
  const out = reshape(spread, padded.map((d, i) => d * repeats[i]));
  // With every count 1 the reshapes stay views; repeat always copies, as in PyTorch.
  return out.storage === x.storage ? cast(out, out.dtype, true) : out;
}

/**
 * Repeats `x` along each dim, like torch.Tensor.repeat: `repeat(x, 2, 3)` or `repeat(x, [2, 3])`.
 * There are at least as many counts as dims; extra counts add leading dims.
 */
export function repeat(x: Tensor, ...repeats: number[]): Tensor;
export function repeat(x: Tensor, repeats: Shape): Tensor;
export function repeat(x: Tensor, ...args: (number | Shape)[]): Tensor {
  return repeatSizes('repeat', x, sizesFromArgs('repeat', 'sizes', args));
}

/**
 * Repeats `x` along each dim, like torch.tile: `tile(x, 2, 3)` or `tile(x, [2, 3])`. Unlike
 * repeat, fewer counts than dims are allowed: the counts apply to the last dims.
 */
export function tile(x: Tensor, ...dims: number[]): Tensor;
export function tile(x: Tensor, dims: Shape): Tensor;
export function tile(x: Tensor, ...args: (number | Shape)[]): Tensor {
  const counts = sizesFromArgs('tile', 'sizes', args);
  return repeatSizes('tile', x, [...new Array<number>(Math.max(0, x.ndim - counts.length)).fill(1), ...counts]);
}
