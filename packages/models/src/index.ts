// @parcnet/models: ParC-Net and its baselines.
export { ParcNet, parcnetXS, parcnetS, parcnetH, parcnetScales, parcnetStageNames, initializeWeights, type ParcNetOptions } from './parcnet';
export { GlobalPool } from './common';
export { profile, type Profile, type ModuleProfile } from './profile';
