import type { DType } from './dtype.js';
import type { Tensor } from './tensor.js';

/**
 * Every kernel a backend may provide, by name, with its signature. The names are the contract
 * between ops (which call `runKernel`) and backends (which `registerKernel`). Kernels receive
 * tensors that may be strided views unless the signature says "contiguous", and return new
 * contiguous tensors.
 */

export const unaryKernelNames = [
  'Neg', 'Exp', 'Log', 'Sqrt', 'Rsqrt', 'Abs', 'Sign',
  'Relu', 'Relu6', 'Sigmoid', 'Tanh', 'Silu', 'Gelu', 'Hardswish', 'Hardsigmoid',
] as const;
export type UnaryKernelName = (typeof unaryKernelNames)[number];
/** The backward kernel of a unary op: `${name}Grad`. */
export type UnaryGradKernelName = `${UnaryKernelName}Grad`;

/**
 * What each `${name}Grad` kernel receives as `saved`: the op's input or its output, whichever
 * its derivative is cheaper to write in (exp' = y, log' = 1/x).
 */
export const unaryGradSavedFor: Record<UnaryKernelName, 'input' | 'output'> = {
  Neg: 'input', Exp: 'output', Log: 'input', Sqrt: 'output', Rsqrt: 'output', Abs: 'input', Sign: 'input',
  Relu: 'output', Relu6: 'input', Sigmoid: 'output', Tanh: 'output', Silu: 'input', Gelu: 'input',
  Hardswish: 'input', Hardsigmoid: 'input',
};

export const binaryKernelNames = ['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Maximum', 'Minimum'] as const;
export type BinaryKernelName = (typeof binaryKernelNames)[number];

export const comparisonKernelNames = ['Less', 'LessEqual', 'Greater', 'GreaterEqual', 'Equal', 'NotEqual'] as const;
export type ComparisonKernelName = (typeof comparisonKernelNames)[number];

export const reduceKernelNames = ['Sum', 'Max', 'Min'] as const;
export type ReduceKernelName = (typeof reduceKernelNames)[number];

export interface Conv2DAttrs {
  stride: readonly [number, number];
  padding: readonly [number, number];
  dilation: readonly [number, number];
  groups: number;
}

export interface Pool2DAttrs {
  kernelSize: readonly [number, number];
  stride: readonly [number, number];
  padding: readonly [number, number];
  /** avg pool only: divide by the full window even where it hangs over the padding. */
  countIncludePad: boolean;
}

export interface ResizeAttrs {
  outSize: readonly [number, number];
  /** bilinear only. */
  alignCorners: boolean;
  /** Input-per-output scale used for the coordinate mapping (PyTorch uses 1/scale_factor when given). */
  scale: readonly [number, number];
}

type UnaryKernels = { [K in UnaryKernelName]: (x: Tensor) => Tensor };
/** `saved` is the op's input or output, whichever the derivative is written in (see the op). */
type UnaryGradKernels = { [K in UnaryGradKernelName]: (saved: Tensor, gradOutput: Tensor) => Tensor };
/** Inputs are already broadcast to the output shape (stride-0 views) and cast to one dtype. */
type BinaryKernels = { [K in BinaryKernelName]: (a: Tensor, b: Tensor) => Tensor };
/** Returns int32 0/1. */
type ComparisonKernels = { [K in ComparisonKernelName]: (a: Tensor, b: Tensor) => Tensor };
/** Reduces over the given (sorted) axes, keeping them as size-1 dims. */
type ReduceKernels = { [K in ReduceKernelName]: (x: Tensor, axes: readonly number[]) => Tensor };

