import { FormatError } from '@parcnet/tensor';
import { crossEntropy, type Module } from '@parcnet/nn';
import { createModel } from '@parcnet/models';
import { balancedSubset, DataLoader, loadCifar10, loadCifar100, type ImageDataset } from '@parcnet/data';
import type { TrainConfig } from './config.js';
import { trainTask, type TrainingTask, type TrainOptions } from './engine.js';
import { countTopK, evaluateClassifier, type EvalResult } from './metrics.js';
import { ProgressBar } from './progress.js';

/** What trainClassifier returns: how far the run got, its last and best evaluation, and its speed. */
export interface TrainResult {
  /** The run's output folder (`common.out`). */
  out: string;
  /** Epochs completed. */
  epochs: number;
  /** Optimiser steps so far, those of resumed runs included. */
  steps: number;
  /** The last evaluation of the model, and of its EMA when on. */
  last: EvalResult | null;
  /** The last evaluation of the EMA model; null when EMA is off or no evaluation ran. */
  lastEma: EvalResult | null;
  /** The best evaluation so far, the one best.safetensors holds. */
  best: {
    /** Best top-1 in [0, 1], of the model or its EMA; −1 when no evaluation ran. */
    top1: number;
    /** Its epoch, from 0; −1 when no evaluation ran. */
    epoch: number;
  };
  /** Training images per second over this run (wall time, data waits included). */
  trainImagesPerSecond: number;
  /** Evaluation images per second over this run (model and EMA); null when no evaluation ran. */
  evalImagesPerSecond: number | null;
  /** Share of the training wall time spent waiting for batches. */
  dataWaitFraction: number;
  /** Wall time of this run (seconds). */
  seconds: number;
  /** True when `common.max_steps` ended the run. */
  stoppedAtMaxSteps: boolean;
  /** True when `options.signal` stopped the run; checkpoint.safetensors in `out` holds where it stood. */
  interrupted: boolean;
}

/** The datasets a config names, cut to its size limits; a download (if one is needed) shows a progress bar. */
export async function loadClassificationData(config: TrainConfig, progress = false): Promise<{
  /** The training split. */
  train: ImageDataset;
  /** The test split, which the trainer evaluates on. */
  val: ImageDataset;
}> {
  const load = config.dataset.name === 'cifar100' ? loadCifar100 : loadCifar10;
  const bar = new ProgressBar(progress);
  let downloading = false;
  const onDownload = (received: number, total: number): void => {
    if (!downloading) bar.start(`downloading ${config.dataset.name}`, Math.ceil(total / 1e6));
    downloading = true;
    bar.update(Math.floor(received / 1e6), {});
  };
  const common = { data: config.dataset.data ?? undefined, workers: Math.max(1, config.dataset.workers), onDownload };
  let train = await load({ split: 'train', ...common });
  let val = await load({ split: 'test', ...common });
  bar.stop();
  if (config.dataset.train_images !== null) train = balancedSubset(train, config.dataset.train_images);
  if (config.dataset.val_images !== null) val = balancedSubset(val, config.dataset.val_images);
  return { train, val };
}

/** The model a config's `model` section names, with `numClasses` outputs, initialised from `common.seed`. */
export function buildClassifier(config: TrainConfig, numClasses: number): Module {
  return createModel(config.model.name, {
    numClasses,
    cifarStem: config.model.cifar_stem,
    classifierDropout: config.model.classifier_dropout,
    blockDropout: config.model.block_dropout,
    seed: config.common.seed,
  });
}

/**
 * Classification as a task of the engine: the config's classifier, cross-entropy with label
 * smoothing over a threaded DataLoader (it prefetches the next batch while a step runs), and
 * plain cross-entropy, top-1 and top-5 on the test split. `evaluations` keeps each model's last
 * EvalResult; `close` ends the loaders' workers.
 */
