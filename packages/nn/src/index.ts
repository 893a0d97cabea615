/**
 * Modules shaped like torch.nn, initialisers, losses, optimisers, schedules and EMA.
 *
 * @packageDocumentation
 * @module @parcnet/nn
 */
export { Module, copyInto, type LoadOptions, type LoadReport, type StateDictOptions } from './module.js';
export * from './init.js';
export { Conv2d, type Conv2dOptions } from './layers/conv.js';
export { BatchNorm2d, LayerNorm, type BatchNormOptions, type LayerNormOptions } from './layers/norm.js';
export {
  Linear, Dropout, Dropout2d, ReLU, ReLU6, SiLU, GELU, Hardswish, Hardsigmoid, Sigmoid, Identity,
  AdaptiveAvgPool2d, AvgPool2d, MaxPool2d, Upsample,
} from './layers/basic.js';
export { Sequential, ModuleList } from './layers/containers.js';
export { crossEntropy, nllLoss, mseLoss, smoothL1Loss, binaryCrossEntropyWithLogits, type CrossEntropyOptions, type Reduction } from './losses.js';
export { Optimizer, SGD, Adam, AdamW, type AdamHyper, type SgdHyper, type ParamGroup, type ParamState, type SavedParamState } from './optim.js';
export { warmupCosine, stepLr, oneCycle, type LrSchedule, type WarmupCosineOptions } from './schedule.js';
export { ModelEma } from './ema.js';
export { clipGradNorm } from './clip.js';
