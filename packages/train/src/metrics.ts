import { noGrad } from '@parcnet/autograd';
import { crossEntropy } from '@parcnet/nn';
import type { Module } from '@parcnet/nn';
import { add, flip, mul, tidy, type Tensor } from '@parcnet/tensor';
import type { DataLoader } from '@parcnet/data';

/** How many of the rows of logits [B, C] have the label among their k highest scores. */
export function countTopK(logits: Tensor, labels: Tensor, k: number): number {
  const [batch, classes] = logits.shape;
  const scores = logits.toTypedArray();
  const targets = labels.toTypedArray();
  let hits = 0;
  for (let i = 0; i < batch; i++) {
    const row = i * classes;
    const target = scores[row + targets[i]];
    // Rank = classes scoring strictly higher, or equal with a lower index (argmax's tie rule).
    let above = 0;
    for (let c = 0; c < classes && above < k; c++) {
      const s = scores[row + c];
      if (s > target || (s === target && c < targets[i])) above++;
    }
    if (above < k) hits++;
  }
  return hits;
}

/** A classifier's scores over one pass of the evaluation data. */
export interface EvalResult {
  /** Mean cross-entropy per image (no label smoothing). */
  loss: number;
  /** Share of images whose label scores highest, in [0, 1] (ties go to the lower class index, as argmax). */
  top1: number;
  /** Share of images with the label among the 5 highest scores (all of them with fewer than 5 classes), in [0, 1]. */
  top5: number;
  /** Images evaluated. */
  images: number;
  /** Wall time of the pass (seconds). */
  seconds: number;
}

/** Options of {@link evaluateClassifier}. */
export interface EvaluateOptions {
  /** Test-time flip: score the mean of the logits of each image and of its mirror image (left to right); default false. */
  flipTta?: boolean;
}

/**
 * Plain cross-entropy, top-1 and top-5 over one pass of the loader, in eval mode, without
 * gradients; with `flipTta`, of the mean logits of each image and its mirror image.
 */
export async function evaluateClassifier(model: Module, loader: DataLoader, onBatch?: (done: number, total: number) => void, options: EvaluateOptions = {}): Promise<EvalResult> {
  const wasTraining = model.training;
  model.eval();
  const started = performance.now();
  let lossSum = 0;
  let top1 = 0;
  let top5 = 0;
  let images = 0;
  try {
    for await (const batch of loader.epoch(0)) {
      const n = batch.labels.shape[0];
      // tidy: the batch's activations go back when it is done.
      noGrad(() => tidy(() => {
        const logits = options.flipTta
          ? mul(add(model.forward(batch.images), model.forward(flip(batch.images, 3))), 0.5)
          : model.forward(batch.images);
        lossSum += crossEntropy(logits, batch.labels).item() * n;
        top1 += countTopK(logits, batch.labels, 1);
        top5 += countTopK(logits, batch.labels, Math.min(5, logits.shape[1]));
      }));
      images += n;
      onBatch?.(batch.index + 1, loader.batchesPerEpoch);
      // Let the event loop turn (progress bar timers, worker messages): the forward is synchronous.
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    model.train(wasTraining);
  }
  return { loss: lossSum / images, top1: top1 / images, top5: top5 / images, images, seconds: (performance.now() - started) / 1000 };
}
