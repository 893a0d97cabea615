import { appendFileSync, mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { defaultGenerator, FormatError, Generator, manualSeed, type Tensor } from '@parcnet/tensor';
import { clipGradNorm, type Module } from '@parcnet/nn';
import { setNumThreads } from '@parcnet/wasm';
import { loadCheckpoint, saveCheckpoint, saveWeights, type LoopState, type WeightsInfo } from './checkpoint.js';
import type { TrainConfig } from './config.js';
import { plotTrainingLog, type PlotSeries } from './plot.js';
import { backboneParameters, freezeForEpoch, loadPretrained } from './pretrained.js';
import { ProgressBar } from './progress.js';
import { buildOptimizer, buildSchedule, CHECKPOINT_FILE, EVENTS_FILE, LOG_FILE, PLOT_FILE, type TrainOptions } from './trainer.js';

/**
 * The parts of a run's config every task shares with the classification trainer (same keys, same
 * meaning): the optimiser, the schedule and the common settings, plus how often to evaluate.
 */
export interface TaskLoopConfig {
  /** The optimiser (YAML `optim`), as for classification. */
  optim: TrainConfig['optim'];
  /** The learning-rate schedule (YAML `scheduler`), as for classification. */
  scheduler: TrainConfig['scheduler'];
  /** How the model starts (YAML `model`, beside the task's own keys), as for classification. */
  model: Pick<TrainConfig['model'], 'pretrained' | 'freeze_backbone_epochs'>;
  /** Seed, threads, out folder, step limit, log and checkpoint intervals (YAML `common`), as for classification. */
  common: TrainConfig['common'];
  /** When the task is evaluated (YAML `evaluation`). */
  evaluation: {
    /** Evaluate every n epochs, ≥ 1, and always after the last one. */
    every_epochs: number;
  };
}

/**
 * What a task (detection, segmentation) gives the loop: its model, how many batches an epoch has,
 * the loss of one batch, and its evaluation. The loop owns everything else: optimiser, schedule,
 * logging, progress, checkpoints, resume, weights files and the plot.
 */
export interface TrainingTask {
  /** Names the run in the messages and titles the plot. */
  title: string;
  /** The model the loop trains, evaluates and saves. */
  model: Module;
  /** The child of `model` holding its ParC-Net backbone (`encoder`): what `model.pretrained` loads and `model.freeze_backbone_epochs` holds still. */
  backbone: string;
  /** Optimiser steps (batches) per epoch; 0 makes trainTask throw. */
  stepsPerEpoch: number;
  /** Forward and loss of batch `index` of `epoch`; must depend only on (seed, epoch, index) so resume is exact. */
  batchLoss(epoch: number, index: number): {
    /** The batch's scalar loss, to back-propagate. */
    loss: Tensor;
    /** Images in the batch (they weight the epoch's mean loss and count for images/s). */
    images: number;
  };
  /** Metrics of the model after an epoch (the model is in eval mode; the loop restores train mode). */
  evaluate(epoch: number, progress: (done: number, total: number, phase: string) => void): Record<string, number>;
  /** The metric best.safetensors follows (higher is better). */
  bestMetric: string;
  /** What a weights file records so predict can rebuild the model. */
  weightsInfo: WeightsInfo;
  /** The plot's evaluation curves. */
  plotSeries: PlotSeries[];
}

/** What trainTask returns: how far the run got, its last and best evaluation, and its speed. */
export interface TaskTrainResult {
  /** The run's output folder (`common.out`). */
  out: string;
  /** Epochs completed, those of resumed runs included. */
  epochs: number;
  /** Optimiser steps so far, those of resumed runs included. */
  steps: number;
  /** The last evaluation's metrics (null when none ran). */
  last: Record<string, number> | null;
  /** The best evaluation so far, the one best.safetensors holds. */
  best: {
    /** Best value of the task's bestMetric; −∞ when no evaluation ran. */
    value: number;
    /** Its epoch, from 0; −1 when no evaluation ran. */
    epoch: number;
  };
  /** Training images per second over this run's steps (evaluation excluded). */
  trainImagesPerSecond: number;
  /** Wall time of this run (seconds). */
  seconds: number;
  /** Wall time spent evaluating (seconds), this run. */
  evalSeconds: number;
}


/** A generator for data choices that depends only on the run's seed, the epoch and a position. */
export function epochGenerator(seed: number, epoch: number, position: number): Generator {
  return new Generator(seed * 1_000_003 + epoch * 7919 + position * 104_729 + 17);
}

/** A shuffled order of `count` items for `epoch` (the same for the same seed and epoch). */
export function epochOrder(count: number, seed: number, epoch: number): Int32Array {
  const order = Int32Array.from({ length: count }, (_, i) => i);
  const rng = epochGenerator(seed, epoch, -1);
  for (let i = count - 1; i > 0; i--) {
    const j = rng.integer(0, i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/**
 * Trains a task's model: warm-up + cosine, AdamW or SGD, optional gradient clipping; evaluates every
 * `evaluation.every_epochs` epochs and after the last; writes log.jsonl (train lines: epoch, step,
 * loss, lr; eval lines: epoch, step, loss = the epoch's mean training loss, and the task's metrics),
 * events.jsonl, curves.png, checkpoint.safetensors (atomic, resumable), model.safetensors and
 * best.safetensors into common.out.
 */
export async function trainTask(config: TaskLoopConfig, task: TrainingTask, options: TrainOptions = {}): Promise<TaskTrainResult> {
  const print = options.print ?? ((): void => undefined);
  const out = config.common.out;
  setNumThreads(config.common.threads ?? availableParallelism());
  const { model, stepsPerEpoch } = task;
  if (stepsPerEpoch === 0) throw new FormatError(`train: the training split makes no full batch`);
  // A resumed run takes every weight from its checkpoint instead.
  if (config.model.pretrained !== null && !options.resume) print((await loadPretrained(model, config.model.pretrained, { backbone: task.backbone })).summary);
  const backbone = backboneParameters(model, task.backbone);
  const optimizer = buildOptimizer(config, model);
  const s = config.scheduler;
  const schedule = buildSchedule(s, stepsPerEpoch);
  manualSeed(config.common.seed);
  let loop: LoopState = {
    epoch: 0,
    batchInEpoch: 0,
    globalStep: 0,
    epochStats: { lossSum: 0, correct: 0, seen: 0, seconds: 0 },
    rng: defaultGenerator.getState(),
    best: { top1: -Infinity, epoch: -1 },
    elapsedSeconds: 0,
  };
  if (options.resume) {
    const checkpoint = await loadCheckpoint(options.resume);
    model.loadStateDict(checkpoint.model);
    optimizer.loadStateDict(checkpoint.optimizer);
    loop = checkpoint.loop;
    defaultGenerator.setState(loop.rng);
    print(`resuming from ${options.resume}: epoch ${loop.epoch + 1}, batch ${loop.batchInEpoch}, step ${loop.globalStep}`);
  }

  mkdirSync(out, { recursive: true });
  const logFile = join(out, LOG_FILE);
  const log = (record: Record<string, unknown>): void => appendFileSync(logFile, `${JSON.stringify(record)}\n`);
  const threads = config.common.threads ?? availableParallelism();
  appendFileSync(join(out, EVENTS_FILE), `${JSON.stringify({ type: options.resume ? 'resume' : 'start', epoch: loop.epoch, step: loop.globalStep, model: task.weightsInfo.model, parameters: model.numParameters(), steps_per_epoch: stepsPerEpoch, threads, time: new Date().toISOString() })}\n`);
  print(`${task.title}: ${task.weightsInfo.model}, ${model.numParameters().toLocaleString('en')} parameters; ${stepsPerEpoch} steps per epoch; out ${out}`);

  const progress = new ProgressBar(options.progress ?? false);
  const started = performance.now();
  let trainImages = 0;
  let trainSeconds = 0;
  let evalSeconds = 0;
  let last: Record<string, number> | null = null;
  const maxSteps = config.common.max_steps;
  let stopped = false;
  const saveState = (): Promise<void> =>
    saveCheckpoint(join(out, CHECKPOINT_FILE), { config: config as unknown as TrainConfig, classes: task.weightsInfo.classes, inputSize: task.weightsInfo.input_size, loop: { ...loop, rng: defaultGenerator.getState() }, model, ema: null, optimizer, weightsInfo: task.weightsInfo });

  try {
    while (loop.epoch < s.max_epochs && !stopped) {
      const epoch = loop.epoch;
      model.train();
      freezeForEpoch(backbone, epoch, config.model.freeze_backbone_epochs);
      progress.start(`epoch ${epoch + 1}/${s.max_epochs}`, stepsPerEpoch, loop.batchInEpoch);
      let stepStarted = performance.now();
      for (let index = loop.batchInEpoch; index < stepsPerEpoch; index++) {
        const lr = schedule.lrAt(loop.globalStep, epoch);
        optimizer.setLr(lr);
        const { loss, images } = task.batchLoss(epoch, index);
        optimizer.zeroGrad();
        loss.backward();
        if (config.optim.grad_clip !== null) clipGradNorm(model.parameters(), config.optim.grad_clip);
        optimizer.step();
        const value = loss.item();
        if (!Number.isFinite(value)) throw new FormatError(`train: the loss became ${value} at step ${loop.globalStep} (lr ${lr}); lower the learning rate or enable optim.grad_clip`);
        const now = performance.now();
        const seconds = (now - stepStarted) / 1000;
        stepStarted = now;
        trainImages += images;
        trainSeconds += seconds;
        loop.epochStats.lossSum += value * images;
        loop.epochStats.seen += images;
        loop.epochStats.seconds += seconds;
        loop.globalStep++;
        loop.batchInEpoch++;
        loop.elapsedSeconds += seconds;
        if (loop.globalStep % config.common.log_every === 0) log({ type: 'train', epoch, step: loop.globalStep, loss: value, lr, images_per_second: images / seconds });
        await new Promise((resolve) => setImmediate(resolve)); // let the progress bar draw
        progress.update(loop.batchInEpoch, { loss: loop.epochStats.lossSum / loop.epochStats.seen, imagesPerSecond: loop.epochStats.seen / loop.epochStats.seconds });
        if (maxSteps !== null && loop.globalStep >= maxSteps) {
          stopped = true;
          break;
        }
        const every = config.common.checkpoint_every;
        if (every !== null && loop.globalStep % every === 0 && loop.batchInEpoch < stepsPerEpoch) await saveState();
      }
      progress.stop();
      if (loop.batchInEpoch < stepsPerEpoch) {
        await saveState();
        print(`stopped after ${loop.globalStep} steps (max_steps); checkpoint ${join(out, CHECKPOINT_FILE)}`);
        break;
      }
      const stats = loop.epochStats;
      const trainLoss = stats.lossSum / stats.seen;
      const evaluateNow = (epoch + 1) % config.evaluation.every_epochs === 0 || epoch + 1 === s.max_epochs || (maxSteps !== null && loop.globalStep >= maxSteps);
      if (evaluateNow) {
        const evalStarted = performance.now();
        model.eval();
        let phase = '';
        last = task.evaluate(epoch, (done, total, name) => {
          if (name !== phase) {
            progress.stop();
            progress.start(`epoch ${epoch + 1}/${s.max_epochs} ${name}`, total);
            phase = name;
          }
          progress.update(done, {});
        });
        progress.stop();
        model.train();
        evalSeconds += (performance.now() - evalStarted) / 1000;
        log({ type: 'eval', epoch, step: loop.globalStep, loss: trainLoss, ...last, train_images_per_second: stats.seen / stats.seconds, elapsed_seconds: loop.elapsedSeconds });
        print(`epoch ${epoch + 1}/${s.max_epochs}: train loss ${trainLoss.toFixed(4)}; ${Object.entries(last).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')}; ${(stats.seen / stats.seconds).toFixed(2)} img/s training`);
        await saveWeights(join(out, 'model.safetensors'), model, task.weightsInfo);
        const value = last[task.bestMetric];
        if (value > loop.best.top1) {
          loop.best = { top1: value, epoch };
          await saveWeights(join(out, 'best.safetensors'), model, task.weightsInfo);
        }
      } else {
        log({ type: 'epoch', epoch, step: loop.globalStep, loss: trainLoss, train_images_per_second: stats.seen / stats.seconds, elapsed_seconds: loop.elapsedSeconds });
        print(`epoch ${epoch + 1}/${s.max_epochs}: train loss ${trainLoss.toFixed(4)}; ${(stats.seen / stats.seconds).toFixed(2)} img/s`);
      }
      loop.epoch = epoch + 1;
      loop.batchInEpoch = 0;
      loop.epochStats = { lossSum: 0, correct: 0, seen: 0, seconds: 0 };
      await saveState();
      await plotTrainingLog(logFile, join(out, PLOT_FILE), task.title, { evalSeries: task.plotSeries });
    }
  } finally {
    progress.stop();
  }
  return {
    out,
    epochs: loop.epoch,
    steps: loop.globalStep,
    last,
    best: { value: loop.best.top1, epoch: loop.best.epoch },
    trainImagesPerSecond: trainImages / Math.max(trainSeconds, 1e-9),
    seconds: (performance.now() - started) / 1000,
    evalSeconds,
  };
}
