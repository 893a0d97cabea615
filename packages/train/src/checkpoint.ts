import { existsSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FormatError, Tensor } from '@parcnet/tensor';
import type { Module, Optimizer } from '@parcnet/nn';
import { loadSafetensors, loadWeightsFile, serializeSafetensors } from '@parcnet/io';
import type { TrainConfig } from './config.js';

/**
 * Where a run stands: its position in the epochs, the running statistics of the epoch, the
 * random-generator state and the best evaluation. Saved in every checkpoint, so that a resumed run
 * continues exactly where this one stopped.
 */
export interface LoopState {
  /** The epoch in progress (or the next to start when batchInEpoch is 0). */
  epoch: number;
  /** Batches of `epoch` already trained. */
  batchInEpoch: number;
  /** Optimiser steps so far. */
  globalStep: number;
  /** Running sums of the epoch's training loss and accuracy. */
  epochStats: {
    /** Σ over the batches of mean batch loss × batch size. */
    lossSum: number;
    /** Training images whose top-1 prediction was right (classification; 0 for other tasks). */
    correct: number;
    /** Training images seen this epoch. */
    seen: number;
    /** Time spent in training steps this epoch (seconds). */
    seconds: number;
  };
  /** State of the default generator (dropout). */
  rng: number[];
  /** Best evaluation so far (the one best.safetensors holds) and its epoch. */
  best: {
    /** Top-1 of the model or its EMA, whichever was better (for other tasks the value of their bestMetric); −1 (−∞ for other tasks) before any evaluation. */
    top1: number;
    /** Its epoch, from 0; −1 before any evaluation. */
    epoch: number;
  };
  /** Training wall time so far (seconds). */
  elapsedSeconds: number;
  /**
   * Updates the EMA has had (its warm-up reads the count); 0 with EMA off. Absent from checkpoints
   * written before it was kept, where it equals globalStep (one update a step).
   */
  emaUpdates?: number;
  /**
   * The plan of a time budget (`common.budget`) once made, kept as is by a resumed run; null
   * without a budget or before the first steps are timed. Only the decisions are kept here, so
   * that two runs with the same decisions have equal loop states; the measured speeds that led to
   * them are in events.jsonl.
   */
  plan?: {
    /** The budget planned for, in seconds. */
    budgetSeconds: number;
    /** Epochs in all: the cosine ends with the last, which is evaluated. */
    epochs: number;
    /** Optimiser steps in all, the last epoch's possibly fewer than a whole epoch's; absent in checkpoints from before plans could cut an epoch (epochs × steps per epoch). */
    steps?: number;
    /** The global step after which the plan was made. */
    step: number;
    /** The global step after which the speed's drift re-planned the run, or null: a run re-plans at most once. */
    replannedAtStep: number | null;
  } | null;
}

/**
 * A training checkpoint as read back. On disk it is one safetensors file (written by
 * `writeFileDurably`: a kill, a crash or a full disk leaves the previous checkpoint whole):
 * ```text
 * model.<key>                 the model's state dict (structural keys)
 * ema.<key>                   the EMA model's, when EMA is on
 * optimizer.<i>.<name>        float64 per-parameter optimiser state (i = parameter order)
 * ```
 * and in the metadata under "parcnet" a JSON object with the config, the loop position, the
 * random-generator state and the optimiser's scalars. Together they make a resumed run equal to
 * an uninterrupted one, bit for bit.
 */
export interface Checkpoint {
  /** The run's config (another task's config object, as is, for detection and segmentation). */
  config: TrainConfig;
  /** Class names by label index. */
  classes: string[];
  /** [height, width] of the model's input, as WeightsInfo.input_size. */
  inputSize: [number, number];
  /** Where the run stood. */
  loop: LoopState;
  /** The model's state dict (structural keys, no `residual.*` aliases). */
  model: Record<string, Tensor>;
  /** The EMA model's state dict; null when EMA is off. */
  ema: Record<string, Tensor> | null;
  /** The optimiser's state, ready for its loadStateDict. */
  optimizer: ReturnType<Optimizer<{
    /** The group's learning rate when the checkpoint was saved. */
    lr: number;
  }>['stateDict']>;
  /** What rebuilds the model (null in classification checkpoints written before every task recorded it). */
  weightsInfo: WeightsInfo | null;
}

const FORMAT = 'parcnet-checkpoint/1';

/**
 * Writes a training checkpoint (layout on {@link Checkpoint}) to `file`, with `parts.weightsInfo`
 * (what rebuilds the model) when given.
 */
