/**
 * The ParC operator and the ParC-Net building blocks.
 *
 * @packageDocumentation
 * @module @parcnet/parc
 */
import './kernels/reference/parc-conv.js';

export type { ParcAxis, ParcMixerHalf, ParcTables } from './kernel-names.js';
export { parcConv, parcMixer, parcTables, type InputAffine, type ParcConvOptions, type ParcTablesOptions } from './ops/parc-conv.js';
export { resampleKernel, resampleTaps, type ResampleTaps } from './ops/resample.js';
export { ConvLayer, InvertedResidual, makeDivisible, type ActivationName, type ConvLayerOptions } from './conv-layer.js';
export { ParcBlock, ChannelAttention, type ParcBlockOptions } from './parc-block.js';
export { ParcStage, type ParcStageOptions } from './parc-stage.js';
export { FixedParc } from './fixed-parc.js';
