import type { UnaryKernelName } from '../../kernel-names.js';

/**
 * Scalar definitions of the unary ops and of their derivatives, shared by the reference kernels.
 * Each derivative is written in the op's input or output, as `unaryGradSavedFor` (kernel-names.ts) says.
 */

const TWO_OVER_SQRT_PI = 1.1283791670955126;
const INV_SQRT_2 = 0.7071067811865476;
const INV_SQRT_2PI = 0.3989422804014327;
const ONE_SIXTH_FLOAT32 = Math.fround(1 / 6);

/**
 * erf to double precision: erf(x) = 2/√π · e^(−x²) · Σ (2x²)ⁿ x / (1·3·…·(2n+1)), a series of
 * positive terms (no cancellation); |x| > 6 is ±1 in double precision.
 */
export function erf(x: number): number {
  if (x > 6) return 1;
  if (x < -6) return -1;
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (Math.abs(term) <= 1e-17 * Math.abs(sum)) break;
  }
  return TWO_OVER_SQRT_PI * Math.exp(-x2) * sum;
}

export function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

export interface UnaryMath {
  forward: (x: number) => number;
  /** d output / d input, written in the input or the output as `unaryGradSavedFor` says. */
  derivative: (saved: number) => number;
}

export const unaryMath = {
  Neg: { forward: (x) => -x, derivative: () => -1 },
  Exp: { forward: Math.exp, derivative: (y) => y },
  Log: { forward: Math.log, derivative: (x) => 1 / x },
  Sqrt: { forward: Math.sqrt, derivative: (y) => 0.5 / y },
  Rsqrt: { forward: (x) => 1 / Math.sqrt(x), derivative: (y) => -0.5 * y * y * y },
  Abs: { forward: Math.abs, derivative: (x) => Math.sign(x) },
  Sign: { forward: Math.sign, derivative: () => 0 },
  // PyTorch's threshold_backward passes the gradient where the output is > 0.
  Relu: { forward: (x) => (x > 0 ? x : 0), derivative: (y) => (y > 0 ? 1 : 0) },
  // relu6 is hardtanh(0, 6): no gradient at the ends 0 and 6 (PyTorch's hardtanh_backward).
  Relu6: { forward: (x) => (x < 0 ? 0 : x > 6 ? 6 : x), derivative: (x) => (x > 0 && x < 6 ? 1 : 0) },
  Sigmoid: { forward: sigmoid, derivative: (y) => y * (1 - y) },
  Tanh: { forward: Math.tanh, derivative: (y) => 1 - y * y },
  Silu: {
    forward: (x) => x * sigmoid(x),
    derivative: (x) => {
      const s = sigmoid(x);
      return s * (1 + x * (1 - s));
    },
  },
  // The exact GELU with erf (PyTorch's default approximate='none').
  Gelu: {
    forward: (x) => 0.5 * x * (1 + erf(x * INV_SQRT_2)),
    derivative: (x) => 0.5 * (1 + erf(x * INV_SQRT_2)) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x),
  },
  // PyTorch's hardswish_backward: 0 below -3, x/3 + 1/2 on [-3, 3], 1 above.
  Hardswish: {
    forward: (x) => (x <= -3 ? 0 : x >= 3 ? x : (x * (x + 3)) / 6),
    derivative: (x) => (x < -3 ? 0 : x <= 3 ? x / 3 + 0.5 : 1),
  },
  // PyTorch's hardsigmoid_backward: 1/6 strictly inside (-3, 3), 0 at and beyond the ends. Its
  // constant is the float32 1.0f / 6.0f even for float64 tensors, so ours is too (the goldens see it).
  Hardsigmoid: {
    forward: (x) => (x <= -3 ? 0 : x >= 3 ? 1 : (x + 3) / 6),
    derivative: (x) => (x > -3 && x < 3 ? ONE_SIXTH_FLOAT32 : 0),
  },
} satisfies Record<UnaryKernelName, UnaryMath>;
