import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { FormatError } from '@parcnet/tensor';
import { validateTransforms, type TransformSpec } from '@parcnet/data';
import { modelNames } from '@parcnet/models';
import { parseDuration } from './budget.js';

/**
 * A classification run, in the nested shape of the official recipes (spec §10): model, dataset,
 * image_augmentation, loss, optim, scheduler, ema, common. Keys are snake_case as in those YAML
 * files; `parseTrainConfig` fills defaults and rejects unknown keys (a typo must not be ignored).
 */
export interface TrainConfig {
  /** The network (YAML `model`). */
  model: {
    /** A model of the zoo (`modelNames` of @parcnet/models); default `parcnet-xs`; CLI `--model`. */
    name: string;
    /** Stem stride 1 instead of 2, for 32×32 inputs (spec §12, not official); default true; CLI `--cifar-stem` / `--no-cifar-stem`. */
    cifar_stem: boolean;
    /** Dropout before the classifier, ≥ 0; default 0.1 (cvnets `model.classification.classifier_dropout`, 0.2 in the official recipes). */
    classifier_dropout: number;
    /** Dropout after each ParC block's FFN, ≥ 0; default 0 (0.1 in the official recipes, spec §3). */
    block_dropout: number;
    /**
     * Weights to start from (`loadPretrained`): a `.pt` (official layout) or a weights file or
     * checkpoint of `parcnet train`, resolved against the config file when relative; a head of
     * another number of classes is skipped; null (default) = random initialisation; CLI `--pretrained`
     * (cvnets `model.classification.pretrained`).
     */
    pretrained: string | null;
    /** Epochs, from the first, during which every parameter but the head's gets no update, ≥ 0; default 0; CLI `--freeze-backbone`. */
    freeze_backbone_epochs: number;
  };
  /** The data and its batches (YAML `dataset`). */
  dataset: {
    /** The dataset; default `cifar10`; CLI `--dataset`. */
    name: 'cifar10' | 'cifar100';
    /**
     * Folder with the official binary files or `train/` and `test/` class folders, resolved against
     * the config file when relative; null (default) = `$PARCNET_DATA/<name>`, then the cache
     * `~/.cache/parcnet`, else a download; CLI `--data`.
     */
    data: string | null;
    /** Images per optimiser step, ≥ 1 (the last partial batch is dropped); default 64; CLI `--batch-size` (cvnets `dataset.train_batch_size0`). */
    train_batch_size: number;
    /** Images per evaluation batch, ≥ 1; default 250 (cvnets `dataset.val_batch_size0`). */
    val_batch_size: number;
    /** DataLoader worker threads, ≥ 0 (0 = batches made on the training thread; image decoding uses at least 1); default 1; CLI `--workers`. */
    workers: number;
    /** Use only this many training images, balanced over the classes (smoke runs, tests); null (default) = all; CLI `--train-images`. */
    train_images: number | null;
    /** Use only this many test images, balanced over the classes; null (default) = all; CLI `--val-images`. */
    val_images: number | null;
  };
  /** Transforms applied in order to each image (YAML `image_augmentation`; `TransformSpec` of @parcnet/data). */
  image_augmentation: {
    /** Training transforms; default randomCrop 32 with padding 4, horizontalFlip 0.5, bgr, toFloat. */
    train: TransformSpec[];
    /** Evaluation transforms, also recorded in the weights files; default bgr, toFloat (BGR in [0, 1], the official input convention, spec §7). */
    val: TransformSpec[];
  };
  /** The training loss, cross-entropy (YAML `loss`). */
  loss: {
    /** Label smoothing ε in [0, 1) of the training loss (evaluation uses plain cross-entropy); default 0.1 (cvnets `loss.classification.label_smoothing_factor`, spec §10). */
    label_smoothing: number;
  };
  /** The optimiser, one parameter group with weight decay on every parameter (YAML `optim`, as cvnets'; spec §10). */
  optim: {
    /** `adamw` (PyTorch AdamW, decoupled weight decay; default) or `sgd`. */
    name: 'adamw' | 'sgd';
    /** Weight decay, ≥ 0; default 0.05 (cvnets `optim.weight_decay`). */
    weight_decay: number;
    /** AdamW's coefficients (cvnets `optim.adamw`). */
    adamw: {
      /** β₁, the first-moment decay; default 0.9. */
      beta1: number;
      /** β₂, the second-moment decay; default 0.999. */
      beta2: number;
      /** ε added to the denominator; default 1e-8. */
      eps: number;
    };
    /** SGD's settings (cvnets `optim.sgd`). */
    sgd: {
      /** Momentum factor; default 0.9. */
      momentum: number;
      /** Nesterov momentum; default true. */
      nesterov: boolean;
    };
    /** Clip the global gradient norm to this; null (default) = no clipping, as the official recipes (cvnets `common.grad_clip`). */
    grad_clip: number | null;
  };
  /** The learning rate: linear warm-up, then cosine (YAML `scheduler`, cvnets' cosine scheduler; spec §10). */
  scheduler: {
    /** Epochs to train, ≥ 1; default 20; CLI `--epochs`. */
    max_epochs: number;
    /** Optimiser steps of linear warm-up from warmup_init_lr to cosine.max_lr, ≥ 0; default 500. */
    warmup_iterations: number;
    /** Learning rate at step 0 of the warm-up, ≥ 0; default 2e-4. */
    warmup_init_lr: number;
    /** 'epoch' = official (cosine constant within an epoch, cvnets `is_iteration_based: false`), 'iteration' = smooth; default 'iteration'. */
    per: 'epoch' | 'iteration';
    /** The cosine's bounds (cvnets `scheduler.cosine`). */
    cosine: {
      /** Peak learning rate, reached at the end of the warm-up, ≥ 0; default 2e-3; CLI `--lr`. */
      max_lr: number;
      /** Learning rate the cosine ends at, ≥ 0; default 2e-5. */
      min_lr: number;
    };
  };
  /** Exponential moving average of the model's weights and buffers (YAML `ema`, as cvnets'; spec §10). */
  ema: {
    /** Keep, evaluate and save an EMA model; default true. */
    enable: boolean;
    /** m in ema ← (1 − m)·ema + m·model after every optimiser step, in (0, 1]; default 0.0005. */
    momentum: number;
    /**
     * Larger steps at first: the t-th update uses max(m, 1 − (1 + t)/(10 + t)) (TensorFlow's
     * ExponentialMovingAverage with num_updates), so that a short run's EMA forgets the initial
     * weights and BatchNorm statistics; default false, as the official recipes (which train for
     * 300 epochs, where it makes no difference).
     */
    warmup: boolean;
  };
  /** When and how the model is evaluated on the test split (YAML `evaluation`). */
  evaluation: {
    /** Evaluate after every n-th epoch, ≥ 1, and always after the last one; default 1. */
    every_epochs: number;
    /**
     * Test-time flip: also run each test image mirrored left to right and score the mean of the two
     * logits (doubles the evaluation's time); default false. Training metrics are unaffected.
     */
    flip_tta: boolean;
  };
  /** Run-wide settings (YAML `common`). */
  common: {
    /** Seed of the initialisation, the data order, the augmentation and dropout; default 0; CLI `--seed`. */
    seed: number;
    /** WASM kernel threads; null (default) = one per core; CLI `--threads`. */
    threads: number | null;
    /** Output folder of the log, plot, checkpoint and weights files; default `runs/cifar10-parcnet-xs`; CLI `--out`. */
    out: string;
    /** Stop after this many optimiser steps (smoke runs); null (default) = train every epoch; CLI `--max-steps`. */
    max_steps: number | null;
    /** Training log line every n steps, ≥ 1; default 10. */
    log_every: number;
    /** Also save the full checkpoint every n steps inside an epoch (a crash loses less); null = at epoch ends only; default 200. */
    checkpoint_every: number | null;
    /**
     * A wall-time budget (`2h`, `90m`, `45s`, `1h30m`) from the run's start to the end of its final
     * evaluation: the engine times the first steps and a slice of the evaluation, then lays the
     * warm-up + cosine over the steps that fit (epochs, the last possibly cut short; at most
     * scheduler.max_epochs), re-planning once if the speed drifts by more than 10 % and shortening
     * the plan whenever the measured speed would end it past the budget; null (default) = train
     * scheduler.max_epochs; CLI `--budget`.
     */
    budget: string | null;
  };
}

