import { assertFloat } from '../dtype.js';
import { ShapeError } from '../errors.js';
import type { ReduceKernelName } from '../kernel-names.js';
import { runKernel } from '../registry.js';
import { formatShape, formatValue, normalizeAxes, normalizeAxis } from '../shape.js';
import { recordOp, withGradMode } from '../tape.js';
import type { Tensor } from '../tensor.js';
import { cast } from './cast.js';
import { add, div, eq, filled, mul, sub, where } from './elementwise.js';
import { exp, log } from './unary.js';
import { expand, reshape } from './views.js';

/**
 * Reductions over any axes (all when `axes` is undefined), keeping them as size-1 dims with `keepdim`.
 * As PyTorch's `dim=`, the axes are one integer or one array of them (`sum(x, 1)`, `sum(x, [0, 2])`);
 * the argument after them is keepdim, so several axes cannot come as separate numbers.
 */

/**
 * The dims to reduce: one dim, an array of dims, or undefined for all (negative dims count from the end).
 * @inline
 */
type Axes = number | readonly number[] | undefined;

/** keepdim is the argument where a second axis would land by mistake (`sum(x, 0, 1)`). */
function assertKeepdim(op: string, keepdim: unknown): void {
  if (typeof keepdim !== 'boolean') {
    throw new ShapeError(`${op}: keepdim must be true or false, got ${formatValue(keepdim)} (several dims go in one array: ${op}(x, [0, 1]))`);
  }
}

function dropAxes(x: Tensor, axes: readonly number[], keepdim: boolean, kept: Tensor): Tensor {
  return keepdim ? kept : reshape(kept, x.shape.filter((_, i) => !axes.includes(i)));
}

/** Sums `g` down to `shape`, undoing a broadcast: leading dims and dims that were 1 are summed. */
export function sumToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (g.ndim === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.ndim - shape.length;
  const axes = g.shape.map((_, i) => i).filter((i) => i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1));
  const summed = axes.length > 0 ? runKernel('Sum', g, axes) : g;
  return reshape(summed, shape);
}

/** Σ over `axes`: one dim or an array of dims, all when omitted (torch.sum's `dim`). */
export function sum(x: Tensor, axes?: Axes, keepdim = false): Tensor {
  assertKeepdim('sum', keepdim);
  const list = normalizeAxes('sum', axes, x.ndim);
  const kept = runKernel('Sum', x, list);
  const inputShape = x.shape;
  const out = recordOp('sum', kept, [x], (g) => [expand(g, inputShape)], { axes: list });
  return dropAxes(x, list, keepdim, out);
}

function countOver(x: Tensor, axes: readonly number[]): number {
  return axes.reduce((n, a) => n * x.shape[a], 1);
}

/** The mean over `axes`: one dim or an array of dims, all when omitted (torch.mean's `dim`). */
export function mean(x: Tensor, axes?: Axes, keepdim = false): Tensor {
  assertFloat('mean', x.dtype);
  assertKeepdim('mean', keepdim);
  const list = normalizeAxes('mean', axes, x.ndim);
  return div(sum(x, list, keepdim), countOver(x, list));
}

/** Options of {@link variance} (`Tensor.var`). */
export interface VarOptions {
  /** Divide by N − 1 (Bessel's correction) rather than N. Default true, as torch.var. */
  unbiased?: boolean;
  /** Keep the reduced dims as size-1 dims. Default false. */
  keepdim?: boolean;
}

/**
 * Variance over `axes` (one dim or an array of dims, all when omitted): Σ(x − mean)² / (N − 1) when
 * unbiased (the default), else / N.
 */
export function variance(x: Tensor, axes?: Axes, options: VarOptions = {}): Tensor {
  assertFloat('var', x.dtype);
  const list = normalizeAxes('var', axes, x.ndim);
  const centred = sub(x, mean(x, list, true));
  const n = countOver(x, list) - (options.unbiased ?? true ? 1 : 0);
  return div(sum(mul(centred, centred), list, options.keepdim ?? false), n);
}

/** Max or min over axes; the gradient is shared evenly among tied extremes (like torch.amax). */
function extreme(op: string, kernel: ReduceKernelName, x: Tensor, axes: Axes, keepdim: boolean): Tensor {
  assertKeepdim(op, keepdim);
  const list = normalizeAxes(op, axes, x.ndim);
  if (list.some((a) => x.shape[a] === 0)) {
    throw new ShapeError(`${op}: cannot reduce over an empty dim of shape ${formatShape(x.shape)}`);
  }
  const kept = runKernel(kernel, x, list);
  const out = recordOp(op, kept, [x], (g) => {
    const mask = cast(eq(x, kept), g.dtype);
    const ties = runKernel('Sum', mask, list);
    return [mul(mask, div(g, ties))];
  }, { axes: list });
  return dropAxes(x, list, keepdim, out);
}

/** The largest value over `axes`: one dim or an array of dims, all when omitted (like torch.amax). */
export const max = (x: Tensor, axes?: Axes, keepdim = false): Tensor => extreme('max', 'Max', x, axes, keepdim);
/** The smallest value over `axes`: one dim or an array of dims, all when omitted (like torch.amin). */
export const min = (x: Tensor, axes?: Axes, keepdim = false): Tensor => extreme('min', 'Min', x, axes, keepdim);

/** Index of the largest element along `axis` (of the flattened tensor when omitted), as int32. */
export function argmax(x: Tensor, axis?: number, keepdim = false): Tensor {
  if (axis === undefined) return argmax(reshape(x, [x.size]), 0, false);
  const a = normalizeAxis('argmax', axis, x.ndim);
  if (x.shape[a] === 0) throw new ShapeError(`argmax: dim ${axis} of shape ${formatShape(x.shape)} is empty`);
  const kept = runKernel('Argmax', x, a);
  return dropAxes(x, [a], keepdim, kept);
}

/**
 * log Σ exp(x) over `axes` (one dim or an array of dims, all when omitted), computed stably by
 * shifting with the (detached) max.
 */
export function logsumexp(x: Tensor, axes?: Axes, keepdim = false): Tensor {
  assertFloat('logsumexp', x.dtype);
  assertKeepdim('logsumexp', keepdim);
  const list = normalizeAxes('logsumexp', axes, x.ndim);
  const shift = withGradMode(false, () => {
    const m = runKernel('Max', x, list);
    // An all −inf or +inf slice would make x − m NaN; shift by 0 there instead.
    return where(eq(runKernel('Abs', m), Infinity), filled([], m.dtype, 0), m);
  });
  const total = log(sum(exp(sub(x, shift)), list, true));
  return dropAxes(x, list, keepdim, add(total, shift));
}
