import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { defaultGenerator, FormatError, manualSeed } from '@parcnet/tensor';
import { AdamW, clipGradNorm, crossEntropy, ModelEma, SGD, warmupCosine, type LrSchedule, type Module, type Optimizer } from '@parcnet/nn';
import { createModel } from '@parcnet/models';
import { balancedSubset, DataLoader, loadCifar10, loadCifar100, type ImageDataset } from '@parcnet/data';
import { setNumThreads } from '@parcnet/wasm';
import { loadCheckpoint, saveCheckpoint, saveWeights, type LoopState, type WeightsInfo } from './checkpoint.js';
import type { TrainConfig } from './config.js';
import { countTopK, evaluateClassifier, type EvalResult } from './metrics.js';
import { plotTrainingLog } from './plot.js';
import { backboneParameters, freezeForEpoch, loadPretrained } from './pretrained.js';
import { ProgressBar } from './progress.js';

/** How to run trainClassifier or trainTask (the run itself comes from the config). */
export interface TrainOptions {
  /** A checkpoint to continue from (model, optimiser, schedule position, EMA, generators). */
  resume?: string;
  /** Show the progress bar (the CLI does; tests do not). */
  progress?: boolean;
  /** Where the trainer's messages go (default: nowhere). */
  print?: (message: string) => void;
}

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
}

/** Name, in the out folder, of the full resumable checkpoint, rewritten after every epoch. */
export const CHECKPOINT_FILE = 'checkpoint.safetensors';
/** Name, in the out folder, of the JSON-lines log of measurements: `train` lines every `common.log_every` steps, one `eval` (or `epoch`) line per epoch. */
export const LOG_FILE = 'log.jsonl';
/** Name, in the out folder, of the JSON-lines record of run starts and resumes. */
export const EVENTS_FILE = 'events.jsonl';
/** Name, in the out folder, of the loss and accuracy curves (PNG), redrawn after every epoch. */
export const PLOT_FILE = 'curves.png';

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

/** The optimiser a config names, over every parameter (spec §10: weight decay on all of them, one group). */
export function buildOptimizer(config: Pick<TrainConfig, 'optim' | 'scheduler'>, model: Module): Optimizer<{ lr: number }> {
  const params = model.parameters();
  const o = config.optim;
  if (o.name === 'sgd') return new SGD(params, { lr: config.scheduler.cosine.max_lr, momentum: o.sgd.momentum, nesterov: o.sgd.nesterov, weightDecay: o.weight_decay });
  return new AdamW(params, { lr: config.scheduler.cosine.max_lr, betas: [o.adamw.beta1, o.adamw.beta2], eps: o.adamw.eps, weightDecay: o.weight_decay });
}

/** The warm-up + cosine schedule a config's scheduler section describes. */
export function buildSchedule(s: TrainConfig['scheduler'], stepsPerEpoch: number): LrSchedule {
  return warmupCosine({
    maxLr: s.cosine.max_lr,
    minLr: s.cosine.min_lr,
    warmupIterations: s.warmup_iterations,
    warmupInitLr: s.warmup_init_lr,
    maxEpochs: s.max_epochs,
    per: s.per,
    iterationsPerEpoch: stepsPerEpoch,
  });
}

/**
 * Trains a classifier as the config says: AdamW or SGD, warm-up + cosine, label smoothing, EMA,
 * optional gradient clipping; evaluates the model (and its EMA) after every epoch; writes
 * log.jsonl, curves.png, checkpoint.safetensors (full state, atomic), model.safetensors (the last
 * epoch's better weights) and best.safetensors into common.out.
 */