const CIFAR_TRAIN: TransformSpec[] = [
  { name: 'randomCrop', size: 32, padding: 4 },
  { name: 'horizontalFlip', p: 0.5 },
  { name: 'bgr' },
  { name: 'toFloat' },
];

/**
 * The classification defaults every config is merged into: ParC-Net-XS with the CIFAR stem on
 * CIFAR-10, 20 epochs of AdamW with warm-up + cosine, label smoothing 0.1 and EMA (a CIFAR recipe,
 * not the official ImageNet one of spec §10). Each key's default is listed on {@link TrainConfig}.
 */
export const DEFAULT_CONFIG: TrainConfig = {
  model: { name: 'parcnet-xs', cifar_stem: true, classifier_dropout: 0.1, block_dropout: 0.0, pretrained: null, freeze_backbone_epochs: 0 },
  dataset: { name: 'cifar10', data: null, train_batch_size: 64, val_batch_size: 250, workers: 1, train_images: null, val_images: null },
  image_augmentation: { train: CIFAR_TRAIN, val: [{ name: 'bgr' }, { name: 'toFloat' }] },
  loss: { label_smoothing: 0.1 },
  optim: { name: 'adamw', weight_decay: 0.05, adamw: { beta1: 0.9, beta2: 0.999, eps: 1e-8 }, sgd: { momentum: 0.9, nesterov: true }, grad_clip: null },
  scheduler: { max_epochs: 20, warmup_iterations: 500, warmup_init_lr: 0.0002, per: 'iteration', cosine: { max_lr: 0.002, min_lr: 0.00002 } },
  ema: { enable: true, momentum: 0.0005, warmup: false },
  evaluation: { every_epochs: 1, flip_tta: false },
  common: { seed: 0, threads: null, out: 'runs/cifar10-parcnet-xs', max_steps: null, log_every: 10, checkpoint_every: 200, budget: null },
};

