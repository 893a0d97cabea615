// @parcnet/nn: modules shaped like torch.nn, initialisers, losses, optimisers, schedules and EMA.
export { Module, copyInto, type LoadOptions, type LoadReport, type StateDictOptions } from './module';
export * from './init';
export { Conv2d, type Conv2dOptions } from './layers/conv';
export { BatchNorm2d, LayerNorm, type BatchNormOptions, type LayerNormOptions } from './layers/norm';
export {
  Linear, Dropout, Dropout2d, ReLU, ReLU6, SiLU, GELU, Hardswish, Hardsigmoid, Sigmoid, Identity,
  AdaptiveAvgPool2d, AvgPool2d, MaxPool2d, Upsample,
} from './layers/basic';
export { Sequential, ModuleList } from './layers/containers';
export { crossEntropy, nllLoss, mseLoss, smoothL1Loss, binaryCrossEntropyWithLogits, type CrossEntropyOptions, type Reduction } from './losses';
export { Optimizer, SGD, Adam, AdamW, type AdamHyper, type SgdHyper, type ParamGroup } from './optim';
export { warmupCosine, stepLr, oneCycle, type LrSchedule, type WarmupCosineOptions } from './schedule';
export { ModelEma } from './ema';
export { clipGradNorm } from './clip';