export interface KernelSignatures extends UnaryKernels, UnaryGradKernels, BinaryKernels, ComparisonKernels, ReduceKernels, BatchNormKernels {
  /** A contiguous copy of any strided view, converted to `dtype`. */
  Cast: (x: Tensor, dtype: DType) => Tensor;
  /** Writes `source` (already broadcast to dst's shape and of dst's dtype) into the view `destination`. */
  Assign: (destination: Tensor, source: Tensor) => void;
  Clamp: (x: Tensor, min: number, max: number) => Tensor;
  /** Gradient of clamp: passes where min <= x <= max, as PyTorch does. */
  ClampGrad: (x: Tensor, gradOutput: Tensor, min: number, max: number) => Tensor;
  /** Picks a or b by cond != 0; all three broadcast to one shape, a and b of one dtype. */
  Where: (condition: Tensor, a: Tensor, b: Tensor) => Tensor;
  /** Index of the largest element along `axis` (first on ties), as int32, keeping the axis. */
  Argmax: (x: Tensor, axis: number) => Tensor;
  Softmax: (x: Tensor, axis: number) => Tensor;
  SoftmaxGrad: (y: Tensor, gradOutput: Tensor, axis: number) => Tensor;
  LogSoftmax: (x: Tensor, axis: number) => Tensor;
  LogSoftmaxGrad: (y: Tensor, gradOutput: Tensor, axis: number) => Tensor;
  /** a: [B, M, K] (or [B, K, M] if transposeA), b: [B, K, N] (or [B, N, K]) → [B, M, N]; B may be 1 on one side. */
  BatchMatMul: (a: Tensor, b: Tensor, transposeA: boolean, transposeB: boolean) => Tensor;
  /** x: [N, C, H, W], w: [O, C/groups, kH, kW] → [N, O, Ho, Wo]. */
  Conv2D: (x: Tensor, w: Tensor, attrs: Conv2DAttrs) => Tensor;
  /**
   * Inference's conv → norm → activation: act(Conv2D(x, w)[n, o, …] · scale[o] + shift[o]), the
   * output written once (see conv2dNormAct).
   */
  Conv2DNormAct: (x: Tensor, w: Tensor, scale: Float64Array, shift: Float64Array, activation: NormActivation, attrs: Conv2DAttrs) => Tensor;
  /** Gradient w.r.t. the input, of shape `inputShape`. */
  Conv2DBackpropInput: (gradOutput: Tensor, w: Tensor, inputShape: readonly number[], attrs: Conv2DAttrs) => Tensor;
  /** Gradient w.r.t. the weight, of shape `weightShape`. */
  Conv2DBackpropFilter: (x: Tensor, gradOutput: Tensor, weightShape: readonly number[], attrs: Conv2DAttrs) => Tensor;
  AvgPool2D: (x: Tensor, attrs: Pool2DAttrs) => Tensor;
  AvgPool2DGrad: (gradOutput: Tensor, inputShape: readonly number[], attrs: Pool2DAttrs) => Tensor;
  /** Returns the pooled values and, per output element, the flat (h * W + w) input index chosen. */
  MaxPool2D: (x: Tensor, attrs: Pool2DAttrs) => { output: Tensor; indices: Tensor };
  MaxPool2DGrad: (gradOutput: Tensor, indices: Tensor, inputShape: readonly number[]) => Tensor;
  AdaptiveAvgPool2D: (x: Tensor, outSize: readonly [number, number]) => Tensor;
  AdaptiveAvgPool2DGrad: (gradOutput: Tensor, inputShape: readonly number[]) => Tensor;
  /** Picks positions `indices` along `axis`; an index of -1 yields `fill`. */
  IndexSelect: (x: Tensor, axis: number, indices: Int32Array, fill: number) => Tensor;
  /** Adjoint of IndexSelect: adds gradOutput's slices into positions `indices` of a zero tensor with `size` along `axis`. */
  IndexAdd: (gradOutput: Tensor, axis: number, indices: Int32Array, size: number) => Tensor;
  /** torch.gather: out[i][j][k] = x[i][index[i][j][k]][k] for axis 1. */
  Gather: (x: Tensor, axis: number, index: Tensor) => Tensor;
  /** Adjoint of Gather into a zero tensor of `shape`. */
  ScatterAdd: (gradOutput: Tensor, axis: number, index: Tensor, shape: readonly number[]) => Tensor;
  Concat: (tensors: readonly Tensor[], axis: number) => Tensor;
  ResizeBilinear: (x: Tensor, attrs: ResizeAttrs) => Tensor;
  ResizeBilinearGrad: (gradOutput: Tensor, inputShape: readonly number[], attrs: ResizeAttrs) => Tensor;
  ResizeNearest: (x: Tensor, attrs: ResizeAttrs) => Tensor;
  ResizeNearestGrad: (gradOutput: Tensor, inputShape: readonly number[], attrs: ResizeAttrs) => Tensor;
}

export interface BatchNormStats {
  /** Per-channel mean over every axis but 1, in double precision. */
  mean: Float64Array;
  /** Per-channel biased variance. */
  variance: Float64Array;
}

export interface BatchNormGradients {
  dx: Tensor;
  dweight: Float64Array;
  dbias: Float64Array;
}

/** An activation fused after a batch norm (ConvLayer's BN + SiLU), or none. */
export type NormActivation = 'silu' | 'hardswish' | null;

export interface BatchNormKernels {
  /** x: [N, C, …] → per-channel mean and biased variance. */
  BatchNormStats: (x: Tensor) => BatchNormStats;
  /** y[n, c, …] = act(x[n, c, …] · scale[c] + shift[c]). */
  BatchNormApply: (x: Tensor, scale: Float64Array, shift: Float64Array, activation: NormActivation) => Tensor;
  /**
   * Backward of y = act((x − mean[c]) · invstd[c] · weight[c] + bias[c]): the activation's gradient
   * is taken at the recomputed pre-activation. With batch statistics (`batchStats`), mean and invstd
   * depend on x and dx gets the two correction terms; dweight, dbias are w.r.t. the norm's affine.
   */
  BatchNormBackward: (
    x: Tensor, gradOutput: Tensor, mean: Float64Array, invstd: Float64Array, weight: Float64Array, bias: Float64Array,
    batchStats: boolean, activation: NormActivation,
  ) => BatchNormGradients;
}
