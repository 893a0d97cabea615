// What the demo page does, apart from drawing it: weights in, classification, fine-tuning the
// classifier head, and a forward benchmark. `main.ts` wires it to the page, and the browser test
// and benchmark call it through `window.parcnetDemo`.
import {
  concat, FormatError, getNumThreads, noGrad, observeKernels, softmax, Tensor, WASM, data, io, models, nn, type KernelName,
} from 'parcnet';
import type { WeightsInfo } from '@parcnet/train';

export interface LoadedModel {
  model: nn.Module;
  info: WeightsInfo;
  parameters: number;
  /** Where the weights came from (a file name or a URL). */
  source: string;
}

/**
 * Reads a parcnet weights file (safetensors with the `parcnet_model` metadata that `parcnet train`
 * writes into model.safetensors and best.safetensors) and rebuilds its model in eval mode.
 */
export function modelFromWeights(bytes: Uint8Array, source: string): LoadedModel {
  const { tensors, metadata } = io.parseSafetensors(bytes, source);
  if (!metadata.parcnet_model) {
    const what = metadata.parcnet ? 'a training checkpoint' : 'a safetensors file without parcnet metadata';
    throw new FormatError(`${source}: ${what}; pick a weights file written by parcnet train (model.safetensors or best.safetensors)`);
  }
  let info: WeightsInfo;
  try {
    info = JSON.parse(metadata.parcnet_model) as WeightsInfo;
  } catch {
    throw new FormatError(`${source}: the parcnet_model metadata is not JSON`);
  }
  if ((info.task ?? 'classify') !== 'classify') throw new FormatError(`${source}: holds a ${info.model} for the task "${info.task}"; this page classifies`);
  const model = models.createModel(info.model, { numClasses: info.num_classes, cifarStem: info.cifar_stem });
  model.loadStateDict(tensors);
  model.eval();
  const parameters = model.parameters().reduce((n, p) => n + p.size, 0);
  return { model, info, parameters, source };
}

export interface Classification {
  top: { index: number; label: string; probability: number }[];
  logits: number[];
  milliseconds: number;
  /** Which backend ran each kernel during the forward, with call counts ("Conv2D:wasm" → 40). */
  kernels: Record<string, number>;
}

/** Counts kernel calls by name and backend while `fn` runs. */
export function withKernelCounts<T>(fn: () => T): { value: T; kernels: Record<string, number> } {
  const kernels: Record<string, number> = {};
  const stop = observeKernels((name: KernelName, _args, backend) => {
    const key = `${name}:${backend}`;
    kernels[key] = (kernels[key] ?? 0) + 1;
  });
  try {
    return { value: fn(), kernels };
  } finally {
    stop();
  }
}

/** Classifies one image (PNG or JPEG bytes) as `parcnet predict` does. */
export function classify(loaded: LoadedModel, image: data.RgbImage, top = 5): Classification {
  const input = data.classifierInput(image, loaded.info.input_size, loaded.info.transforms);
  const started = performance.now();
  const { value: logits, kernels } = withKernelCounts(() => noGrad(() => loaded.model.forward(input)));
  const probabilities = softmax(logits, 1).toTypedArray();
  const milliseconds = performance.now() - started;
  const ranked = Array.from(probabilities, (probability, index) => ({ index, label: loaded.info.classes[index] ?? String(index), probability }))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, top);
  return { top: ranked, logits: Array.from(logits.toTypedArray()), milliseconds, kernels };
}

export interface LabelledImage {
  name: string;
  image: data.RgbImage;
  label: string;
}

/**
 * Fine-tunes the classifier head (global pool → dropout → fc) on a few labelled images with
 * Adam, the backbone frozen and in eval mode. Frozen and in eval mode, the backbone maps each image
 * to the same features at every step, so they are computed once. `onStep` sees the loss before
 * step 1 and after every step (steps + 1 values), so a caller can draw the curve as it grows.
 */
export async function fineTuneHead(
  loaded: LoadedModel,
  images: readonly LabelledImage[],
  steps: number,
  onStep: (step: number, loss: number) => void | Promise<void>,
  lr = 1e-3,
): Promise<number[]> {
  const { model, info } = loaded;
  if (!(model instanceof models.ParcNet) || !model.classifier) throw new FormatError(`fineTuneHead: ${info.model} has no ParC-Net classifier head`);
  if (images.length === 0) throw new FormatError('fineTuneHead: no labelled images');
  const targets = images.map(({ name, label }) => {
    const index = info.classes.indexOf(label);
    if (index < 0) throw new FormatError(`fineTuneHead: ${name} is labelled "${label}", which is not one of the model's classes (${info.classes.join(', ')})`);
    return index;
  });
  const inputs = images.map(({ image }) => data.classifierInput(image, info.input_size, info.transforms));
  const features = noGrad(() => model.forwardStages(concat(inputs, 0)).conv_1x1_exp);
  const target = new Tensor(Int32Array.from(targets), [images.length]);
  const head = model.classifier;
  const optimizer = new nn.Adam(head.parameters(), { lr });
  const losses: number[] = [];
  for (let step = 0; step <= steps; step++) {
    const loss = nn.crossEntropy(head.forward(features), target);
    losses.push(loss.item());
    await onStep(step, losses[step]);
    if (step === steps) break;
    optimizer.zeroGrad();
    loss.backward();
    optimizer.step();
  }
  return losses;
}

/**
 * Images per second of a ParC-Net-XS forward (CIFAR stem, 10 classes, eval mode, no gradients) on
 * a [batch, 3, 32, 32] input: the median of `rounds` timed forwards after one warm-up. The same
 * function runs in Node and in the page (benchmarks/browser.bench.ts).
 */
export function benchForward(batch: number, rounds: number): { imagesPerSecond: number; threads: number; wasm: boolean } {
  const model = models.parcnetXS({ numClasses: 10, cifarStem: true });
  model.eval();
  const x = new Tensor(Float32Array.from({ length: batch * 3 * 32 * 32 }, (_, i) => ((i * 7919) % 255) / 255), [batch, 3, 32, 32]);
  const { kernels } = withKernelCounts(() => noGrad(() => model.forward(x)));
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const started = performance.now();
    noGrad(() => model.forward(x));
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  return { imagesPerSecond: (batch * 1000) / median, threads: getNumThreads(), wasm: (kernels[`Conv2D:${WASM}`] ?? 0) > 0 };
}
