import { FormatError } from '@parcnet/tensor';
import type { Module } from '@parcnet/nn';
import { convnextXT, parcConvnextXT } from './convnext.js';
import { mobilenetV2, parcMobileNetV2 } from './mobilenetv2.js';
import { mobilevitS, mobilevitXS } from './mobilevit.js';
import { parcnetH, parcnetS, parcnetXS, type ParcNetOptions } from './parcnet.js';
import { parcResnet50, resnet50 } from './resnet.js';
import { ssdliteParcnetS, ssdliteParcnetXS } from './ssdlite.js';
import { deeplabv3ParcnetS } from './deeplabv3.js';

/** Options every model of the zoo understands; those a model has no use for are ignored. */
export type ModelOptions = ParcNetOptions;

/**
 * The models by the names the CLI and the configs use. Only ParC-Net and MobileViT take a
 * CIFAR stem and block dropout; the fixed-size ParC models run at 224×224 only (spec §11).
 */
const ZOO: Record<string, (options: ModelOptions) => Module> = {
  'parcnet-xs': parcnetXS,
  'parcnet-s': parcnetS,
  'parcnet-h': parcnetH,
  'mobilevit-xs': mobilevitXS,
  'mobilevit-s': mobilevitS,
  'mobilenetv2': mobilenetV2,
  'parc-mobilenetv2': parcMobileNetV2,
  'resnet50': resnet50,
  'parc-resnet50': parcResnet50,
  'convnext-xt': convnextXT,
  'parc-convnext-xt': parcConvnextXT,
  // Detection and segmentation (spec §8, §9): numClasses counts the background.
  'ssdlite-parcnet-xs': ssdliteParcnetXS,
  'ssdlite-parcnet-s': ssdliteParcnetS,
  'deeplabv3-parcnet-s': deeplabv3ParcnetS,
};

/** The names {@link createModel} knows, e.g. 'parcnet-xs', 'mobilevit-s', 'parc-resnet50', 'ssdlite-parcnet-s', 'deeplabv3-parcnet-s'. */
export const modelNames: readonly string[] = Object.keys(ZOO);

/**
 * A new model by its zoo name (one of {@link modelNames}), freshly initialised from `options.seed`.
 * Throws a FormatError for an unknown name, or for `cifarStem` on anything but parcnet-xs/s/h.
 */
export function createModel(name: string, options: ModelOptions = {}): Module {
  const build = ZOO[name];
  if (!build) throw new FormatError(`createModel: unknown model "${name}"; known: ${modelNames.join(', ')}`);
  if (options.cifarStem && !name.startsWith('parcnet-')) throw new FormatError(`createModel: ${name} has no CIFAR stem (only parcnet-xs/s/h do)`);
  return build(options);
}
