import type { DType, FloatDType } from './dtype.js';
import type { Tensor } from './tensor.js';

/** The unary math and activation kernels: one float tensor in, one of its shape and dtype out. */
export const unaryKernelNames = [
  'Neg', 'Exp', 'Log', 'Sqrt', 'Rsqrt', 'Abs', 'Sign',
  'Relu', 'Relu6', 'Sigmoid', 'Tanh', 'Silu', 'Gelu', 'Hardswish', 'Hardsigmoid',
] as const;
/** A unary kernel's name, one of {@link unaryKernelNames}: 'Neg', 'Exp', …, 'Hardsigmoid'. */
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

/** The elementwise arithmetic kernels behind add, sub, mul, div, pow, maximum and minimum. */
export const binaryKernelNames = ['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Maximum', 'Minimum'] as const;
/** A binary arithmetic kernel's name, one of {@link binaryKernelNames}. */
export type BinaryKernelName = (typeof binaryKernelNames)[number];

/** The comparison kernels behind lt, le, gt, ge, eq and ne: int32 masks of 0 and 1. */
export const comparisonKernelNames = ['Less', 'LessEqual', 'Greater', 'GreaterEqual', 'Equal', 'NotEqual'] as const;
/** A comparison kernel's name, one of {@link comparisonKernelNames}. */
export type ComparisonKernelName = (typeof comparisonKernelNames)[number];

/** The reduction kernels behind sum, max and min (torch.sum, torch.amax, torch.amin). */
export const reduceKernelNames = ['Sum', 'Max', 'Min'] as const;
/** A reduction kernel's name, one of {@link reduceKernelNames}. */
export type ReduceKernelName = (typeof reduceKernelNames)[number];

/** A 2-D convolution's settings as the Conv2D kernels take them; every pair is (H, W). */
export interface Conv2DAttrs {
  /** Step of the window, in pixels (≥ 1). */
  stride: readonly [number, number];
  /** Zero padding added on both sides, in pixels. */
  padding: readonly [number, number];
  /** Spacing between kernel taps, in pixels (1 = no dilation). */
  dilation: readonly [number, number];
  /** Channel groups: input and output channels split into this many separate convolutions (C for depthwise). */
  groups: number;
}

/** One conv → norm → activation of an inference kernel: the conv's weight and attributes, the norm folded into a per-channel affine. */
export interface NormActStage {
  /** [O, C/groups, kH, kW]. */
  weight: Tensor;
  /** Per output channel, multiplies the conv's output. */
  scale: Float64Array;
  /** Per output channel, added after the scale. */
  shift: Float64Array;
  activation: NormActivation;
  attrs: Conv2DAttrs;
}

/** A 2-D pooling window as the pool kernels take it, in floor mode as PyTorch; every pair is (H, W). */
export interface Pool2DAttrs {
  /** Window size, in pixels. */
  kernelSize: readonly [number, number];
  /** Step between windows, in pixels. */
  stride: readonly [number, number];
  /** Implicit padding on both sides, in pixels (at most half the window); padded positions are never a maximum. */
  padding: readonly [number, number];
  /** avg pool only: divide by the full window even where it hangs over the padding. */
  countIncludePad: boolean;
}

