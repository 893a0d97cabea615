/**
 * ParC-Net and its baselines.
 *
 * @packageDocumentation
 * @module @parcnet/models
 */
export { ParcNet, parcnetXS, parcnetS, parcnetH, parcnetScales, parcnetStageNames, initializeWeights, type ParcNetOptions, type ParcNetScale } from './parcnet.js';
export { SsdLite, SeparableConv, ssdliteParcnetS, ssdliteParcnetXS, type SsdLiteOptions } from './ssdlite.js';
export { GlobalPool } from './common.js';
export { profile, type Profile, type ModuleProfile } from './profile.js';
export { MobileNetV2, mobilenetV2, parcMobileNetV2, type MobileNetV2Options } from './mobilenetv2.js';
export { ResNet50, resnet50, parcResnet50, type ResNetOptions } from './resnet.js';
export { ConvNeXt, convnextXT, parcConvnextXT, type ConvNeXtOptions } from './convnext.js';
export { MobileViT, mobilevitS, mobilevitXS, type MobileViTOptions } from './mobilevit.js';
export { createModel, modelNames, type ModelOptions } from './zoo.js';
export { DeepLabV3, deeplabv3ParcnetS, type DeepLabV3Options } from './deeplabv3.js';
