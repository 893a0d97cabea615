// @parcnet/tensor: the strided tensor, its ops (each with its backward rule), the kernel registry
// and the reference kernels.
import './kernels/reference/index';

export { Tensor, type TensorLike, type BackwardOptions } from './tensor';
export type { DType, FloatDType, TypedArray, FloatArray } from './dtype';
export { isFloatDType, promoteTypes, assertFloat } from './dtype';
export { ParcnetError, ShapeError, DTypeError, GradientError, FormatError } from './errors';
export { broadcastShapes, contiguousStrides, formatShape, normalizeAxis, normalizeAxes, sizeOf, storageOffsets, type Shape } from './shape';
export { Generator, defaultGenerator, manualSeed, type RandomOptions } from './random';
export {
  registerKernel, runKernel, getKernel, listKernels, setBackendEnabled, observeKernels, type KernelObserver,
  type KernelName, type KernelRegistration,
} from './registry';
export * from './kernel-names';
export { conv2dGeometry, convOutputSize, channelGeometry, pooledShape, bilinearTaps, splitAtAxis, type Conv2DGeometry, type Tap } from './kernel-geometry';
export { recordOp, isGradEnabled, isTracing, withGradMode, installBackwardEngine, traceOps, type GradNode, type BackwardEngine, type OpAttrs, type TracedOp } from './tape';
export { toNdarray, fromNdarray } from './ndarray';
export * from './creation';

export { cast, contiguous } from './ops/cast';
export { reshape, flatten, permute, transpose, squeeze, unsqueeze, expand, flip, slice, select } from './ops/views';
export { add, sub, mul, div, pow, maximum, minimum, where, clamp, lt, le, gt, ge, eq, ne } from './ops/elementwise';
export {
  neg, exp, log, sqrt, rsqrt, abs, sign, relu, relu6, sigmoid, tanh, silu, gelu, hardswish, hardsigmoid,
} from './ops/unary';
export { sum, mean, variance, max, min, argmax, logsumexp, sumToShape, type VarOptions } from './ops/reduce';
export { softmax, logSoftmax } from './ops/softmax';
export { matmul } from './ops/matmul';
export { conv2d, conv2dNormAct, type Conv2dOptions, type Pair } from './ops/conv2d';
export { avgPool2d, maxPool2d, adaptiveAvgPool2d, type Pool2dOptions } from './ops/pool';
export { pad, roll, type PadMode, type PadOptions } from './ops/pad';
export { indexSelect, gather } from './ops/indexing';
export { concat, stack, split, chunk } from './ops/concat';
export { interpolate, type InterpolateOptions } from './ops/interpolate';
export { batchNorm, type BatchNormOptions as BatchNormFunctionOptions } from './ops/batch-norm';
export { erf } from './kernels/reference/scalar-math';
