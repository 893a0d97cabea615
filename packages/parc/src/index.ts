// @parcnet/parc: the ParC operator and the ParC-Net building blocks.
import './kernels/reference/parc-conv';

export type { ParcAxis } from './kernel-names';
export { parcConv, type ParcConvOptions } from './ops/parc-conv';
export { resampleKernel, resampleTaps, type ResampleTaps } from './ops/resample';
export { ConvLayer, InvertedResidual, makeDivisible, type ActivationName, type ConvLayerOptions } from './conv-layer';
export { ParcBlock, ChannelAttention, type ParcBlockOptions } from './parc-block';
export { ParcStage, type ParcStageOptions } from './parc-stage';
export { FixedParc } from './fixed-parc';