export async function trainClassifier(config: TrainConfig, options: TrainOptions = {}): Promise<TrainResult> {
  const print = options.print ?? ((): void => undefined);
  const out = config.common.out;
  setNumThreads(config.common.threads ?? availableParallelism());
  const { train, val } = await loadClassificationData(config, options.progress ?? false);
  const classes = [...train.classes];
  const model = buildClassifier(config, classes.length);
  // A resumed run takes every weight from its checkpoint instead.
  if (config.model.pretrained !== null && !options.resume) print((await loadPretrained(model, config.model.pretrained)).summary);
  const backbone = backboneParameters(model, null);
  const emaModel = config.ema.enable ? buildClassifier(config, classes.length) : null;
  const ema = emaModel ? new ModelEma(model, emaModel, { momentum: config.ema.momentum }) : null;
  const optimizer = buildOptimizer(config, model);
  const trainLoader = new DataLoader(train, {
    batchSize: config.dataset.train_batch_size,
    shuffle: true,
    dropLast: true,
    seed: config.common.seed,
    transforms: config.image_augmentation.train,
    workers: config.dataset.workers,
  });
  const valLoader = new DataLoader(val, { batchSize: config.dataset.val_batch_size, transforms: config.image_augmentation.val, workers: config.dataset.workers });
  const stepsPerEpoch = trainLoader.batchesPerEpoch;
  if (stepsPerEpoch === 0) throw new FormatError(`train: ${train.length} training images make no full batch of ${config.dataset.train_batch_size}`);
  const s = config.scheduler;
  const schedule = buildSchedule(s, stepsPerEpoch);

  manualSeed(config.common.seed); // dropout draws from the default generator
  let loop: LoopState = {
    epoch: 0,
    batchInEpoch: 0,
    globalStep: 0,
    epochStats: { lossSum: 0, correct: 0, seen: 0, seconds: 0 },
    rng: defaultGenerator.getState(),
    best: { top1: -1, epoch: -1 },
    elapsedSeconds: 0,
  };
  if (options.resume) {
    const checkpoint = await loadCheckpoint(options.resume);
    if (checkpoint.classes.join() !== classes.join()) {
      throw new FormatError(`${options.resume}: trained on classes [${checkpoint.classes.join(', ')}], the data has [${classes.join(', ')}]`);
    }
    model.loadStateDict(checkpoint.model);
    if (emaModel) {
      if (!checkpoint.ema) throw new FormatError(`${options.resume}: the config enables EMA but the checkpoint holds no EMA weights`);
      emaModel.loadStateDict(checkpoint.ema);
    }
    optimizer.loadStateDict(checkpoint.optimizer);
    loop = checkpoint.loop;
    defaultGenerator.setState(loop.rng);
    print(`resuming from ${options.resume}: epoch ${loop.epoch + 1}, batch ${loop.batchInEpoch}, step ${loop.globalStep}`);
  }

  mkdirSync(out, { recursive: true });
  const logFile = join(out, LOG_FILE);
  const log = (record: Record<string, unknown>): void => appendFileSync(logFile, `${JSON.stringify(record)}\n`);
  // log.jsonl holds measurements only (every line has epoch, step and loss); starts and resumes
  // go to events.jsonl.
  appendFileSync(join(out, EVENTS_FILE), `${JSON.stringify({
    type: options.resume ? 'resume' : 'start',
    epoch: loop.epoch,
    step: loop.globalStep,
    model: config.model.name,
    parameters: model.numParameters(),
    train_images: train.length,
    val_images: val.length,
    steps_per_epoch: stepsPerEpoch,
    threads: config.common.threads ?? availableParallelism(),
    time: new Date().toISOString(),
  })}\n`);
  print(`${config.model.name}: ${model.numParameters().toLocaleString('en')} parameters; ${train.length} training and ${val.length} test images; ${stepsPerEpoch} steps per epoch; out ${out}`);

  const weightsInfo: WeightsInfo = { model: config.model.name, num_classes: classes.length, cifar_stem: config.model.cifar_stem, classes, input_size: [train.height, train.width], transforms: config.image_augmentation.val };
  const progress = new ProgressBar(options.progress ?? false);
  const runStarted = performance.now();
  const waitAtStart = trainLoader.stats.waitMs;
  let trainImages = 0;
  let trainSeconds = 0;
  let evalImages = 0;
  let evalSeconds = 0;
  let last: EvalResult | null = null;
  let lastEma: EvalResult | null = null;
  let stoppedAtMaxSteps = false;
  const maxSteps = config.common.max_steps;
  const saveState = (): Promise<void> =>
    saveCheckpoint(join(out, CHECKPOINT_FILE), { config, classes, inputSize: [train.height, train.width], loop: { ...loop, rng: defaultGenerator.getState() }, model, ema: emaModel, optimizer });

  try {
    while (loop.epoch < s.max_epochs && !stoppedAtMaxSteps) {
      const epoch = loop.epoch;
      model.train();
      freezeForEpoch(backbone, epoch, config.model.freeze_backbone_epochs);
      progress.start(`epoch ${epoch + 1}/${s.max_epochs}`, stepsPerEpoch, loop.batchInEpoch);
      const waitAtEpochStart = trainLoader.stats.waitMs;
      const epochStarted = performance.now();
      let stepStarted = performance.now();
      for await (const batch of trainLoader.epoch(epoch, loop.batchInEpoch)) {
        const lr = schedule.lrAt(loop.globalStep, epoch);
        optimizer.setLr(lr);
        const logits = model.forward(batch.images);
        const loss = crossEntropy(logits, batch.labels, { labelSmoothing: config.loss.label_smoothing });
        optimizer.zeroGrad();
        loss.backward();
        if (config.optim.grad_clip !== null) clipGradNorm(model.parameters(), config.optim.grad_clip);
        optimizer.step();
        ema?.update();

        const n = batch.labels.shape[0];
        const lossValue = loss.item();
        if (!Number.isFinite(lossValue)) throw new FormatError(`train: the loss became ${lossValue} at step ${loop.globalStep} (lr ${lr}); lower the learning rate or enable optim.grad_clip`);
        const now = performance.now();
        const seconds = (now - stepStarted) / 1000;
        stepStarted = now;
        trainImages += n;
        trainSeconds += seconds;
        loop.epochStats.lossSum += lossValue * n;
        loop.epochStats.correct += countTopK(logits, batch.labels, 1);
        loop.epochStats.seen += n;
        loop.epochStats.seconds += seconds;
        loop.globalStep++;
        loop.batchInEpoch++;
        loop.elapsedSeconds += seconds;
        if (loop.globalStep % config.common.log_every === 0) {
          log({ type: 'train', epoch, step: loop.globalStep, loss: lossValue, lr, images_per_second: n / seconds });
        }
        // One turn of the event loop per step: the step itself is synchronous, and without this the
        // progress bar's timers and the data workers' messages would wait for the epoch's end.
        await new Promise((resolve) => setImmediate(resolve));
        progress.update(loop.batchInEpoch, { loss: loop.epochStats.lossSum / loop.epochStats.seen, imagesPerSecond: loop.epochStats.seen / loop.epochStats.seconds });
        if (maxSteps !== null && loop.globalStep >= maxSteps) {
          stoppedAtMaxSteps = true;
          break;
        }
        const every = config.common.checkpoint_every;
        if (every !== null && loop.globalStep % every === 0 && loop.batchInEpoch < stepsPerEpoch) await saveState();
      }
      progress.stop();
      const dataWaitFraction = (trainLoader.stats.waitMs - waitAtEpochStart) / Math.max(1, performance.now() - epochStarted);
      if (loop.batchInEpoch < stepsPerEpoch) {
        // Stopped inside an epoch (max_steps): keep the exact position so --resume continues it.
        await saveState();
        print(`stopped after ${loop.globalStep} steps (max_steps); checkpoint ${join(out, CHECKPOINT_FILE)}`);
        break;
      }

      const evaluate = async (which: Module, label: string): Promise<EvalResult> => {
        progress.start(`epoch ${epoch + 1}/${s.max_epochs} ${label}`, valLoader.batchesPerEpoch);
        const result = await evaluateClassifier(which, valLoader, (done) => progress.update(done, {}));
        progress.stop();
        return result;
      };
      last = await evaluate(model, 'test');
      lastEma = emaModel ? await evaluate(emaModel, 'test (EMA)') : null;
      evalImages += last.images + (lastEma?.images ?? 0);
      evalSeconds += last.seconds + (lastEma?.seconds ?? 0);
      const stats = loop.epochStats;
      log({
        type: 'eval',
        epoch,
        step: loop.globalStep,
        loss: last.loss,
        top1: last.top1,
        top5: last.top5,
        ...(lastEma ? { ema_loss: lastEma.loss, ema_top1: lastEma.top1, ema_top5: lastEma.top5 } : {}),
        train_loss: stats.lossSum / stats.seen,
        train_top1: stats.correct / stats.seen,
        train_images_per_second: stats.seen / stats.seconds,
        // Share of this run's part of the epoch spent waiting for the data loader.
        data_wait_fraction: dataWaitFraction,
        eval_images_per_second: last.images / last.seconds,
        elapsed_seconds: loop.elapsedSeconds,
      });
      print(
        `epoch ${epoch + 1}/${s.max_epochs}: train loss ${(stats.lossSum / stats.seen).toFixed(4)}, test loss ${last.loss.toFixed(4)}, top-1 ${(100 * last.top1).toFixed(2)}%, top-5 ${(100 * last.top5).toFixed(2)}%` +
          (lastEma ? `; EMA top-1 ${(100 * lastEma.top1).toFixed(2)}%` : '') +
          `; ${(stats.seen / stats.seconds).toFixed(1)} img/s training, ${(last.images / last.seconds).toFixed(1)} img/s evaluating`,
      );
      const useEma = lastEma !== null && lastEma.top1 > last.top1;
      const bestOfEpoch = useEma ? lastEma!.top1 : last.top1;
      await saveWeights(join(out, 'model.safetensors'), useEma ? emaModel! : model, weightsInfo);
      if (bestOfEpoch > loop.best.top1) {
        loop.best = { top1: bestOfEpoch, epoch };
        await saveWeights(join(out, 'best.safetensors'), useEma ? emaModel! : model, weightsInfo);
      }
      loop.epoch = epoch + 1;
      loop.batchInEpoch = 0;
      loop.epochStats = { lossSum: 0, correct: 0, seen: 0, seconds: 0 };
      await saveState();
      await plotTrainingLog(logFile, join(out, PLOT_FILE), `${config.model.name} on ${config.dataset.name}`);
    }
  } finally {
    progress.stop();
    await trainLoader.close();
    await valLoader.close();
  }
  if (existsSync(logFile) && !existsSync(join(out, PLOT_FILE))) await plotTrainingLog(logFile, join(out, PLOT_FILE), `${config.model.name} on ${config.dataset.name}`);
  return {
    out,
    epochs: loop.epoch,
    steps: loop.globalStep,
    last,
    lastEma,
    best: loop.best,
    trainImagesPerSecond: trainImages / Math.max(trainSeconds, 1e-9),
    evalImagesPerSecond: evalSeconds > 0 ? evalImages / evalSeconds : null,
    dataWaitFraction: (trainLoader.stats.waitMs - waitAtStart) / 1000 / Math.max(trainSeconds, 1e-9),
    seconds: (performance.now() - runStarted) / 1000,
    stoppedAtMaxSteps,
  };
}
