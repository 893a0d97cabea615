import type { Module } from '@parcnet/nn';
import { FormatError, type Tensor } from '@parcnet/tensor';
import { createModel, modelNames } from '@parcnet/models';
import { loadWeights, type WeightsInfo } from '@parcnet/train';
import { numberFlag, type Flags } from './flags.js';

/** Keys whose first dimension is the number of classes, by model family. */
const HEAD_KEYS = ['classifier.fc.weight', 'classifier.1.weight', 'fc.weight', 'head.weight'];

/**
 * The one way a command reads `--weights`: a weights file or checkpoint written by `parcnet train`
 * (which says what model it holds), an official PyTorch `.pt` or a bare safetensors state dict
 * (which need `--model`, and `--cifar-stem` / `--num-classes` where they differ from the file).
 * The model is rebuilt, loaded strictly and put in eval mode; `described` says whether the file
 * said what it holds.
 */
export async function modelFromWeights(command: string, flags: Flags, fallbackClasses?: number): Promise<{ model: Module; info: WeightsInfo; state: Record<string, Tensor>; aliasKeys: string[]; described: boolean }> {
  const file = flags.weights;
  if (typeof file !== 'string') throw new FormatError(`${command}: --weights <file> is required`);
  const weights = await loadWeights(file, { ema: flags.ema === true });
  const info = weights.info ?? describeBareWeights(command, file, weights.state, flags, fallbackClasses);
  const numClasses = numberFlag(flags, 'num-classes', true) ?? (info.num_classes || fallbackClasses);
  if (!numClasses) throw new FormatError(`${command}: cannot tell the number of classes of ${file}; give --num-classes`);
  const model = createModel(info.model, { numClasses, cifarStem: info.cifar_stem });
  const report = model.loadStateDict(weights.state);
  model.eval();
  return { model, info: { ...info, num_classes: numClasses }, state: weights.state, aliasKeys: report.aliasKeys, described: weights.info !== null };
}

/**
 * What rebuilds the model of a file without parcnet metadata: the flags, the number of classes read
 * off the classifier's weight, and the official evaluation transforms (BGR, scaled to [0, 1],
 * spec §10) at 32×32 with the CIFAR stem, 224×224 otherwise.
 */
function describeBareWeights(command: string, file: string, state: Record<string, Tensor>, flags: Flags, fallbackClasses?: number): WeightsInfo {
  const model = flags.model;
  if (typeof model !== 'string') throw new FormatError(`${command}: ${file} does not say which model it is for; give --model (${modelNames.join(', ')})`);
  const cifarStem = flags['cifar-stem'] === true;
  const headClasses = HEAD_KEYS.map((k) => state[k] ?? state[`module.${k}`]).find((t) => t !== undefined)?.shape[0];
  const size = cifarStem ? 32 : 224;
  return {
    model,
    num_classes: headClasses ?? fallbackClasses ?? 0,
    cifar_stem: cifarStem,
    classes: [],
    input_size: [size, size],
    transforms: [{ name: 'bgr' }, { name: 'toFloat' }],
  };
}
