// @parcnet/models: ParC-Net and its baselines.
export { ParcNet, parcnetXS, parcnetS, parcnetH, parcnetScales, parcnetStageNames, initializeWeights, type ParcNetOptions, type ParcNetScale } from './parcnet';
export { SsdLite, SeparableConv, ssdliteParcnetS, ssdliteParcnetXS, type SsdLiteOptions } from './ssdlite';
export { GlobalPool } from './common';
export { profile, type Profile, type ModuleProfile } from './profile';
export { MobileNetV2, mobilenetV2, parcMobileNetV2, type MobileNetV2Options } from './mobilenetv2';
export { ResNet50, resnet50, parcResnet50, type ResNetOptions } from './resnet';
export { ConvNeXt, convnextXT, parcConvnextXT, type ConvNeXtOptions } from './convnext';
export { MobileViT, mobilevitS, mobilevitXS, type MobileViTOptions } from './mobilevit';
export { createModel, modelNames, type ModelOptions } from './zoo';
export { DeepLabV3, deeplabv3ParcnetS, type DeepLabV3Options } from './deeplabv3';
