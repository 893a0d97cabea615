import type { Module } from '@parcnet/nn';
import { FormatError, type Tensor } from '@parcnet/tensor';
import { createModel } from '@parcnet/models';
import type { WeightsInfo } from '@parcnet/train';

/** Rebuilds the model a weights file describes and loads the weights into it (eval mode). */
export function buildFromWeights(file: string, weights: { state: Record<string, Tensor>; info: WeightsInfo | null }, fallbackClasses?: number): { model: Module; info: WeightsInfo } {
  const info = weights.info;
  if (!info) throw new FormatError(`${file}: no parcnet metadata saying which model these weights are for; use a file written by parcnet train`);
  const numClasses = info.num_classes || fallbackClasses;
  if (!numClasses) throw new FormatError(`${file}: the number of classes is unknown`);
  const model = createModel(info.model, { numClasses, cifarStem: info.cifar_stem });
  model.loadStateDict(weights.state);
  model.eval();
  return { model, info };
}
