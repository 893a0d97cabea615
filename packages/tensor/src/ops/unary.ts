import { assertFloat } from '../dtype.js';
import { unaryGradSavedFor, type UnaryKernelName } from '../kernel-names.js';
import { runKernel } from '../registry.js';
import { recordOp } from '../tape.js';
import type { Tensor } from '../tensor.js';
import { clamp } from './elementwise.js';

/**
 * Unary math and activations. Forward and backward are one kernel each, `Name` and `NameGrad`;
 * the backward kernel gets the op's input or output as `unaryGradSavedFor` says, and the scalar
 * derivatives are written beside the forwards in kernels/reference/scalar-math.ts.
 */
function unary(op: string, kernel: UnaryKernelName, x: Tensor): Tensor {
  assertFloat(op, x.dtype);
  const out = runKernel(kernel, x);
  const saved = unaryGradSavedFor[kernel] === 'input' ? x : out;
  return recordOp(op, out, [x], (g) => [runKernel(`${kernel}Grad`, saved, g)]);
}

export const neg = (x: Tensor): Tensor => unary('neg', 'Neg', x);
export const exp = (x: Tensor): Tensor => unary('exp', 'Exp', x);
export const log = (x: Tensor): Tensor => unary('log', 'Log', x);
export const sqrt = (x: Tensor): Tensor => unary('sqrt', 'Sqrt', x);
export const rsqrt = (x: Tensor): Tensor => unary('rsqrt', 'Rsqrt', x);
export const abs = (x: Tensor): Tensor => unary('abs', 'Abs', x);
export const sign = (x: Tensor): Tensor => unary('sign', 'Sign', x);
export const relu = (x: Tensor): Tensor => unary('relu', 'Relu', x);
/** min(max(x, 0), 6), with no gradient at 0 and 6 (PyTorch's hardtanh). */
export const relu6 = (x: Tensor): Tensor => unary('relu6', 'Relu6', x);
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', 'Sigmoid', x);
export const tanh = (x: Tensor): Tensor => unary('tanh', 'Tanh', x);
/** x · sigmoid(x), a.k.a. swish. */
export const silu = (x: Tensor): Tensor => unary('silu', 'Silu', x);
/** The exact GELU, x · Φ(x) with erf. */
export const gelu = (x: Tensor): Tensor => unary('gelu', 'Gelu', x);
export const hardswish = (x: Tensor): Tensor => unary('hardswish', 'Hardswish', x);
export const hardsigmoid = (x: Tensor): Tensor => unary('hardsigmoid', 'Hardsigmoid', x);

export { clamp };
