import { accessSync, appendFileSync, constants, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { defaultGenerator, FormatError, Generator, manualSeed, startScope, type MemoryScope, type Tensor } from '@parcnet/tensor';
import { AdamW, clipGradNorm, ModelEma, SGD, warmupCosine, type LrSchedule, type Module, type Optimizer } from '@parcnet/nn';
import { poolStats, setNumThreads } from '@parcnet/wasm';
import { budgetDrift, budgetRefusal, EVAL_SLICE, evaluationsBetween, formatDuration, lastEpochSteps, MEASURE_STEPS, parseDuration, planBudget, replanEvalSeconds, replanReason, UNDERRUN_SLACK, type BudgetPlanNumbers, type BudgetPosition, type BudgetSpeed } from './budget.js';
import { loadCheckpoint, saveCheckpoint, saveWeights, writeFileDurably, type LoopState, type WeightsInfo } from './checkpoint.js';
import type { TrainConfig } from './config.js';
import { plotTrainingLog, type PlotSeries } from './plot.js';
import { backboneParameters, freezeForEpoch, loadPretrained } from './pretrained.js';
import { ProgressBar } from './progress.js';

/** Name, in the out folder, of the full resumable checkpoint, rewritten after every epoch. */
export const CHECKPOINT_FILE = 'checkpoint.safetensors';
/** Name, in the out folder, of the JSON-lines log of measurements: `train` lines every `common.log_every` steps, one `eval` (or `epoch`) line per epoch. */
export const LOG_FILE = 'log.jsonl';
/** Name, in the out folder, of the JSON-lines record of what is not a measurement: run starts, resumes and ends, a budget's plan and re-plan. */
export const EVENTS_FILE = 'events.jsonl';
/** Name, in the out folder, of the loss and accuracy curves (PNG), redrawn after every epoch. */
export const PLOT_FILE = 'curves.png';

/** How to run a training (the run itself comes from the config). */
export interface TrainOptions {
  /** A checkpoint to continue from (model, optimiser, schedule position, EMA, generators). */
  resume?: string;
  /** Show the progress bar (the CLI does; tests do not). */
  progress?: boolean;
  /** Where the trainer's messages go (default: nowhere). */
  print?: (message: string) => void;
  /**
   * Stops the run when it fires (the CLI fires it on Ctrl-C and SIGTERM): the step under way is
   * finished, a checkpoint of that position is written, and the result says `interrupted`. An
   * evaluation under way is abandoned at its next progress report, and the checkpoint holds the
   * position before it, so that `resume` evaluates again: the resumed run stays equal, bit for bit,
   * to an uninterrupted one.
   */
  signal?: AbortSignal;
}

/**
 * The parts of a run's config the engine reads, the same keys with the same meaning for every task:
 * the optimiser, the schedule, how the model starts, the common settings, and optionally EMA and
 * how often to evaluate.
 */
export interface TaskLoopConfig {
  /** The optimiser (YAML `optim`). */
  optim: TrainConfig['optim'];
  /** The learning-rate schedule (YAML `scheduler`). */
  scheduler: TrainConfig['scheduler'];
  /** How the model starts (YAML `model`, beside the task's own keys). */
  model: Pick<TrainConfig['model'], 'pretrained' | 'freeze_backbone_epochs'>;
  /** Seed, threads, out folder, step limit, log and checkpoint intervals (YAML `common`). */
  common: TrainConfig['common'];
  /** An exponential moving average of the weights, evaluated beside the model (YAML `ema`); absent = off. */
  ema?: TrainConfig['ema'];
  /** When the task is evaluated (YAML `evaluation`); absent = after every epoch. */
  evaluation?: {
    /** Evaluate every n epochs, ≥ 1, and always after the last one. */
    every_epochs: number;
  };
}

/** One training batch's forward pass, as a task's `batches` yields it. */
export interface StepLoss {
  /** The batch's scalar loss, to back-propagate. */
  loss: Tensor;
  /** Images in the batch (they weight the epoch's mean loss and count for images/s). */
  images: number;
  /** Images whose top-1 prediction was right (classification); absent for other tasks. */
  correct?: number;
}

/**
 * What a task (classification, detection, segmentation) gives the engine: its model builder, its
 * batches and their loss, its evaluation and what rebuilds the model for predict. The engine owns
 * everything else: optimiser, schedule, clipping, EMA, logging, progress, checkpoints, resume,
 * pretrained weights, backbone freezing, weights files and the plot.
 */
export interface TrainingTask<M extends Module = Module> {
  /** Names the run in the messages and titles the plot. */
  title: string;
  /** A new model, the same every call (seeded): the one trained, and with EMA on the average's copy. */
  buildModel(): M;
  /** The child of the model holding its ParC-Net backbone (`encoder`), or null for a classifier (the whole model): what `model.pretrained` loads and `model.freeze_backbone_epochs` holds still. */
  backbone: string | null;
  /** Optimiser steps (batches) per epoch; 0 makes trainTask throw. */
  stepsPerEpoch: number;
  /**
   * The forward passes of `epoch` from batch `start` on, one per step, computed lazily (the engine
   * sets the learning rate before asking for the next); they must depend only on (seed, epoch,
   * index) and the default generator so that resume is exact. A data loader may prefetch meanwhile.
   */
  batches(model: M, epoch: number, start: number): Iterable<StepLoss> | AsyncIterable<StepLoss>;
  /** Metrics of `model` after an epoch (in eval mode; the engine restores its mode), each ≥ 0; `phase` names a part for the progress bar. */
  evaluate(model: M, epoch: number, progress: (done: number, total: number, phase: string) => void): Record<string, number> | Promise<Record<string, number>>;
  /** Training measurements of the epoch for its eval line beside `train_loss` (classification: `train_top1`). */
  trainMetrics?(stats: LoopState['epochStats']): Record<string, number>;
  /** The evaluation in words for the epoch's message (default: every metric, `name value`). */
  summary?(metrics: Record<string, number>): string;
  /** Milliseconds spent so far waiting for batches, when the data comes from a loader (logged as `data_wait_fraction`). */
  dataWaitMs?(): number;
  /** The metric best.safetensors follows (higher is better; with EMA on, the better of it and `ema_<metric>`). */
  bestMetric: string;
  /** What a weights file records so predict can rebuild the model; its classes must match a resumed checkpoint's. */
  weightsInfo: WeightsInfo;
  /** More of the run's description for events.jsonl (sizes of the data). */
  runInfo?: Record<string, unknown>;
  /** The plot's evaluation curves (default: the classification curves). */
  plotSeries?: PlotSeries[];
}

/** What trainTask returns: how far the run got, its last and best evaluation, its speed and its models. */
export interface TaskTrainResult<M extends Module = Module> {
  /** The run's output folder (`common.out`). */
  out: string;
  /** Epochs completed, those of resumed runs included. */
  epochs: number;
  /** Optimiser steps so far, those of resumed runs included. */
  steps: number;
  /** The last evaluation's metrics, the EMA's with an `ema_` prefix (null when none ran). */
  last: Record<string, number> | null;
  /** The best evaluation so far, the one best.safetensors holds. */
  best: {
    /** Best value of the task's bestMetric (of the model or its EMA); −1 when no evaluation ran. */
    value: number;
    /** Its epoch, from 0; −1 when no evaluation ran. */
    epoch: number;
  };
  /** Training images per second over this run's steps (evaluation excluded). */
  trainImagesPerSecond: number;
  /** Share of this run's training time spent waiting for batches (0 without a data loader). */
  dataWaitFraction: number;
  /** Wall time of this run (seconds). */
  seconds: number;
  /** Wall time spent evaluating (seconds), this run. */
  evalSeconds: number;
  /** True when `common.max_steps` ended the run. */
  stoppedAtMaxSteps: boolean;
  /** True when `options.signal` stopped the run; checkpoint.safetensors in `out` holds where it stood. */
  interrupted: boolean;
  /** The trained model. */
  model: M;
  /** Its EMA copy; null when EMA is off. */
  emaModel: M | null;
}

/** The optimiser a config names, over every parameter (spec §10: weight decay on all of them, one group). */
function buildOptimizer(config: Pick<TrainConfig, 'optim' | 'scheduler'>, model: Module): Optimizer<{ lr: number }> {
  const params = model.parameters();
  const o = config.optim;
  if (o.name === 'sgd') return new SGD(params, { lr: config.scheduler.cosine.max_lr, momentum: o.sgd.momentum, nesterov: o.sgd.nesterov, weightDecay: o.weight_decay });
  return new AdamW(params, { lr: config.scheduler.cosine.max_lr, betas: [o.adamw.beta1, o.adamw.beta2], eps: o.adamw.eps, weightDecay: o.weight_decay });
}

/**
 * The warm-up + cosine schedule a config's scheduler section describes, its cosine over `epochs`
 * (scheduler.max_epochs, or a budget's plan), and per iteration over `steps` when a plan cuts the
 * last epoch short.
 */
function buildSchedule(s: TrainConfig['scheduler'], stepsPerEpoch: number, epochs: number, steps = epochs * stepsPerEpoch): LrSchedule {
  return warmupCosine({
    maxLr: s.cosine.max_lr,
    minLr: s.cosine.min_lr,
    warmupIterations: s.warmup_iterations,
    warmupInitLr: s.warmup_init_lr,
    maxEpochs: epochs,
    per: s.per,
    iterationsPerEpoch: stepsPerEpoch,
    totalIterations: steps,
  });
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
 * Creates the out folder, or says before any training why it cannot be written (a file in its place
 * or on its path, no permission, a read-only disk), naming it and the cause.
 */
function prepareOutFolder(out: string): void {
  if (existsSync(out) && !statSync(out).isDirectory()) throw new FormatError(`${out}: is a file, not a folder (common.out, --out, names the folder of the run's log, checkpoints and weights)`);
  try {
    mkdirSync(out, { recursive: true });
    accessSync(out, constants.W_OK);
  } catch (e) {
    throw new FormatError(`${out}: the out folder cannot be written (${(e as Error).message})`);
  }
}

/** Appends one JSON line to `file`; a failure (a full disk) names the file and the cause. */
function appendRecord(file: string, record: Record<string, unknown>): void {
  try {
    appendFileSync(file, `${JSON.stringify(record)}\n`);
  } catch (e) {
    throw new FormatError(`${file}: cannot be written (${(e as Error).message})`);
  }
}

/**
 * Drops the log lines of what came after `loop`'s position: a run killed after its last
 * checkpoint had logged steps (perhaps an evaluation) that the resumed run takes, and logs, again.
 */
async function dropLogAfter(logFile: string, loop: LoopState): Promise<void> {
  if (!existsSync(logFile)) return;
  const lines = readFileSync(logFile, 'utf8').split('\n').filter((line) => line !== '');
  const kept = lines.filter((line) => {
    let record: { type?: string; epoch?: number; step?: number };
    try {
      record = JSON.parse(line) as typeof record;
    } catch {
      return false; // a line cut short by a crash
    }
    // Evaluations and epoch lines come before the checkpoint that moves loop.epoch past them.
    return record.type === 'train' ? (record.step ?? Infinity) <= loop.globalStep : (record.epoch ?? Infinity) < loop.epoch;
  });
  if (kept.length < lines.length) await writeFileDurably(logFile, new TextEncoder().encode(kept.map((line) => `${line}\n`).join('')));
}

/** Thrown from an evaluation's progress report to abandon it when the run's signal fires. */
class EvaluationAbandoned extends Error {}

/** `n thing` or `n things`, n with thousands separators. */
const count = (n: number, thing: string): string => `${n.toLocaleString('en')} ${thing}${n === 1 ? '' : 's'}`;

/** The metrics with every key prefixed. */
const prefixed = (prefix: string, metrics: Record<string, number>): Record<string, number> => Object.fromEntries(Object.entries(metrics).map(([k, v]) => [prefix + k, v]));

/**
 * The training engine, one for every task: warm-up + cosine, AdamW or SGD, optional gradient
 * clipping and EMA, pretrained weights and a frozen backbone for the first epochs; evaluates every
 * `evaluation.every_epochs` epochs and after the last; writes log.jsonl (train lines: epoch, step,
 * loss, lr; eval lines: epoch, step, loss (the task's `loss` metric, else the epoch's mean training
 * loss), the task's metrics, train_loss), events.jsonl, curves.png, checkpoint.safetensors (atomic,
 * resumable from inside an epoch, bit for bit), model.safetensors and best.safetensors into
 * common.out.
 */
export async function trainTask<M extends Module>(config: TaskLoopConfig, task: TrainingTask<M>, options: TrainOptions = {}): Promise<TaskTrainResult<M>> {
  const print = options.print ?? ((): void => undefined);
  // The budget's clock starts here: the run's wall time, setup included.
  const started = performance.now();
  const out = config.common.out;
  prepareOutFolder(out);
  const threads = config.common.threads ?? availableParallelism();
  setNumThreads(threads);
  const { stepsPerEpoch, weightsInfo } = task;
  if (stepsPerEpoch === 0) throw new FormatError(`train: the training split makes no full batch`);
  const model = task.buildModel();
  // A resumed run takes every weight from its checkpoint instead.
  if (config.model.pretrained !== null && !options.resume) print((await loadPretrained(model, config.model.pretrained, { backbone: task.backbone })).summary);
  const backbone = backboneParameters(model, task.backbone);
  const emaModel = config.ema?.enable ? task.buildModel() : null;
  const ema = emaModel ? new ModelEma(model, emaModel, { momentum: config.ema!.momentum, warmup: config.ema!.warmup }) : null;
  const optimizer = buildOptimizer(config, model);
  const s = config.scheduler;
  manualSeed(config.common.seed); // dropout draws from the default generator
  let loop: LoopState = {
    epoch: 0,
    batchInEpoch: 0,
    globalStep: 0,
    epochStats: { lossSum: 0, correct: 0, seen: 0, seconds: 0 },
    rng: defaultGenerator.getState(),
    best: { top1: -1, epoch: -1 },
    elapsedSeconds: 0,
    emaUpdates: 0,
    plan: null,
  };
  // With a budget, scheduler.max_epochs bounds the plan; until the plan is made, the cosine is laid
  // over it (the timed steps lie inside the warm-up in any usual config, where it makes no difference).
  const totalEpochs = (): number => loop.plan?.epochs ?? s.max_epochs;
  /** Steps in all; a plan may cut its last epoch short. */
  const totalSteps = (): number => loop.plan?.steps ?? totalEpochs() * stepsPerEpoch;
  /** Steps in `epoch`: a whole epoch's, or fewer in a plan's last. */
  const stepsIn = (epoch: number): number => Math.min(stepsPerEpoch, totalSteps() - epoch * stepsPerEpoch);
  if (options.resume) {
    const checkpoint = await loadCheckpoint(options.resume);
    if (checkpoint.classes.join() !== weightsInfo.classes.join()) {
      throw new FormatError(`${options.resume}: trained on classes [${checkpoint.classes.join(', ')}], the data has [${weightsInfo.classes.join(', ')}]`);
    }
    model.loadStateDict(checkpoint.model);
    if (emaModel) {
      if (!checkpoint.ema) throw new FormatError(`${options.resume}: the config enables EMA but the checkpoint holds no EMA weights`);
      emaModel.loadStateDict(checkpoint.ema);
      // The warm-up depends on the count; checkpoints from before it was kept made one update a step.
      ema!.updates = checkpoint.loop.emaUpdates ?? checkpoint.loop.globalStep;
    }
    optimizer.loadStateDict(checkpoint.optimizer);
    loop = { ...checkpoint.loop, emaUpdates: ema?.updates ?? 0, plan: checkpoint.loop.plan ?? null };
    defaultGenerator.setState(loop.rng);
    print(`resuming from ${options.resume}: epoch ${loop.epoch + 1}, batch ${loop.batchInEpoch}, step ${loop.globalStep}`);
    if (loop.plan) {
      // The plan came from the speed of the first run; the gap between the runs is unknown, so the
      // resumed run keeps it as it is and never re-plans: two resumed runs end alike.
      const budget = config.common.budget;
      const other = budget !== null && parseDuration(budget) !== loop.plan.budgetSeconds ? ` (common.budget ${budget} does not change it)` : '';
      print(`budget: keeping the checkpoint's plan of ${formatDuration(loop.plan.budgetSeconds)}: ${count(loop.plan.epochs, 'epoch')}, ${count(totalSteps(), 'step')}${other}`);
    }
  }
  let schedule = buildSchedule(s, stepsPerEpoch, totalEpochs(), totalSteps());

  const logFile = join(out, LOG_FILE);
  const eventsFile = join(out, EVENTS_FILE);
  if (options.resume) await dropLogAfter(logFile, loop);
  const log = (record: Record<string, unknown>): void => appendRecord(logFile, record);
  // log.jsonl holds measurements only (every line has epoch, step and loss); starts, resumes, ends and a budget's plans go to events.jsonl.
  appendRecord(eventsFile, {
    type: options.resume ? 'resume' : 'start',
    epoch: loop.epoch,
    step: loop.globalStep,
    model: weightsInfo.model,
    parameters: model.numParameters(),
    ...task.runInfo,
    steps_per_epoch: stepsPerEpoch,
    threads,
    ...(config.common.budget !== null ? { budget: config.common.budget } : {}),
    time: new Date().toISOString(),
  });
  print(`${task.title}: ${weightsInfo.model}, ${model.numParameters().toLocaleString('en')} parameters; ${stepsPerEpoch} steps per epoch; out ${out}`);

  const progress = new ProgressBar(options.progress ?? false);
  const waitMs = (): number => task.dataWaitMs?.() ?? 0;
  const waitAtStart = waitMs();
  let trainImages = 0;
  let trainSeconds = 0;
  let evalSeconds = 0;
  let last: Record<string, number> | null = null;
  const maxSteps = config.common.max_steps;
  const everyEpochs = config.evaluation?.every_epochs ?? 1;
  let stopped = false;
  const aborted = (): boolean => options.signal?.aborted ?? false;
  let interrupted = false;
  const checkpointFile = join(out, CHECKPOINT_FILE);
  const saveState = (): Promise<void> =>
    saveCheckpoint(checkpointFile, { config: config as unknown as TrainConfig, classes: weightsInfo.classes, inputSize: weightsInfo.input_size, loop: { ...loop, rng: defaultGenerator.getState() }, model, ema: emaModel, optimizer, weightsInfo });
  const plot = (): Promise<void> => plotTrainingLog(logFile, join(out, PLOT_FILE), task.title, { evalSeries: task.plotSeries });

  // A time budget (budget.ts): the run's first steps but its very first, and a slice of the
  // evaluation, are timed; the plan then lays the cosine over the steps that fit. The last epoch
  // may be cut short; it ends the schedule and is evaluated like any last epoch.
  const budgetSeconds = config.common.budget === null ? null : parseDuration(config.common.budget);
  /** This run's training steps, and its first, which pays for start-up (compilation, the loader's first batches) and is left out of the speed when there are others. */
  const timed = { steps: 0, seconds: 0, images: 0, first: { seconds: 0, images: 0 } };
  const timedSpeed = (): { seconds: number; images: number; steps: number } =>
    timed.steps > 1 ? { seconds: timed.seconds - timed.first.seconds, images: timed.images - timed.first.images, steps: timed.steps - 1 } : timed;
  let evaluationsThisRun = 0;
  /** The plan this process made: the speed it assumed, and when and where (step, evaluation time, evaluations) it was made; null for a plan kept from a checkpoint, which is never re-planned. */
  let planned: { speed: BudgetSpeed; at: number; step: number; evalSeconds: number; evaluations: number } | null = null;
  const position = (epoch: number, budget: number): BudgetPosition => ({
    budgetSeconds: budget,
    elapsedSeconds: (performance.now() - started) / 1000,
    steps: loop.globalStep,
    epoch,
    stepsPerEpoch,
    everyEpochs,
    maxEpochs: s.max_epochs,
  });
  const imagesPerStep = (): number => timedSpeed().images / timedSpeed().steps;
  const budgetRecord = (type: string, at: BudgetPosition, speed: BudgetSpeed, plan: BudgetPlanNumbers): Record<string, unknown> => ({
    type,
    epoch: at.epoch,
    step: at.steps,
    budget: config.common.budget,
    budget_seconds: at.budgetSeconds,
    elapsed_seconds: at.elapsedSeconds,
    train_images_per_second: imagesPerStep() / speed.stepSeconds,
    step_seconds: speed.stepSeconds,
    eval_seconds: speed.evalSeconds,
    epochs: plan.epochs,
    steps: plan.steps,
    evaluations: plan.evaluations,
    expected_seconds: plan.expectedSeconds,
    expected_end: new Date(Date.now() + 1000 * (plan.expectedSeconds - at.elapsedSeconds)).toISOString(),
    capped_by_max_epochs: plan.capped,
    time: new Date().toISOString(),
  });
  const lastEpochCut = (plan: BudgetPlanNumbers): string => {
    const last = lastEpochSteps(plan.steps, plan.epochs, stepsPerEpoch);
    return last < stepsPerEpoch ? ` (the last one cut to ${last} of its ${stepsPerEpoch} steps)` : '';
  };
  const describePlan = (at: BudgetPosition, speed: BudgetSpeed, plan: BudgetPlanNumbers): string => {
    const end = new Date(Date.now() + 1000 * (plan.expectedSeconds - at.elapsedSeconds));
    return (
      `${(imagesPerStep() / speed.stepSeconds).toFixed(1)} img/s training (${speed.stepSeconds.toFixed(3)} s a step), ` +
      `${formatDuration(speed.evalSeconds)} an evaluation${emaModel ? ' (model and EMA)' : ''}; ` +
      `plan: ${count(plan.epochs, 'epoch')}${lastEpochCut(plan)}, ${count(plan.steps, 'step')}, ${count(plan.evaluations, 'evaluation')} to go` +
      `${plan.capped ? ` (scheduler.max_epochs ${s.max_epochs} bounds it)` : ''}; expected end ${end.toTimeString().slice(0, 8)}, ` +
      `${formatDuration(plan.expectedSeconds)} after the start`
    );
  };
  /**
   * Seconds one evaluation of the model takes, from a slice of one (EVAL_SLICE) that is then
   * abandoned, as an interrupt abandons one: eval mode changes no state and the generator is put
   * back, so the run goes on as if it had not happened. An evaluation in several parts (detection,
   * segmentation: one per split) is timed to the end of the part in progress; the first real
   * evaluation shows the rest, and the drift check re-plans if it matters. Null when the signal
   * fired meanwhile.
   */
  const timeEvaluation = async (epoch: number): Promise<number | null> => {
    const rng = defaultGenerator.getState();
    const wasTraining = model.training;
    model.eval();
    const begun = performance.now();
    let phase: { name: string; done: number; at: number } | null = null;
    let estimate: number | null = null;
    try {
      await task.evaluate(model, epoch, (done, total, name) => {
        if (aborted()) throw new EvaluationAbandoned();
        const now = performance.now();
        if (phase === null || name !== phase.name) {
          // A part's first report pays for its data loader's start: the rate is timed from there.
          phase = { name, done, at: now };
          progress.stop();
          progress.start(`timing the evaluation (${name})`, total);
        } else if (done - phase.done >= EVAL_SLICE.reports && now - phase.at >= 1000 * EVAL_SLICE.seconds) {
          estimate = (now - begun) / 1000 + ((total - done) * (now - phase.at)) / 1000 / (done - phase.done);
          throw new EvaluationAbandoned();
        }
        progress.update(done, {});
      });
      estimate = (performance.now() - begun) / 1000; // short enough to run whole: its own time
    } catch (e) {
      if (!(e instanceof EvaluationAbandoned)) throw e;
    } finally {
      progress.stop();
      model.train(wasTraining);
      defaultGenerator.setState(rng);
      evalSeconds += (performance.now() - begun) / 1000;
    }
    return estimate;
  };
  /** Makes the plan after the timed steps of `epoch`, or refuses the budget; none when the signal fired while the evaluation was timed (the resumed run plans). */
  const makePlan = async (epoch: number, budget: number): Promise<void> => {
    const oneEvaluation = await timeEvaluation(epoch);
    if (oneEvaluation === null) return;
    const speed = { stepSeconds: timedSpeed().seconds / timedSpeed().steps, evalSeconds: oneEvaluation * (emaModel ? 2 : 1) };
    const at = position(epoch, budget);
    const plan = planBudget(at, speed);
    if (!plan.fits) {
      appendRecord(eventsFile, budgetRecord('budget_refused', at, speed, plan));
      throw new FormatError(budgetRefusal(at, speed, imagesPerStep(), config.common.budget!));
    }
    loop.plan = { budgetSeconds: budget, epochs: plan.epochs, steps: plan.steps, step: loop.globalStep, replannedAtStep: null };
    planned = { speed, at: performance.now(), step: loop.globalStep, evalSeconds, evaluations: evaluationsThisRun };
    schedule = buildSchedule(s, stepsPerEpoch, plan.epochs, plan.steps);
    appendRecord(eventsFile, budgetRecord('plan', at, speed, plan));
    print(`budget ${config.common.budget}: ${describePlan(at, speed, plan)}`);
  };
  /**
   * After `epoch` (trained, evaluated if due) and at least MEASURE_STEPS steps since the plan, in a
   * run that made its plan: when the time still to go, at the speed measured since the plan
   * (evaluations apart; overheads such as checkpoints fall on the steps), differs from the plan's by
   * more than REPLAN_DRIFT (once a run), would end past the budget less its reserve (each time:
   * a drift under REPLAN_DRIFT still eats the 2 % reserve), or would end more than UNDERRUN_SLACK
   * of the budget before that (each time: the machine sped up after the plan), the run is planned
   * again from here, with the measured speed, and the decision kept in the loop state.
   */
  const checkDrift = (epoch: number): void => {
    if (planned === null || !loop.plan || epoch + 1 >= loop.plan.epochs) return;
    const steps = loop.globalStep - planned.step;
    if (steps < MEASURE_STEPS) return; // too few to say more than the plan's own timing did
    const evaluating = evalSeconds - planned.evalSeconds;
    const evaluations = evaluationsThisRun - planned.evaluations;
    const stepSeconds = ((performance.now() - planned.at) / 1000 - evaluating) / steps;
    const measured = { stepSeconds, evalSeconds: replanEvalSeconds(planned.speed, stepSeconds, evaluating, evaluations) };
    const drift = budgetDrift(planned.speed, measured, totalSteps() - loop.globalStep, evaluationsBetween(epoch + 1, loop.plan.epochs, everyEpochs));
    const at = position(epoch + 1, loop.plan.budgetSeconds);
    const reason = replanReason(drift, loop.plan.replannedAtStep !== null, at, measured, totalSteps());
    if (reason === null) return;
    const plan = planBudget(at, measured, true);
    // An overrun only ever shortens the plan (when the epoch in progress is all that is left, it
    // stays); an underrun only ever lengthens it (scheduler.max_epochs may leave nothing to add).
    if (reason === 'overrun' && plan.steps >= totalSteps()) return;
    if (reason === 'underrun' && plan.steps <= totalSteps()) return;
    const previous = { epochs: loop.plan.epochs, steps: totalSteps() };
    loop.plan = { ...loop.plan, epochs: plan.epochs, steps: plan.steps, replannedAtStep: reason === 'drift' ? loop.globalStep : loop.plan.replannedAtStep };
    schedule = buildSchedule(s, stepsPerEpoch, plan.epochs, plan.steps);
    appendRecord(eventsFile, { ...budgetRecord('replan', at, measured, plan), reason, drift, previous_epochs: previous.epochs, previous_steps: previous.steps, fits: plan.fits });
    const over = plan.fits ? '' : `; even so the budget will be exceeded (the epoch after this one cannot be dropped)`;
    const why = reason === 'drift'
      ? `the speed drifted by ${(100 * drift).toFixed(1)} %`
      : `at the speed measured since the plan (${(100 * drift).toFixed(1)} % off it) the run would end ${reason === 'overrun' ? 'past the budget' : `more than ${formatDuration(UNDERRUN_SLACK * loop.plan.budgetSeconds)} inside it`}`;
    print(`budget ${config.common.budget}: ${why} (from ${count(previous.epochs, 'epoch')}, ${count(previous.steps, 'step')}); re-plan: ${describePlan(at, measured, plan)}${over}`);
  };

  if (aborted()) {
    // Signalled while setting up (loading data, a download): no step, but a checkpoint all the same,
    // so that --resume works as after any interrupt.
    interrupted = true;
    await saveState();
    print(`interrupted at step ${loop.globalStep}, before training; checkpoint ${checkpointFile}`);
  }
  try {
    while (loop.epoch < totalEpochs() && !stopped && !interrupted) {
      const epoch = loop.epoch;
      model.train();
      freezeForEpoch(backbone, epoch, config.model.freeze_backbone_epochs);
      progress.start(`epoch ${epoch + 1}/${totalEpochs()}`, stepsIn(epoch), loop.batchInEpoch);
      const waitAtEpochStart = waitMs();
      const epochStarted = performance.now();
      let stepStarted = performance.now();
      // The iterator computes the forward pass when asked, so the learning rate is set first. A run
      // resumed after the last step of a plan's cut-short epoch has none of it left to ask for.
      const steps = loop.batchInEpoch < stepsIn(epoch) ? scopedSteps(task.batches(model, epoch, loop.batchInEpoch)) : [];
      for await (const { step, scope } of steps) {
        let lr: number;
        let value: number;
        try {
          lr = schedule.lrAt(loop.globalStep, epoch);
          optimizer.setLr(lr);
          optimizer.zeroGrad();
          step.loss.backward();
          if (config.optim.grad_clip !== null) clipGradNorm(model.parameters(), config.optim.grad_clip);
          optimizer.step();
          ema?.update();
          loop.emaUpdates = ema?.updates ?? 0;
          value = step.loss.item();
        } finally {
          // The step's activations, saved tensors and gradients go back now, not when V8 collects.
          scope.end();
        }
        if (!Number.isFinite(value)) throw new FormatError(`train: the loss became ${value} at step ${loop.globalStep} (lr ${lr}); lower the learning rate or enable optim.grad_clip`);
        const now = performance.now();
        const seconds = (now - stepStarted) / 1000;
        stepStarted = now;
        trainImages += step.images;
        trainSeconds += seconds;
        loop.epochStats.lossSum += value * step.images;
        loop.epochStats.correct += step.correct ?? 0;
        loop.epochStats.seen += step.images;
        loop.epochStats.seconds += seconds;
        loop.globalStep++;
        loop.batchInEpoch++;
        loop.elapsedSeconds += seconds;
        if (timed.steps === 0) timed.first = { seconds, images: step.images };
        timed.steps++;
        timed.seconds += seconds;
        timed.images += step.images;
        if (loop.globalStep % config.common.log_every === 0) log({ type: 'train', epoch, step: loop.globalStep, loss: value, lr, images_per_second: step.images / seconds });
        // One turn of the event loop per step: the step itself is synchronous, and without this the
        // progress bar's timers and the data workers' messages would wait for the epoch's end.
        await new Promise((resolve) => setImmediate(resolve));
        progress.update(loop.batchInEpoch, { loss: loop.epochStats.lossSum / loop.epochStats.seen, imagesPerSecond: loop.epochStats.seen / loop.epochStats.seconds });
        // The plan is made once the steps are timed, at the latest after the epoch's last step (the
        // decision to evaluate the epoch, and the next epoch's learning rates, depend on it), or as
        // soon as the budget is spent, to refuse it without timing the rest.
        const spent = budgetSeconds !== null && (performance.now() - started) / 1000 > budgetSeconds;
        if (budgetSeconds !== null && !loop.plan && !aborted() && (timed.steps > MEASURE_STEPS || loop.batchInEpoch === stepsPerEpoch || spent)) {
          await makePlan(epoch, budgetSeconds);
          progress.start(`epoch ${epoch + 1}/${totalEpochs()}`, stepsIn(epoch), loop.batchInEpoch);
          stepStarted = performance.now(); // the timed evaluation is not the next step's
        }
        if (maxSteps !== null && loop.globalStep >= maxSteps) {
          stopped = true;
          break;
        }
        if (aborted()) {
          interrupted = true;
          break;
        }
        const every = config.common.checkpoint_every;
        if (every !== null && loop.globalStep % every === 0 && loop.batchInEpoch < stepsIn(epoch)) await saveState();
        if (loop.batchInEpoch >= stepsIn(epoch)) break; // a plan's last epoch, cut short
      }
      progress.stop();
      if (loop.batchInEpoch < stepsIn(epoch) || interrupted) {
        // Stopped inside an epoch (max_steps, a signal), or by a signal after an epoch's last step:
        // keep the exact position, before any evaluation, so --resume continues from it.
        await saveState();
        if (interrupted) print(`interrupted after step ${loop.globalStep} (epoch ${epoch + 1}, batch ${loop.batchInEpoch}/${stepsIn(epoch)}); checkpoint ${checkpointFile}`);
        else print(`stopped after ${loop.globalStep} steps (max_steps); checkpoint ${checkpointFile}`);
        break;
      }
      const stats = loop.epochStats;
      const trainLoss = stats.lossSum / stats.seen;
      const train = {
        train_loss: trainLoss,
        ...task.trainMetrics?.(stats),
        train_images_per_second: stats.seen / stats.seconds,
        // Share of this run's part of the epoch spent waiting for the data loader.
        ...(task.dataWaitMs ? { data_wait_fraction: (waitMs() - waitAtEpochStart) / Math.max(1, performance.now() - epochStarted) } : {}),
        elapsed_seconds: loop.elapsedSeconds,
        // The kernel pool's watchdog: 1 s waits for helper threads that ran out (0 unless a helper was stuck or starved).
        pool_slow_waits: poolStats.slowSlices,
      };
      const evaluateNow = (epoch + 1) % everyEpochs === 0 || epoch + 1 === totalEpochs() || (maxSteps !== null && loop.globalStep >= maxSteps);
      if (evaluateNow) {
        const evalStarted = performance.now();
        const rngBeforeEvaluation = defaultGenerator.getState();
        const evaluate = async (which: M, suffix: string): Promise<Record<string, number>> => {
          const wasTraining = which.training;
          which.eval();
          let phase: string | null = null;
          try {
            return await task.evaluate(which, epoch, (done, total, name) => {
              // The progress report is where the engine regains control during an evaluation.
              if (aborted()) throw new EvaluationAbandoned();
              if (name !== phase) {
                progress.stop();
                progress.start(`epoch ${epoch + 1}/${totalEpochs()} ${name}${suffix}`, total);
                phase = name;
              }
              progress.update(done, {});
            });
          } finally {
            progress.stop();
            which.train(wasTraining);
          }
        };
        let evaluations: [Record<string, number>, Record<string, number> | null];
        try {
          evaluations = [await evaluate(model, ''), emaModel ? await evaluate(emaModel, ' (EMA)') : null];
        } catch (e) {
          if (!(e instanceof EvaluationAbandoned)) throw e;
          // Signalled while evaluating: an evaluation can take minutes, so it is abandoned and the
          // checkpoint holds the end of the epoch's training (the generator as before the
          // evaluation); --resume evaluates again, as the uninterrupted run does, bit for bit.
          defaultGenerator.setState(rngBeforeEvaluation);
          interrupted = true;
          await saveState();
          print(`interrupted while evaluating epoch ${epoch + 1} (abandoned; a resumed run evaluates it again); checkpoint ${checkpointFile}`);
          break;
        }
        const [metrics, emaMetrics] = evaluations;
        last = { ...metrics, ...(emaMetrics ? prefixed('ema_', emaMetrics) : {}) };
        evalSeconds += (performance.now() - evalStarted) / 1000;
        evaluationsThisRun++;
        log({ type: 'eval', epoch, step: loop.globalStep, loss: trainLoss, ...last, ...train });
        const summary = task.summary?.(last) ?? Object.entries(metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ');
        print(`epoch ${epoch + 1}/${totalEpochs()}: train loss ${trainLoss.toFixed(4)}; ${summary}; ${train.train_images_per_second.toFixed(2)} img/s training`);
        const useEma = emaMetrics !== null && emaMetrics[task.bestMetric] > metrics[task.bestMetric];
        const better = useEma ? emaModel! : model;
        const value = useEma ? emaMetrics[task.bestMetric] : metrics[task.bestMetric];
        await saveWeights(join(out, 'model.safetensors'), better, weightsInfo);
        if (value > loop.best.top1) {
          loop.best = { top1: value, epoch };
          await saveWeights(join(out, 'best.safetensors'), better, weightsInfo);
        }
      } else {
        log({ type: 'epoch', epoch, step: loop.globalStep, loss: trainLoss, ...train });
        print(`epoch ${epoch + 1}/${totalEpochs()}: train loss ${trainLoss.toFixed(4)}; ${train.train_images_per_second.toFixed(2)} img/s`);
      }
      // Before the checkpoint, so that it holds a re-plan along with the epoch.
      checkDrift(epoch);
      loop.epoch = epoch + 1;
      loop.batchInEpoch = 0;
      loop.epochStats = { lossSum: 0, correct: 0, seen: 0, seconds: 0 };
      await saveState();
      await plot();
      if (aborted() && loop.epoch < totalEpochs()) {
        // Signalled during the evaluation's last part or the checkpoint: the run stands where that checkpoint says.
        interrupted = true;
        print(`interrupted after epoch ${epoch + 1}; checkpoint ${checkpointFile}`);
      }
    }
  } finally {
    progress.stop();
  }
  if (existsSync(logFile) && !existsSync(join(out, PLOT_FILE))) await plot();
  const seconds = (performance.now() - started) / 1000;
  appendRecord(eventsFile, { type: 'end', epoch: loop.epoch, step: loop.globalStep, seconds, interrupted, stopped_at_max_steps: stopped, time: new Date().toISOString() });
  if (planned !== null && loop.epoch === totalEpochs()) {
    // Only a run that made its plan knows its whole wall time (a resumed one does not see the gap).
    const margin = budgetSeconds! - seconds;
    print(`budget ${config.common.budget}: the run ended ${formatDuration(seconds)} after its start, ${formatDuration(Math.abs(margin))} ${margin >= 0 ? 'inside' : 'over'} the budget`);
  }
  return {
    out,
    epochs: loop.epoch,
    steps: loop.globalStep,
    last,
    best: { value: loop.best.top1, epoch: loop.best.epoch },
    trainImagesPerSecond: trainImages / Math.max(trainSeconds, 1e-9),
    dataWaitFraction: (waitMs() - waitAtStart) / 1000 / Math.max(trainSeconds, 1e-9),
    seconds,
    evalSeconds,
    stoppedAtMaxSteps: stopped,
    interrupted,
    model,
    emaModel,
  };
}

/**
 * The task's steps, each one made inside a memory scope that the engine ends once the step is
 * done. The iterator runs the forward pass when asked, so the scope opens before asking; the data
 * loader awaited meanwhile makes its batches in ordinary arrays, which scopes do not take in.
 */
async function* scopedSteps<S>(steps: AsyncIterable<S> | Iterable<S>): AsyncGenerator<{ step: S; scope: MemoryScope }> {
  const iterator = Symbol.asyncIterator in steps ? steps[Symbol.asyncIterator]() : steps[Symbol.iterator]();
  try {
    for (;;) {
      const scope = startScope();
      let next: IteratorResult<S>;
      try {
        next = await iterator.next();
      } catch (error) {
        scope.end();
        throw error;
      }
      if (next.done) {
        scope.end();
        return;
      }
      yield { step: next.value, scope };
    }
  } finally {
    // A consumer that stops early (max_steps, an interrupt) closes the task's iterator too, as for-await would.
    await iterator.return?.();
  }
}
