import { isFloatDType, promoteTypes, type DType } from '../dtype.js';
import type { BinaryKernelName, ComparisonKernelName } from '../kernel-names.js';
import { runKernel } from '../registry.js';
import { broadcastShapes } from '../shape.js';
import { recordOp } from '../tape.js';
import { Tensor, type TensorLike } from '../tensor.js';
import { cast } from './cast.js';
import { log, neg } from './unary.js';
import { expand } from './views.js';

/**
 * Elementwise binary ops with NumPy broadcasting and PyTorch's type promotion. Operands are cast
 * to one dtype and expanded to one shape by differentiable views first, so each backward rule
 * below deals with same-shape, same-dtype tensors; the casts and expands send the gradients home.
 */

/** A JS number as a 0-d tensor that takes the other operand's dtype (fractional → float32 over int32). */
export function scalarLike(value: number, other: DType): Tensor {
  const dtype: DType = other === 'int32' && !Number.isInteger(value) ? 'float32' : other;
  return filled([], dtype, value);
}

export function filled(shape: readonly number[], dtype: DType, value: number): Tensor {
  const t = Tensor.empty(shape, dtype);
  t.storage.fill(value);
  return t;
}

/** Both operands as tensors of one promoted dtype, broadcast to one shape. */
export function broadcastOperands(op: string, a: TensorLike, b: TensorLike, atLeast?: DType): [Tensor, Tensor] {
  let ta = typeof a === 'number' ? null : a;
  let tb = typeof b === 'number' ? null : b;
  if (!ta && !tb) {
    ta = filled([], 'float32', a as number);
    tb = filled([], 'float32', b as number);
  }
  if (!ta) ta = scalarLike(a as number, tb!.dtype);
  if (!tb) tb = scalarLike(b as number, ta.dtype);
  let dtype = promoteTypes(ta.dtype, tb.dtype);
  if (atLeast) dtype = promoteTypes(dtype, atLeast);
  const shape = broadcastShapes(op, ta.shape, tb.shape);
  return [expand(cast(ta, dtype), shape), expand(cast(tb, dtype), shape)];
}

function binary(
  op: string, kernel: BinaryKernelName, a: TensorLike, b: TensorLike,
  backward: (g: Tensor, x: Tensor, y: Tensor, out: Tensor) => [Tensor | null, Tensor | null],
  atLeast?: DType,
): Tensor {
  const [x, y] = broadcastOperands(op, a, b, atLeast);
  const out = runKernel(kernel, x, y);
  return recordOp(op, out, [x, y], (g) => backward(g, x, y, out));
}

/** a + b elementwise, broadcast and promoted (torch.add). */
export function add(a: TensorLike, b: TensorLike): Tensor {
  return binary('add', 'Add', a, b, (g) => [g, g]);
}

/** a − b elementwise, broadcast and promoted (torch.sub). */
export function sub(a: TensorLike, b: TensorLike): Tensor {
  return binary('sub', 'Sub', a, b, (g) => [g, neg(g)]);
}

/** a · b elementwise, broadcast and promoted (torch.mul). */
export function mul(a: TensorLike, b: TensorLike): Tensor {
  return binary('mul', 'Mul', a, b, (g, x, y) => [mul(g, y), mul(g, x)]);
}

/** True division: integer operands give float32, as in PyTorch. */
export function div(a: TensorLike, b: TensorLike): Tensor {
  return binary('div', 'Div', a, b, (g, _x, y, out) => [div(g, y), neg(div(mul(g, out), y))], 'float32');
}

/** a ** b. The gradient for b is 0 where a is 0 (PyTorch masks log(0) there). */
export function pow(a: TensorLike, b: TensorLike): Tensor {
  return binary('pow', 'Pow', a, b, (g, x, y, out) => {
    const gx = mul(g, mul(y, pow(x, sub(y, 1))));
    const gy = y.requiresGrad ? mul(g, mul(out, log(where(eq(x, 0), 1, x)))) : null;
    return [gx, gy];
  });
}

/** Elementwise max; ties send half the gradient to each side, as PyTorch does. */
export function maximum(a: TensorLike, b: TensorLike): Tensor {
  return binary('maximum', 'Maximum', a, b, (g, x, y) => splitByComparison(g, x, y, 'Greater'));
}

/** Elementwise min; ties send half the gradient to each side, as PyTorch does. */
export function minimum(a: TensorLike, b: TensorLike): Tensor {
  return binary('minimum', 'Minimum', a, b, (g, x, y) => splitByComparison(g, x, y, 'Less'));
}

function splitByComparison(g: Tensor, x: Tensor, y: Tensor, wins: 'Greater' | 'Less'): [Tensor, Tensor] {
  const share = add(cast(runKernel(wins, x, y), g.dtype), mul(cast(runKernel('Equal', x, y), g.dtype), 0.5));
  const gx = mul(g, share);
  return [gx, sub(g, gx)];
}

function compare(op: string, kernel: ComparisonKernelName, a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = broadcastOperands(op, a, b);
  return runKernel(kernel, x, y);
}

/** a < b elementwise, broadcast: an int32 mask of 0 and 1. Comparisons have no gradient. */
export const lt = (a: TensorLike, b: TensorLike): Tensor => compare('lt', 'Less', a, b);
/** a ≤ b elementwise, broadcast: an int32 mask of 0 and 1 (no gradient). */
export const le = (a: TensorLike, b: TensorLike): Tensor => compare('le', 'LessEqual', a, b);
/** a > b elementwise, broadcast: an int32 mask of 0 and 1 (no gradient). */
export const gt = (a: TensorLike, b: TensorLike): Tensor => compare('gt', 'Greater', a, b);
/** a ≥ b elementwise, broadcast: an int32 mask of 0 and 1 (no gradient). */
export const ge = (a: TensorLike, b: TensorLike): Tensor => compare('ge', 'GreaterEqual', a, b);
/** a = b elementwise, broadcast: an int32 mask of 0 and 1 (no gradient). */
export const eq = (a: TensorLike, b: TensorLike): Tensor => compare('eq', 'Equal', a, b);
/** a ≠ b elementwise, broadcast: an int32 mask of 0 and 1 (no gradient). */
export const ne = (a: TensorLike, b: TensorLike): Tensor => compare('ne', 'NotEqual', a, b);

/** Picks a where condition is non-zero, else b; all three broadcast together. */
export function where(condition: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = broadcastOperands('where', a, b);
  const shape = broadcastShapes('where', condition.shape, x.shape);
  const [c, xe, ye] = [expand(condition, shape), expand(x, shape), expand(y, shape)];
  const out = runKernel('Where', c, xe, ye);
  return recordOp('where', out, [xe, ye], (g) => {
    const zero = filled([], g.dtype, 0);
    return [where(c, g, zero), where(c, zero, g)];
  });
}

/** Limits to [min, max]; the gradient passes where min <= x <= max (PyTorch's clamp_backward). */
export function clamp(x: Tensor, min = -Infinity, max = Infinity): Tensor {
  const out = runKernel('Clamp', x, min, max);
  if (!isFloatDType(x.dtype)) return out;
  return recordOp('clamp', out, [x], (g) => [runKernel('ClampGrad', x, g, min, max)], { min, max });
}
