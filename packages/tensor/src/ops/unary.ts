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

/** −x elementwise (float tensors only, like every unary op). */
export const neg = (x: Tensor): Tensor => unary('neg', 'Neg', x);
/** eˣ elementwise. */
export const exp = (x: Tensor): Tensor => unary('exp', 'Exp', x);
/** Natural logarithm elementwise (−∞ at 0, NaN below). */
export const log = (x: Tensor): Tensor => unary('log', 'Log', x);
/** √x elementwise. */
export const sqrt = (x: Tensor): Tensor => unary('sqrt', 'Sqrt', x);
/** 1 / √x elementwise (torch.rsqrt). */
export const rsqrt = (x: Tensor): Tensor => unary('rsqrt', 'Rsqrt', x);
/** |x| elementwise; its gradient is sign(x) (0 at 0, as PyTorch). */
export const abs = (x: Tensor): Tensor => unary('abs', 'Abs', x);
/** −1, 0 or 1 by the sign of x, elementwise; the gradient is 0. */
export const sign = (x: Tensor): Tensor => unary('sign', 'Sign', x);
/** max(x, 0) elementwise; the gradient passes where the output is > 0. */
export const relu = (x: Tensor): Tensor => unary('relu', 'Relu', x);
/** min(max(x, 0), 6), with no gradient at 0 and 6 (PyTorch's hardtanh). */
export const relu6 = (x: Tensor): Tensor => unary('relu6', 'Relu6', x);
/** 1 / (1 + e⁻ˣ) elementwise, computed without overflow. */
export const sigmoid = (x: Tensor): Tensor => unary('sigmoid', 'Sigmoid', x);
/** Hyperbolic tangent elementwise. */
export const tanh = (x: Tensor): Tensor => unary('tanh', 'Tanh', x);
/** x · sigmoid(x), a.k.a. swish. */
export const silu = (x: Tensor): Tensor => unary('silu', 'Silu', x);
/** The exact GELU, x · Φ(x) with erf. */
export const gelu = (x: Tensor): Tensor => unary('gelu', 'Gelu', x);
/** x · relu6(x + 3) / 6 elementwise (torch.nn.functional.hardswish, MobileNetV3). */
export const hardswish = (x: Tensor): Tensor => unary('hardswish', 'Hardswish', x);
/** relu6(x + 3) / 6 elementwise (torch.nn.functional.hardsigmoid); the gradient is 1/6 strictly inside (−3, 3). */
export const hardsigmoid = (x: Tensor): Tensor => unary('hardsigmoid', 'Hardsigmoid', x);

export { clamp };