/** Deep-merges `overrides` into `base`, refusing keys the base does not have. */
export function mergeConfig(base: unknown, overrides: unknown, path: string, where: string): unknown {
  if (overrides === undefined) return base;
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(base) || !isObject(overrides)) return overrides;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    if (!(key in base)) throw new FormatError(`${where}: unknown key ${path}${key}; known: ${Object.keys(base).join(', ')}`);
    out[key] = mergeConfig(base[key], value, `${path}${key}.`, where);
  }
  return out;
}

/** Defaults ← the parsed YAML ← overrides (CLI flags), checked. */
export function parseTrainConfig(raw: unknown, where = 'config', overrides: unknown = {}): TrainConfig {
  const merged = mergeConfig(mergeConfig(DEFAULT_CONFIG, raw ?? {}, '', where), overrides, '', 'command line') as TrainConfig;
  checkConfig(merged, where);
  return merged;
}

/** The tasks a config file can train; its top-level `task` key says which (default classification). */
export type TaskName = 'classification' | 'detection' | 'segmentation';

/**
 * A config file as a plain object, with a relative `dataset.data` folder and `model.pretrained` file
 * resolved against the file (so configs travel with their data) and its task; the `task` key itself
 * is removed.
 */
export function readConfigFile(file: string): {
  /** The file's sections, without `task`. */
  raw: Record<string, unknown>;
  /** The file's `task` key; default `classification`. */
  task: TaskName;
} {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8')) ?? {};
  } catch (e) {
    throw new FormatError(`${file}: not readable YAML (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new FormatError(`${file}: a config must be a mapping of sections, got ${JSON.stringify(raw)}`);
  const config = raw as Record<string, unknown>;
  const dataset = config.dataset as { data?: unknown } | undefined;
  if (typeof dataset?.data === 'string' && !isAbsolute(dataset.data)) dataset.data = resolve(dirname(file), dataset.data);
  const model = config.model as { pretrained?: unknown } | undefined;
  if (typeof model?.pretrained === 'string' && !isAbsolute(model.pretrained)) model.pretrained = resolve(dirname(file), model.pretrained);
  const task = config.task ?? 'classification';
  if (task !== 'classification' && task !== 'detection' && task !== 'segmentation') throw new FormatError(`${file}: task must be classification, detection or segmentation, got ${JSON.stringify(task)}`);
  delete config.task;
  return { raw: config, task };
}

/**
 * Reads and checks a classification config file: defaults ← the file ← `overrides` (CLI flags).
 * Throws a FormatError when the file is for another task or has an unknown key or a bad value.
 */
export function loadTrainConfig(file: string, overrides: unknown = {}): TrainConfig {
  const { raw, task } = readConfigFile(file);
  if (task !== 'classification') throw new FormatError(`${file}: a ${task} config; the classification trainer cannot run it`);
  return parseTrainConfig(raw, file, overrides);
}

/** A config error naming the file (or "command line") it came from. */
export function configError(where: string, what: string): never {
  throw new FormatError(`${where}: ${what}`);
}

/** Throws a config error unless `v` is an integer ≥ 1; `name` is the key the message names. */
export function checkPositiveInteger(v: unknown, name: string, where: string): void {
  if (!Number.isInteger(v) || (v as number) < 1) configError(where, `${name} must be a positive integer, got ${JSON.stringify(v)}`);
}

/** Throws a config error unless `v` is a number ≥ 0 (NaN fails); `name` is the key the message names. */
export function checkNonNegative(v: unknown, name: string, where: string): void {
  if (typeof v !== 'number' || !(v >= 0)) configError(where, `${name} must be a number ≥ 0, got ${JSON.stringify(v)}`);
}

/** Checks the sections every task shares: optim, scheduler, common, and the model's start (pretrained, freeze_backbone_epochs). */
export function checkSharedConfig(c: Pick<TrainConfig, 'optim' | 'scheduler' | 'common'> & { model: Pick<TrainConfig['model'], 'pretrained' | 'freeze_backbone_epochs'> }, where: string): void {
  const fail = (what: string): never => configError(where, what);
  const positiveInteger = (v: unknown, name: string): void => checkPositiveInteger(v, name, where);
  const nonNegative = (v: unknown, name: string): void => checkNonNegative(v, name, where);
  if (!['adamw', 'sgd'].includes(c.optim.name)) fail(`optim.name must be adamw or sgd, got ${JSON.stringify(c.optim.name)}`);
  if (!['epoch', 'iteration'].includes(c.scheduler.per)) fail(`scheduler.per must be epoch or iteration`);
  positiveInteger(c.scheduler.max_epochs, 'scheduler.max_epochs');
  positiveInteger(c.common.log_every, 'common.log_every');
  if (c.common.max_steps !== null) positiveInteger(c.common.max_steps, 'common.max_steps');
  if (c.common.checkpoint_every !== null) positiveInteger(c.common.checkpoint_every, 'common.checkpoint_every');
  if (c.common.threads !== null) positiveInteger(c.common.threads, 'common.threads');
  if (c.common.budget !== null && (typeof c.common.budget !== 'string' || parseDuration(c.common.budget) === null)) {
    fail(`common.budget (--budget) must be a duration such as 2h, 90m, 45s or 1h30m, or null; got ${JSON.stringify(c.common.budget)}`);
  }
  nonNegative(c.scheduler.cosine.max_lr, 'scheduler.cosine.max_lr');
  nonNegative(c.scheduler.cosine.min_lr, 'scheduler.cosine.min_lr');
  nonNegative(c.scheduler.warmup_init_lr, 'scheduler.warmup_init_lr');
  nonNegative(c.scheduler.warmup_iterations, 'scheduler.warmup_iterations');
  nonNegative(c.optim.weight_decay, 'optim.weight_decay');
  if (c.optim.grad_clip !== null) nonNegative(c.optim.grad_clip, 'optim.grad_clip');
  if (c.model.pretrained !== null && typeof c.model.pretrained !== 'string') fail(`model.pretrained must be a file name or null, got ${JSON.stringify(c.model.pretrained)}`);
  if (!Number.isInteger(c.model.freeze_backbone_epochs) || c.model.freeze_backbone_epochs < 0) fail(`model.freeze_backbone_epochs must be an integer ≥ 0, got ${JSON.stringify(c.model.freeze_backbone_epochs)}`);
}

function checkConfig(c: TrainConfig, where: string): void {
  const fail = (what: string): never => configError(where, what);
  const positiveInteger = (v: unknown, name: string): void => checkPositiveInteger(v, name, where);
  const nonNegative = (v: unknown, name: string): void => checkNonNegative(v, name, where);
  checkSharedConfig(c, where);
  if (!modelNames.includes(c.model.name)) fail(`model.name ${JSON.stringify(c.model.name)} is not one of ${modelNames.join(', ')}`);
  if (!['cifar10', 'cifar100'].includes(c.dataset.name)) fail(`dataset.name must be cifar10 or cifar100, got ${JSON.stringify(c.dataset.name)}`);
  positiveInteger(c.dataset.train_batch_size, 'dataset.train_batch_size');
  positiveInteger(c.dataset.val_batch_size, 'dataset.val_batch_size');
  if (c.dataset.train_images !== null) positiveInteger(c.dataset.train_images, 'dataset.train_images');
  if (c.dataset.val_images !== null) positiveInteger(c.dataset.val_images, 'dataset.val_images');
  if (!Number.isInteger(c.dataset.workers) || c.dataset.workers < 0) fail(`dataset.workers must be an integer ≥ 0`);
  nonNegative(c.model.classifier_dropout, 'model.classifier_dropout');
  nonNegative(c.model.block_dropout, 'model.block_dropout');
  if (!(c.loss.label_smoothing >= 0 && c.loss.label_smoothing < 1)) fail(`loss.label_smoothing must be in [0, 1)`);
  if (!(c.ema.momentum > 0 && c.ema.momentum <= 1)) fail(`ema.momentum must be in (0, 1]`);
  if (typeof c.ema.warmup !== 'boolean') fail('ema.warmup must be true or false');
  positiveInteger(c.evaluation.every_epochs, 'evaluation.every_epochs');
  if (typeof c.evaluation.flip_tta !== 'boolean') fail('evaluation.flip_tta must be true or false');
  if (typeof c.model.cifar_stem !== 'boolean') fail('model.cifar_stem must be true or false');
  c.image_augmentation.train = validateTransforms(c.image_augmentation.train, `${where}: image_augmentation.train`);
  c.image_augmentation.val = validateTransforms(c.image_augmentation.val, `${where}: image_augmentation.val`);
}
