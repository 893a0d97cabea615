import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { FormatError } from '@parcnet/tensor';
import { validateTransforms, type TransformSpec } from '@parcnet/data';
import { modelNames } from '@parcnet/models';

/**
 * A classification run, in the nested shape of the official recipes (spec §10): model, dataset,
 * image_augmentation, loss, optim, scheduler, ema, common. Keys are snake_case as in those YAML
 * files; `parseTrainConfig` fills defaults and rejects unknown keys (a typo must not be ignored).
 */
export interface TrainConfig {
  model: { name: string; cifar_stem: boolean; classifier_dropout: number; block_dropout: number };
  dataset: {
    name: 'cifar10' | 'cifar100';
    data: string | null;
    train_batch_size: number;
    val_batch_size: number;
    workers: number;
    /** Use only this many training / test images, balanced over the classes (smoke runs, tests); null = all. */
    train_images: number | null;
    val_images: number | null;
  };
  image_augmentation: { train: TransformSpec[]; val: TransformSpec[] };
  loss: { label_smoothing: number };
  optim: {
    name: 'adamw' | 'sgd';
    weight_decay: number;
    adamw: { beta1: number; beta2: number; eps: number };
    sgd: { momentum: number; nesterov: boolean };
    /** Clip the global gradient norm to this; null = no clipping (official). */
    grad_clip: number | null;
  };
  scheduler: {
    max_epochs: number;
    warmup_iterations: number;
    warmup_init_lr: number;
    /** 'epoch' = official (cosine constant within an epoch), 'iteration' = smooth. */
    per: 'epoch' | 'iteration';
    cosine: { max_lr: number; min_lr: number };
  };
  ema: { enable: boolean; momentum: number };
  common: {
    seed: number;
    /** WASM kernel threads; null = one per core. */
    threads: number | null;
    out: string;
    /** Stop after this many optimiser steps (smoke runs); null = train every epoch. */
    max_steps: number | null;
    /** Training log line every n steps. */
    log_every: number;
    /** Also save the full checkpoint every n steps inside an epoch (a crash loses less); null = at epoch ends only. */
    checkpoint_every: number | null;
  };
}

const CIFAR_TRAIN: TransformSpec[] = [
  { name: 'randomCrop', size: 32, padding: 4 },
  { name: 'horizontalFlip', p: 0.5 },
  { name: 'bgr' },
  { name: 'toFloat' },
];

export const DEFAULT_CONFIG: TrainConfig = {
  model: { name: 'parcnet-xs', cifar_stem: true, classifier_dropout: 0.1, block_dropout: 0.0 },
  dataset: { name: 'cifar10', data: null, train_batch_size: 64, val_batch_size: 250, workers: 1, train_images: null, val_images: null },
  image_augmentation: { train: CIFAR_TRAIN, val: [{ name: 'bgr' }, { name: 'toFloat' }] },
  loss: { label_smoothing: 0.1 },
  optim: { name: 'adamw', weight_decay: 0.05, adamw: { beta1: 0.9, beta2: 0.999, eps: 1e-8 }, sgd: { momentum: 0.9, nesterov: true }, grad_clip: null },
  scheduler: { max_epochs: 20, warmup_iterations: 500, warmup_init_lr: 0.0002, per: 'iteration', cosine: { max_lr: 0.002, min_lr: 0.00002 } },
  ema: { enable: true, momentum: 0.0005 },
  common: { seed: 0, threads: null, out: 'runs/cifar10-parcnet-xs', max_steps: null, log_every: 10, checkpoint_every: 200 },
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
 * A config file as a plain object, with a relative `dataset.data` folder resolved against the file
 * (so configs travel with their data) and its task; the `task` key itself is removed.
 */
export function readConfigFile(file: string): { raw: Record<string, unknown>; task: TaskName } {
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
  const task = config.task ?? 'classification';
  if (task !== 'classification' && task !== 'detection' && task !== 'segmentation') throw new FormatError(`${file}: task must be classification, detection or segmentation, got ${JSON.stringify(task)}`);
  delete config.task;
  return { raw: config, task };
}

export function loadTrainConfig(file: string, overrides: unknown = {}): TrainConfig {
  const { raw, task } = readConfigFile(file);
  if (task !== 'classification') throw new FormatError(`${file}: a ${task} config; the classification trainer cannot run it`);
  return parseTrainConfig(raw, file, overrides);
}

/** A config error naming the file (or "command line") it came from. */
export function configError(where: string, what: string): never {
  throw new FormatError(`${where}: ${what}`);
}

export function checkPositiveInteger(v: unknown, name: string, where: string): void {
  if (!Number.isInteger(v) || (v as number) < 1) configError(where, `${name} must be a positive integer, got ${JSON.stringify(v)}`);
}

export function checkNonNegative(v: unknown, name: string, where: string): void {
  if (typeof v !== 'number' || !(v >= 0)) configError(where, `${name} must be a number ≥ 0, got ${JSON.stringify(v)}`);
}

/** Checks the sections every task shares: optim, scheduler, common. */
export function checkSharedConfig(c: Pick<TrainConfig, 'optim' | 'scheduler' | 'common'>, where: string): void {
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
  nonNegative(c.scheduler.cosine.max_lr, 'scheduler.cosine.max_lr');
  nonNegative(c.scheduler.cosine.min_lr, 'scheduler.cosine.min_lr');
  nonNegative(c.scheduler.warmup_init_lr, 'scheduler.warmup_init_lr');
  nonNegative(c.scheduler.warmup_iterations, 'scheduler.warmup_iterations');
  nonNegative(c.optim.weight_decay, 'optim.weight_decay');
  if (c.optim.grad_clip !== null) nonNegative(c.optim.grad_clip, 'optim.grad_clip');
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
  if (typeof c.model.cifar_stem !== 'boolean') fail('model.cifar_stem must be true or false');
  c.image_augmentation.train = validateTransforms(c.image_augmentation.train, `${where}: image_augmentation.train`);
  c.image_augmentation.val = validateTransforms(c.image_augmentation.val, `${where}: image_augmentation.val`);
}