export function classificationTask(config: TrainConfig, train: ImageDataset, val: ImageDataset): TrainingTask & {
  /** The last evaluation of each model evaluated (the model, its EMA). */
  evaluations: Map<Module, EvalResult>;
  /** Images and seconds of every evaluation so far. */
  evalTotals: {
    /** Images evaluated. */
    images: number;
    /** Seconds spent. */
    seconds: number;
  };
  /** Stops the data loaders' workers. */
  close(): Promise<void>;
} {
  const classes = [...train.classes];
  const trainLoader = new DataLoader(train, {
    batchSize: config.dataset.train_batch_size,
    shuffle: true,
    dropLast: true,
    seed: config.common.seed,
    transforms: config.image_augmentation.train,
    workers: config.dataset.workers,
  });
  const valLoader = new DataLoader(val, { batchSize: config.dataset.val_batch_size, transforms: config.image_augmentation.val, workers: config.dataset.workers });
  const evaluations = new Map<Module, EvalResult>();
  const evalTotals = { images: 0, seconds: 0 };
  const pct = (v: number): string => `${(100 * v).toFixed(2)}%`;
  return {
    title: `${config.model.name} on ${config.dataset.name} (${train.length} training and ${val.length} test images)`,
    buildModel: () => buildClassifier(config, classes.length),
    backbone: null,
    stepsPerEpoch: trainLoader.batchesPerEpoch,
    async *batches(model, epoch, start) {
      for await (const batch of trainLoader.epoch(epoch, start)) {
        const logits = model.forward(batch.images);
        const loss = crossEntropy(logits, batch.labels, { labelSmoothing: config.loss.label_smoothing });
        yield { loss, images: batch.labels.shape[0], correct: countTopK(logits, batch.labels, 1) };
      }
    },
    async evaluate(model, _epoch, progress) {
      const result = await evaluateClassifier(model, valLoader, (done, total) => progress(done, total, 'test'), { flipTta: config.evaluation.flip_tta });
      evaluations.set(model, result);
      evalTotals.images += result.images;
      evalTotals.seconds += result.seconds;
      return { loss: result.loss, top1: result.top1, top5: result.top5, eval_images_per_second: result.images / result.seconds };
    },
    trainMetrics: (stats) => ({ train_top1: stats.correct / stats.seen }),
    summary: (m) =>
      `test loss ${m.loss.toFixed(4)}, top-1 ${pct(m.top1)}, top-5 ${pct(m.top5)}${m.ema_top1 === undefined ? '' : `; EMA top-1 ${pct(m.ema_top1)}`}; ${m.eval_images_per_second.toFixed(1)} img/s evaluating`,
    dataWaitMs: () => trainLoader.stats.waitMs,
    bestMetric: 'top1',
    weightsInfo: { model: config.model.name, num_classes: classes.length, cifar_stem: config.model.cifar_stem, classes, input_size: [train.height, train.width], transforms: config.image_augmentation.val },
    runInfo: { train_images: train.length, val_images: val.length },
    evaluations,
    evalTotals,
    close: async () => {
      await trainLoader.close();
      await valLoader.close();
    },
  };
}

/**
 * Trains a classifier as the config says, with the engine ({@link trainTask}) and
 * {@link classificationTask}: AdamW or SGD, warm-up + cosine, label smoothing, EMA, optional
 * gradient clipping; evaluates the model (and its EMA) after every epoch (or every
 * `evaluation.every_epochs` and the last, with the test-time flip if `evaluation.flip_tta`); writes log.jsonl,
 * curves.png, checkpoint.safetensors (full state, atomic), model.safetensors (the last epoch's
 * better weights) and best.safetensors into common.out.
 */
export async function trainClassifier(config: TrainConfig, options: TrainOptions = {}): Promise<TrainResult> {
  const { train, val } = await loadClassificationData(config, options.progress ?? false);
  const task = classificationTask(config, train, val);
  try {
    if (task.stepsPerEpoch === 0) throw new FormatError(`train: ${train.length} training images make no full batch of ${config.dataset.train_batch_size}`);
    const result = await trainTask(config, task, options);
    const { images, seconds } = task.evalTotals;
    return {
      out: result.out,
      epochs: result.epochs,
      steps: result.steps,
      last: task.evaluations.get(result.model) ?? null,
      lastEma: result.emaModel ? task.evaluations.get(result.emaModel) ?? null : null,
      best: { top1: result.best.value, epoch: result.best.epoch },
      trainImagesPerSecond: result.trainImagesPerSecond,
      evalImagesPerSecond: seconds > 0 ? images / seconds : null,
      dataWaitFraction: result.dataWaitFraction,
      seconds: result.seconds,
      stoppedAtMaxSteps: result.stoppedAtMaxSteps,
      interrupted: result.interrupted,
    };
  } finally {
    await task.close();
  }
}
