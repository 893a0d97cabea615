// @parcnet/parc: the ParC operator and the ParC-Net building blocks.
import './kernels/reference/parc-conv';

export type { ParcAxis } from './kernel-names';
export { parcConv, type ParcConvOptions } from './ops/parc-conv';
export { resampleKernel, resampleTaps, type ResampleTaps } from './ops/resample';
