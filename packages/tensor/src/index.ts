/**
 * The strided tensor, its ops (each with its backward rule), the kernel registry
 * and the reference kernels.
 *
 * @packageDocumentation
 * @module @parcnet/tensor
 */
import './kernels/reference/index.js';

export { Tensor, type TensorLike, type BackwardOptions } from './tensor.js';
export type { DType, FloatDType, TypedArray, FloatArray } from './dtype.js';
export { isFloatDType, promoteTypes, assertFloat } from './dtype.js';
export { ParcnetError, ShapeError, DTypeError, GradientError, FormatError } from './errors.js';
export { broadcastShapes, contiguousStrides, formatShape, normalizeAxis, normalizeAxes, sizeOf, storageOffsets, type Shape } from './shape.js';
export { Generator, defaultGenerator, manualSeed, type RandomOptions } from './random.js';
export {
  registerKernel, runKernel, getKernel, listKernels, setBackendEnabled, observeKernels, type KernelObserver,
  type KernelName, type KernelRegistration,
} from './registry.js';
export * from './kernel-names.js';
export { conv2dGeometry, convOutputSize, channelGeometry, pooledShape, bilinearTaps, splitAtAxis, type Conv2DGeometry, type Tap } from './kernel-geometry.js';
export { recordOp, isGradEnabled, isTracing, withGradMode, installBackwardEngine, traceOps, type GradNode, type BackwardEngine, type OpAttrs, type TracedOp } from './tape.js';
export {
  tidy, startScope, keep, dispose, memoryStats, manageStorage, DisposedTensorError, type MemoryScope, type MemoryStats,
} from './memory.js';
export { toNdarray, fromNdarray } from './ndarray.js';
export * from './creation.js';

export { cast, contiguous } from './ops/cast.js';
export { reshape, flatten, permute, transpose, squeeze, unsqueeze, expand, flip, slice, select } from './ops/views.js';
export { repeat, tile } from './ops/repeat.js';
export { add, sub, mul, div, pow, maximum, minimum, where, clamp, lt, le, gt, ge, eq, ne } from './ops/elementwise.js';
export {
  neg, exp, log, sqrt, rsqrt, abs, sign, relu, relu6, sigmoid, tanh, silu, gelu, hardswish, hardsigmoid,
} from './ops/unary.js';
export { sum, mean, variance, max, min, argmax, logsumexp, sumToShape, type VarOptions } from './ops/reduce.js';
export { softmax, logSoftmax } from './ops/softmax.js';
export { matmul } from './ops/matmul.js';
export { conv2d, conv2dNormAct, feedForwardNormAct, invertedResidualNormAct, type Conv2dOptions, type InvertedResidualStages, type NormActStageOptions, type Pair } from './ops/conv2d.js';
export { avgPool2d, maxPool2d, adaptiveAvgPool2d, type Pool2dOptions } from './ops/pool.js';
export { pad, roll, type PadMode, type PadOptions } from './ops/pad.js';
export { indexSelect, gather } from './ops/indexing.js';
export { concat, stack, split, chunk } from './ops/concat.js';
export { interpolate, type InterpolateOptions } from './ops/interpolate.js';
export { batchNorm, type BatchNormOptions as BatchNormFunctionOptions } from './ops/batch-norm.js';
export { dropout, dropout2d } from './ops/dropout.js';
export { erf } from './kernels/reference/scalar-math.js';