export async function saveCheckpoint(
  file: string,
  parts: { config: TrainConfig; classes: readonly string[]; inputSize: [number, number]; loop: LoopState; model: Module; ema: Module | null; optimizer: Optimizer<{ lr: number }>; weightsInfo?: WeightsInfo },
): Promise<void> {
  const tensors: Record<string, Tensor> = {};
  for (const [k, t] of Object.entries(parts.model.stateDict({ aliases: false }))) tensors[`model.${k}`] = t;
  if (parts.ema) for (const [k, t] of Object.entries(parts.ema.stateDict({ aliases: false }))) tensors[`ema.${k}`] = t;
  const optimizerState = parts.optimizer.stateDict();
  const scalars = optimizerState.state.map((s, i) => {
    if (!s) return null;
    const kept: Record<string, number> = {};
    for (const [name, value] of Object.entries(s)) {
      if (typeof value === 'number') kept[name] = value;
      else tensors[`optimizer.${i}.${name}`] = new Tensor(Float64Array.from(value), [value.length]);
    }
    return kept;
  });
  const meta = { format: FORMAT, config: parts.config, classes: parts.classes, inputSize: parts.inputSize, loop: parts.loop, optimizer: { groups: optimizerState.groups, scalars }, ...(parts.weightsInfo ? { weightsInfo: parts.weightsInfo } : {}) };
  await writeFileDurably(file, serializeSafetensors(tensors, { metadata: { parcnet: JSON.stringify(meta) } }), checkpointStall());
}

/** Checkpoints this process has begun to write (the stall hook counts them). */
let checkpointWrites = 0;

/**
 * Test hook of the kill tests, read from the environment: `PARCNET_TEST_CHECKPOINT_STALL=<n>:half`
 * (or `<n>:whole`) makes this process's n-th checkpoint write stop after half of the temporary file
 * (or all of it, synced, before the rename), say so on stderr and wait to be killed, so that a
 * test can kill the process in the middle of a write deterministically instead of by luck.
 */
function checkpointStall(): 'half' | 'whole' | null {
  checkpointWrites++;
  const match = /^(\d+):(half|whole)$/.exec(process.env.PARCNET_TEST_CHECKPOINT_STALL ?? '');
  return match && Number(match[1]) === checkpointWrites ? (match[2] as 'half' | 'whole') : null;
}

/**
 * Writes `bytes` to `file` so that a kill, a crash, a power cut or a full disk at any moment leaves
 * either the previous file or the new one, whole: the bytes go to `<file>.tmp` in the same folder
 * (a rename is atomic only within one file system), are flushed to the disk (fsync) and only then
 * renamed over `file`; the folder is flushed after, so that the rename itself is on the disk. A
 * failure removes the temporary file and throws a FormatError naming `file` and the cause (no space
 * left, no permission). `stall` is the test hook of `checkpointStall`.
 */