/** How the resize kernels map an [N, C, H, W] input to `outSize` (torch.nn.functional.interpolate's settings). */
export interface ResizeAttrs {
  /** Output [height, width], in pixels. */
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

/**
 * Every kernel a backend may provide, by name, with its signature. The names are the contract
 * between ops (which call `runKernel`) and backends (which `registerKernel`). Kernels receive
 * tensors that may be strided views unless the signature says "contiguous", and return new
 * contiguous tensors.
 */
export interface KernelSignatures extends UnaryKernels, UnaryGradKernels, BinaryKernels, ComparisonKernels, ReduceKernels, BatchNormKernels {
  /** A contiguous copy of any strided view, converted to `dtype`. */
  Cast: (x: Tensor, dtype: DType) => Tensor;
  /**
   * The gradient of a slice: zeros of `inputShape` (gradOutput's dtype) with gradOutput written at
   * indices start, start + step, … along `axis`.
   */
  SliceGrad: (gradOutput: Tensor, inputShape: readonly number[], axis: number, start: number, step: number) => Tensor;
  /** Each element limited to [min, max], as torch.clamp (NaN stays NaN). */
  Clamp: (x: Tensor, min: number, max: number) => Tensor;
  /** Gradient of clamp: passes where min <= x <= max, as PyTorch does. */
  ClampGrad: (x: Tensor, gradOutput: Tensor, min: number, max: number) => Tensor;
  /** Picks a or b by cond != 0; all three broadcast to one shape, a and b of one dtype. */
  Where: (condition: Tensor, a: Tensor, b: Tensor) => Tensor;
  /** Index of the largest element along `axis` (first on ties), as int32, keeping the axis. */
  Argmax: (x: Tensor, axis: number) => Tensor;
  /** exp(x − max) / Σ exp(x − max) along `axis`. */
  Softmax: (x: Tensor, axis: number) => Tensor;
  /** Backward of Softmax, from its output y: y · (g − Σ g·y) along `axis`. */
  SoftmaxGrad: (y: Tensor, gradOutput: Tensor, axis: number) => Tensor;
  /** x − max − log Σ exp(x − max) along `axis`. */
  LogSoftmax: (x: Tensor, axis: number) => Tensor;
  /** Backward of LogSoftmax, from its output y: g − exp(y) · Σ g along `axis`. */
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
  /**
   * Inference's inverted residual (MobileNetV2): the optional 1×1 expansion, the depthwise conv and
   * the 1×1 reduce, each with its norm and activation, then `residual` added when given: what
   * Conv2DNormAct three (or two) times and an Add compute, with the block's intermediate activations
   * never written out (see invertedResidualNormAct).
   */
  InvertedResidualNormAct: (x: Tensor, expand: NormActStage | null, depthwise: NormActStage, pointwise: NormActStage, residual: Tensor | null) => Tensor;
  /**
   * Inference's feed-forward pair of 1×1 convs: `norm`'s per-channel affine of x when given (a
   * batch norm before the first conv, as BatchNormApply computes it), then the two stages: what
   * BatchNormApply and Conv2DNormAct twice compute (see feedForwardNormAct).
   */
  FeedForwardNormAct: (x: Tensor, norm: { scale: Float64Array; shift: Float64Array } | null, hidden: NormActStage, output: NormActStage) => Tensor;
  /** Gradient w.r.t. the input, of shape `inputShape`. */
  Conv2DBackpropInput: (gradOutput: Tensor, w: Tensor, inputShape: readonly number[], attrs: Conv2DAttrs) => Tensor;
  /** Gradient w.r.t. the weight, of shape `weightShape`. */
  Conv2DBackpropFilter: (x: Tensor, gradOutput: Tensor, weightShape: readonly number[], attrs: Conv2DAttrs) => Tensor;
  /** x: [N, C, H, W] → [N, C, Ho, Wo], the mean of each window (divisor as `countIncludePad` says). */
  AvgPool2D: (x: Tensor, attrs: Pool2DAttrs) => Tensor;
  /** Backward of AvgPool2D: each output gradient spread over its window, into a tensor of `inputShape`. */
  AvgPool2DGrad: (gradOutput: Tensor, inputShape: readonly number[], attrs: Pool2DAttrs) => Tensor;
  /** Returns the pooled values and, per output element, the flat (h * W + w) input index chosen. */
  MaxPool2D: (x: Tensor, attrs: Pool2DAttrs) => {
    /** The maximum of each window, [N, C, Ho, Wo]. */
    output: Tensor;
    /** int32 [N, C, Ho, Wo]: where each maximum came from, as h * W + w within its input plane. */
    indices: Tensor;
  };
  /** Backward of MaxPool2D: each output gradient added at its `indices` position of a zero tensor of `inputShape`. */
  MaxPool2DGrad: (gradOutput: Tensor, indices: Tensor, inputShape: readonly number[]) => Tensor;
  /** x: [N, C, H, W] → [N, C, outSize[0], outSize[1]], the mean of each of PyTorch's adaptive bins. */
  AdaptiveAvgPool2D: (x: Tensor, outSize: readonly [number, number]) => Tensor;
  /** Backward of AdaptiveAvgPool2D (the output size is gradOutput's), into a tensor of `inputShape`. */
  AdaptiveAvgPool2DGrad: (gradOutput: Tensor, inputShape: readonly number[]) => Tensor;
  /** Picks positions `indices` along `axis`; an index of -1 yields `fill`. */
  IndexSelect: (x: Tensor, axis: number, indices: Int32Array, fill: number) => Tensor;
  /** Adjoint of IndexSelect: adds gradOutput's slices into positions `indices` of a zero tensor with `size` along `axis`. */
  IndexAdd: (gradOutput: Tensor, axis: number, indices: Int32Array, size: number) => Tensor;
  /** torch.gather: out[i][j][k] = x[i][index[i][j][k]][k] for axis 1. */
  Gather: (x: Tensor, axis: number, index: Tensor) => Tensor;
  /** Adjoint of Gather into a zero tensor of `shape`. */
  ScatterAdd: (gradOutput: Tensor, axis: number, index: Tensor, shape: readonly number[]) => Tensor;
  /** torch.cat: tensors of one dtype, equal in every dim but `axis`, joined along `axis`. */
  Concat: (tensors: readonly Tensor[], axis: number) => Tensor;
  /**
   * Dropout's scaled keep mask, a contiguous tensor of `shape` and `dtype`: element i (row-major) is
   * `scale` when the i-th draw of the xoshiro128** stream starting at `state` (Generator.nextUint32,
   * one draw per element) is below `keepBelow`, an integer in [0, 2³²], and 0 otherwise. Returns the
   * mask and the stream's state after the draws, so every backend leaves the generator where the
   * reference does.
   */
  DropoutMask: (shape: readonly number[], keepBelow: number, scale: number, dtype: FloatDType, state: GeneratorWords) => DropoutMask;
  /**
   * One Adam / AdamW step (torch.optim.AdamW's order of operations) of one parameter p, in place,
   * with its gradient g and moments m, v; every element i independently:
   * ```text
   * p ← p · decay                (stored: rounded to p's dtype)
   * g ← g + l2 · p
   * m ← β₁ · m + (1 − β₁) · g
   * v ← β₂ · v + ((1 − β₂) · g) · g
   * p ← p − (stepSize · m) / (√v / biasCorrection2Sqrt + eps)
   * ```
   * The reference computes in double precision and rounds only what it stores (p after the decay,
   * then m, v and p); a float32 backend may round every operation, as PyTorch does for float32
   * tensors. `param` is contiguous; `grad` (any strides) and the moments have its shape and dtype,
   * the moments contiguous. `moments` is null before the first step (zeros). Returns the moments
   * after the step: the given tensors, updated in place, or new ones where the backend keeps them
   * (wasm memory), which replace them.
   */
  AdamStep: (param: Tensor, grad: Tensor, moments: AdamMoments | null, attrs: AdamStepAttrs) => AdamMoments;
  /** x: [N, C, H, W] → [N, C, outSize[0], outSize[1]] by bilinear interpolation, with PyTorch's source coordinates. */
  ResizeBilinear: (x: Tensor, attrs: ResizeAttrs) => Tensor;
  /** Backward of ResizeBilinear: each output gradient shared among its four source pixels by their weights. */
  ResizeBilinearGrad: (gradOutput: Tensor, inputShape: readonly number[], attrs: ResizeAttrs) => Tensor;
  /** x: [N, C, H, W] → [N, C, outSize[0], outSize[1]], each output copying source pixel ⌊o · scale⌋ per axis (PyTorch's 'nearest'). */
  ResizeNearest: (x: Tensor, attrs: ResizeAttrs) => Tensor;
  /** Backward of ResizeNearest: each output gradient added to its source pixel. */
  ResizeNearestGrad: (gradOutput: Tensor, inputShape: readonly number[], attrs: ResizeAttrs) => Tensor;
}

/** The four uint32 words of a Generator's xoshiro128** state (its `getState()` without the spare normal). */
export type GeneratorWords = readonly [number, number, number, number];

/** What the DropoutMask kernel returns. */
export interface DropoutMask {
  /** The mask: `scale` where kept, 0 where dropped. */
  mask: Tensor;
  /** The generator's words after one draw per element of the mask. */
  state: GeneratorWords;
}

/** Adam's running averages of one parameter (torch's exp_avg, exp_avg_sq), as the AdamStep kernel takes and returns them. */
export interface AdamMoments {
  /** m, the first moment: the average of the gradient. */
  expAvg: Tensor;
  /** v, the second moment: the average of its square. */
  expAvgSq: Tensor;
}

/** The AdamStep kernel's scalars for step t, from the optimiser's hyper-parameters (lr, β₁, β₂, eps, wd). */
export interface AdamStepAttrs {
  /** β₁, the decay rate of the first moment. */
  beta1: number;
  /** β₂, the decay rate of the second moment. */
  beta2: number;
  /** Added to the denominator for stability. */
  eps: number;
  /** lr / (1 − β₁ᵗ). */
  stepSize: number;
  /** √(1 − β₂ᵗ). */
  biasCorrection2Sqrt: number;
  /** The decoupled weight decay's factor: 1 − lr · wd for AdamW, 1 for Adam. */
  decay: number;
  /** The coupled (L2) weight decay added to the gradient as l2 · p: wd for Adam, 0 for AdamW. */
  l2: number;
}

/** What the BatchNormStats kernel returns: per-channel statistics of a batch, in float64. */
export interface BatchNormStats {
  /** Per-channel mean over every axis but 1, in double precision. */
  mean: Float64Array;
  /** Per-channel biased variance. */
  variance: Float64Array;
}

/** What the BatchNormBackward kernel returns (dz: the gradient at the norm's output, before the activation). */
export interface BatchNormGradients {
  /** Gradient w.r.t. the input x, of x's shape and dtype. */
  dx: Tensor;
  /** Per-channel gradient w.r.t. the affine weight γ: Σ dz · x̂, in float64. */
  dweight: Float64Array;
  /** Per-channel gradient w.r.t. the affine bias β: Σ dz, in float64. */
  dbias: Float64Array;
}

/** An activation fused after a batch norm (ConvLayer's BN + SiLU), or none. */
export type NormActivation = 'silu' | 'hardswish' | null;

/** The batch-norm kernels (part of {@link KernelSignatures}): batch statistics, the per-channel affine with its fused activation, and its backward. */
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
