// What the demo page does, apart from drawing it: weights in, classification, fine-tuning (the
// whole network or its classifier head), and a forward benchmark. `main.ts` wires it to the page,
// and the browser test and benchmark call it through `window.parcnetDemo`.
import {
  concat, dispose, FormatError, getNumThreads, noGrad, observeKernels, resetWasmHeapPeak, softmax, Tensor, tidy, WASM, wasmHeapStats, data, io, models, nn,
  type KernelName,
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
  // In tidy, the forward's activations go back to the wasm heap at once, not at some later collection.
  const { logits, probabilities, kernels } = tidy(() => {
    const { value, kernels } = withKernelCounts(() => noGrad(() => loaded.model.forward(input)));
    return { logits: Array.from(value.toTypedArray()), probabilities: Array.from(softmax(value, 1).toTypedArray()), kernels };
  });
  const milliseconds = performance.now() - started;
  const ranked = probabilities.map((probability, index) => ({ index, label: loaded.info.classes[index] ?? String(index), probability }))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, top);
  return { top: ranked, logits, milliseconds, kernels };
}

export interface LabelledImage {
  name: string;
  image: data.RgbImage;
  label: string;
}

/** What fine-tuning trains: every parameter of the network, or only the classifier head's. */
export type FineTuneScope = 'network' | 'head';

export interface FineTuneOptions {
  steps: number;
  /** Adam's learning rate; default {@link defaultLearningRate} of the scope. */
  lr?: number;
  /** Default 'network'. */
  scope?: FineTuneScope;
}

/**
 * Adam's learning rate by what trains: 1e-3 moves the whole network too far in one step on a
 * handful of images (the loss goes up and down), 1e-4 lowers it steadily; the head alone takes 1e-3.
 */
export const defaultLearningRate: Record<FineTuneScope, number> = { network: 1e-4, head: 1e-3 };

/** One point of the loss curve, with what the step cost in time and wasm memory. */
export interface FineTuneStep {
  /** 0 is the loss before any update; step k the loss after k updates. */
  step: number;
  loss: number;
  /** The step's time: forward, backward and the update (a forward only for the last point). */
  milliseconds: number;
  /** The wasm heap's high-water mark since the page loaded, in bytes (the memory never shrinks). */
  heapBytes: number;
  /** The most bytes held at once during this step (tensors and kernel scratch). */
  peakLiveBytes: number;
  /** Bytes still held once the step's scope has ended: the parameters' gradients, kept until fine-tuning ends. */
  liveBytes: number;
  /** Tensor blocks the garbage collector's safety net has freed since the page loaded; a tidy step adds none. */
  tensorBlocksFreed: number;
  /** Kernel outputs copied out of wasm memory since the page loaded: past its 256 MiB tensor limit, or all of them in a page without shared memory. */
  copiedOut: number;
}

/**
 * Fine-tunes with Adam on a few labelled images, by default the whole network, or only the
 * classifier head (global pool → dropout → fc, the backbone's features computed once). The model
 * stays in eval mode: with a batch of a few images, batch statistics would drag the running ones
 * away from what the model learnt, so BatchNorm keeps its running statistics (its weight and bias
 * still train) and dropout is off, as for frozen-BN fine-tuning. So each step's forward is also
 * the loss after the previous update: `onStep` sees steps + 1 points, the loss before step 1 and
 * after every step, and a caller can draw the curve as it grows.
 *
 * Each step runs in `tidy`, so its activations, saved tensors and intermediate gradients go back
 * to the wasm heap when it ends, and the next step reuses the same blocks: the heap stops growing
 * after the first step. The scope closes before `onStep` is awaited (a scope must not stay open
 * across an await). The last gradients go back at the end, with the input batch.
 */
export async function fineTune(
  loaded: LoadedModel,
  images: readonly LabelledImage[],
  options: FineTuneOptions,
  onStep: (point: FineTuneStep) => void | Promise<void>,
): Promise<FineTuneStep[]> {
  const { model, info } = loaded;
  const { steps, scope = 'network', lr = defaultLearningRate[scope] } = options;
  if (!(model instanceof models.ParcNet) || !model.classifier) throw new FormatError(`fineTune: ${info.model} has no ParC-Net classifier head`);
  if (images.length === 0) throw new FormatError('fineTune: no labelled images');
  const targets = images.map(({ name, label }) => {
    const index = info.classes.indexOf(label);
    if (index < 0) throw new FormatError(`fineTune: ${name} is labelled "${label}", which is not one of the model's classes (${info.classes.join(', ')})`);
    return index;
  });
  const head = model.classifier;
  model.eval();
  const batch = tidy(() => concat(images.map(({ image }) => data.classifierInput(image, info.input_size, info.transforms)), 0));
  // With the backbone frozen and in eval mode, each image's features are the same at every step.
  const features = scope === 'head' ? tidy(() => noGrad(() => model.forwardStages(batch).conv_1x1_exp)) : null;
  const logits = (): Tensor => (features ? head.forward(features) : model.forward(batch));
  const target = new Tensor(Int32Array.from(targets), [images.length]);
  const optimizer = new nn.Adam(scope === 'head' ? head.parameters() : model.parameters(), { lr });
  const points: FineTuneStep[] = [];
  try {
    for (let step = 0; step <= steps; step++) {
      resetWasmHeapPeak();
      const started = performance.now();
      const loss = tidy(() => {
        // The last point needs no backward, so its forward saves nothing for one.
        if (step === steps) return noGrad(() => nn.crossEntropy(logits(), target).item());
        optimizer.zeroGrad();
        const value = nn.crossEntropy(logits(), target);
        value.backward();
        optimizer.step();
        return value.item();
      });
      const milliseconds = performance.now() - started;
      const { heapBytes, peakLiveBytes, liveBytes, tensorBlocksFreed, copiedOut } = wasmHeapStats();
      const point = { step, loss, milliseconds, heapBytes, peakLiveBytes, liveBytes, tensorBlocksFreed, copiedOut };
      points.push(point);
      await onStep(point);
    }
  } finally {
    optimizer.zeroGrad();
    // Its moments (wasm memory) go back with the run, not when the collector finds the optimiser.
    optimizer.dispose();
    dispose([batch, features]);
  }
  return points;
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
  const kernels = tidy(() => withKernelCounts(() => noGrad(() => model.forward(x))).kernels);
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const started = performance.now();
    tidy(() => {
      noGrad(() => model.forward(x));
    });
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  return { imagesPerSecond: (batch * 1000) / median, threads: getNumThreads(), wasm: (kernels[`Conv2D:${WASM}`] ?? 0) > 0 };
}