export async function writeFileDurably(file: string, bytes: Uint8Array, stall: 'half' | 'whole' | null = null): Promise<void> {
  // One fixed name, not one per process: a write cut short by a kill leaves at most one stale
  // temporary file, which the next write replaces.
  const temporary = `${file}.tmp`;
  try {
    const handle = await open(temporary, 'w');
    try {
      const first = stall === 'half' ? bytes.length >> 1 : bytes.length;
      await handle.writeFile(bytes.subarray(0, first));
      if (stall === 'half') await stallForTest(temporary);
      await handle.writeFile(bytes.subarray(first));
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (stall === 'whole') await stallForTest(temporary);
    await rename(temporary, file);
  } catch (e) {
    await rm(temporary, { force: true });
    const previous = existsSync(file) ? 'the previous file is unchanged' : 'nothing was written';
    throw new FormatError(`${file}: cannot be written (${(e as Error).message}); ${previous}`);
  }
  await syncFolder(dirname(file));
}

/** Flushes a folder's entries (a rename) to the disk; a system that cannot open a folder (Windows) keeps the rename in its own time. */
async function syncFolder(folder: string): Promise<void> {
  let handle;
  try {
    handle = await open(folder, 'r');
    await handle.sync();
  } catch {
    // The rename has happened; only its durability across a power cut is left to the system.
  } finally {
    await handle?.close();
  }
}

/** The stall of the test hook: announce the temporary file on stderr and wait (for SIGKILL). */
async function stallForTest(temporary: string): Promise<void> {
  process.stderr.write(`checkpoint write stalled (test hook): ${temporary}\n`);
  await new Promise((resolve) => setTimeout(resolve, 2 ** 31 - 1));
}

/** Reads a checkpoint saveCheckpoint wrote; throws a FormatError when the file is missing or not a parcnet training checkpoint. */
export async function loadCheckpoint(file: string): Promise<Checkpoint> {
  if (!existsSync(file)) throw new FormatError(`${file}: no such checkpoint`);
  const { tensors, metadata } = await loadSafetensors(file);
  return checkpointFrom(tensors, metadata, file);
}

/** The checkpoint held by an already-read safetensors file. */
function checkpointFrom(tensors: Record<string, Tensor>, metadata: Record<string, string>, file: string): Checkpoint {
  let meta: { format: string; config: TrainConfig; classes: string[]; inputSize: [number, number]; loop: LoopState; optimizer: { groups: { lr: number }[]; scalars: (Record<string, number> | null)[] }; weightsInfo?: WeightsInfo };
  try {
    meta = JSON.parse(metadata.parcnet ?? 'null') as typeof meta;
  } catch {
    throw new FormatError(`${file}: the "parcnet" metadata is not JSON`);
  }
  if (meta?.format !== FORMAT) throw new FormatError(`${file}: not a parcnet training checkpoint (metadata format ${JSON.stringify(meta?.format)}, expected ${FORMAT})`);
  const pick = (prefix: string): Record<string, Tensor> => {
    const out: Record<string, Tensor> = {};
    for (const [k, t] of Object.entries(tensors)) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = t;
    return out;
  };
  const ema = pick('ema.');
  const state = meta.optimizer.scalars.map((scalars, i) => {
    if (!scalars) return null;
    const entry: Record<string, number | number[]> = { ...scalars };
    for (const [k, t] of Object.entries(pick(`optimizer.${i}.`))) entry[k] = Array.from(t.toTypedArray());
    return entry;
  });
  return { config: meta.config, classes: meta.classes, inputSize: meta.inputSize, loop: meta.loop, model: pick('model.'), ema: Object.keys(ema).length > 0 ? ema : null, optimizer: { groups: meta.optimizer.groups, state }, weightsInfo: meta.weightsInfo ?? null };
}

/** What a weights file needs to be evaluated or used for prediction on its own. */
export interface WeightsInfo {
  /** Model zoo name (`createModel` of @parcnet/models). */
  model: string;
  /** Outputs of the model: classes, background included for detection and segmentation. */
  num_classes: number;
  /** Whether the model has the CIFAR stem (spec §12); false for detection and segmentation. */
  cifar_stem: boolean;
  /** Class names by label index (`background` first for detection and segmentation). */
  classes: string[];
  /** [height, width] of the training images; other images are resized to it before the transforms. */
  input_size: [number, number];
  /** The evaluation transforms the weights were trained with. */
  transforms: TrainConfig['image_augmentation']['val'];
  /** What the model does: classify (the default when absent), detect or segment. */
  task?: 'classify' | 'detect' | 'segment';
}

/** A plain weights file: the official key layout (aliases included) plus what built the model. */
export async function saveWeights(file: string, model: Module, info: WeightsInfo): Promise<void> {
  await writeFileDurably(file, serializeSafetensors(model.stateDict(), { metadata: { parcnet_model: JSON.stringify(info) }, int64Keys: (k) => k.endsWith('num_batches_tracked') }));
}

/**
 * Reads weights from a weights file or from a training checkpoint (its model weights, or with
 * `ema` its EMA weights), with the information needed to rebuild the model (null for a PyTorch
 * `.pt` file or a plain safetensors file that does not carry it).
 */
export async function loadWeights(file: string, options: { ema?: boolean } = {}): Promise<{
  /** The state dict, in the file's key layout. */
  state: Record<string, Tensor>;
  /** What rebuilds the model; null when the file does not carry it. */
  info: WeightsInfo | null;
}> {
  if (!existsSync(file)) throw new FormatError(`${file}: no such weights file`);
  const { tensors, metadata } = await loadWeightsFile(file);
  if (metadata.parcnet_model) return { state: tensors, info: JSON.parse(metadata.parcnet_model) as WeightsInfo };
  if (metadata.parcnet) {
    const checkpoint = checkpointFrom(tensors, metadata, file);
    const c = checkpoint.config;
    if (options.ema && !checkpoint.ema) throw new FormatError(`${file}: the checkpoint holds no EMA weights`);
    const state = options.ema ? checkpoint.ema! : checkpoint.model;
    if (checkpoint.weightsInfo) return { state, info: checkpoint.weightsInfo };
    // A checkpoint written before the engine recorded WeightsInfo for every task (classification).
    return {
      state,
      info: { model: c.model.name, num_classes: checkpoint.classes.length, cifar_stem: c.model.cifar_stem, classes: checkpoint.classes, input_size: checkpoint.inputSize, transforms: c.image_augmentation.val },
    };
  }
  return { state: tensors, info: null };
}
