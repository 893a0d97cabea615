/**
 * The arithmetic of a time budget (`common.budget`, CLI `--budget`): how many steps of the
 * warm-up + cosine schedule fit, with their evaluations, in what is left of the budget at the
 * measured speed (epochs, the last of which may be cut short); when a drift of the speed calls for
 * a new plan; and the messages. Pure functions of the numbers they are given, so that the engine's
 * decisions can be tested without a clock.
 */

/** Share of the budget kept back from the plan for what the measurement does not see (epoch-end checkpoints, plots, the data loader's epoch start). */
export const BUDGET_RESERVE = 0.02;

/** The speed drift, relative, beyond which the engine re-plans (once). */
export const REPLAN_DRIFT = 0.1;

/**
 * Share of the budget which, left unused at the speed measured since the plan, makes the engine
 * lengthen the plan: a machine that speeds up after the plan (or after a re-plan that shortened
 * it) would otherwise end the run early, with budget to spare.
 */
export const UNDERRUN_SLACK = 0.05;

/**
 * The least share of an epoch a plan cuts its last epoch to; a shorter remainder is dropped and the
 * plan ends with the whole epoch before it. A few more steps change nothing at the end of a cosine
 * that reaches its floor either way, and an epoch of a handful of steps only muddles the record
 * (the third 2-hour run ended with an epoch 10 of 6 steps).
 */
export const LEAST_CUT_EPOCH = 0.1;

/** Training steps timed for the plan after the first step of a run (which pays for start-up and is not timed). */
export const MEASURE_STEPS = 20;

/**
 * How much of the evaluation is timed before the plan: after its first progress report (which
 * pays for the data loader's start), at least this many more reports and seconds; the rest is
 * extrapolated and the evaluation abandoned.
 */
export const EVAL_SLICE = { reports: 3, seconds: 3 };

/**
 * Seconds in a duration written as hours, minutes and seconds, each optional but in that order:
 * `2h`, `90m`, `45s`, `1h30m`, `1.5h`; null when `text` is not one (or is zero).
 */
export function parseDuration(text: string): number | null {
  const match = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(text.trim());
  if (!match || text.trim() === '') return null;
  const seconds = 3600 * Number(match[1] ?? 0) + 60 * Number(match[2] ?? 0) + Number(match[3] ?? 0);
  return seconds > 0 ? seconds : null;
}

/** A duration in the notation of {@link parseDuration}, to the second above a minute: `1h57m`, `3m05s`, `42.5s`. */
export function formatDuration(seconds: number): string {
  const whole = Math.round(seconds);
  if (whole >= 3600) return `${Math.floor(whole / 3600)}h${String(Math.floor((whole % 3600) / 60)).padStart(2, '0')}m`;
  if (whole >= 60) return `${Math.floor(whole / 60)}m${String(whole % 60).padStart(2, '0')}s`;
  return `${seconds.toFixed(1)}s`;
}

/** The measured speed a plan is made from. */
export interface BudgetSpeed {
  /** Wall seconds of one training step, waits for data included. */
  stepSeconds: number;
  /** Wall seconds of one evaluation: the model's, plus its EMA's when EMA is on. */
  evalSeconds: number;
}

/** Where a run stands when it plans, and what bounds the plan. */
export interface BudgetPosition {
  /** The budget, in seconds from the start of the run (of this process, for a run resumed before it had a plan). */
  budgetSeconds: number;
  /** Seconds gone since that start. */
  elapsedSeconds: number;
  /** Optimiser steps taken (global). */
  steps: number;
  /** The epoch in progress, from 0 (it and those after it are still to be evaluated). */
  epoch: number;
  /** Optimiser steps in an epoch. */
  stepsPerEpoch: number;
  /** `evaluation.every_epochs`: evaluated when (epoch + 1) is a multiple of it, and after the last epoch. */
  everyEpochs: number;
  /** `scheduler.max_epochs`, the most a plan may have. */
  maxEpochs: number;
}

/** What a plan comes to. */
export interface BudgetPlanNumbers {
  /** Epochs in all (those done included), the last one possibly cut short: the cosine ends with it, and it is evaluated. */
  epochs: number;
  /** Optimiser steps in all: (epochs − 1) × steps per epoch, and the last epoch's (all of them, or fewer where the budget ends inside it). */
  steps: number;
  /** Evaluations still to run (from the epoch in progress on). */
  evaluations: number;
  /** Seconds from the start to the end of the last evaluation, at the speed planned with. */
  expectedSeconds: number;
  /** True when `maxEpochs` and not the budget bounds the plan. */
  capped: boolean;
  /** False when not even the epoch in progress fits whole; `epochs` is then epoch + 1 all the same, and whole. */
  fits: boolean;
}

/** Evaluations in epochs [from, epochs) of a run of `epochs` epochs: every `every`-th and the last. */
export function evaluationsBetween(from: number, epochs: number, every: number): number {
  if (epochs <= from) return 0;
  // Epochs e < epochs with (e + 1) % every === 0, and the last one: ⌈epochs / every⌉ in all.
  return Math.ceil(epochs / every) - Math.floor(from / every);
}

/** Epochs a run of `steps` steps takes, the last one possibly cut short. */
export function epochsFor(steps: number, stepsPerEpoch: number): number {
  return Math.ceil(steps / stepsPerEpoch);
}

/** Steps in the last of the `epochs` epochs of a run of `steps` steps: a whole epoch's, or fewer where a plan cut it short. */
export function lastEpochSteps(steps: number, epochs: number, stepsPerEpoch: number): number {
  return steps - (epochs - 1) * stepsPerEpoch;
}

/** The seconds a plan may use: the budget less {@link BUDGET_RESERVE}. */
function usableSeconds(at: BudgetPosition): number {
  return at.budgetSeconds * (1 - BUDGET_RESERVE);
}

/** Seconds from the start to the end of a run of `steps` steps in all, at `speed`, standing at `at`. */
export function expectedSeconds(steps: number, at: BudgetPosition, speed: BudgetSpeed): number {
  const evaluations = evaluationsBetween(at.epoch, epochsFor(steps, at.stepsPerEpoch), at.everyEpochs);
  return at.elapsedSeconds + (steps - at.steps) * speed.stepSeconds + evaluations * speed.evalSeconds;
}

/**
 * The most steps (at least the epoch in progress, or one step of it in a re-plan; at most `maxEpochs` epochs) whose
 * training and evaluations end within the budget less {@link BUDGET_RESERVE}, at `speed`. The last
 * epoch may be cut short: the budget is spent on training rather than left unused, at the price of
 * that epoch's evaluation, so a cut epoch must train at least as long as the evaluation it adds, and
 * at least {@link LEAST_CUT_EPOCH} of an epoch (otherwise the plan ends with the whole epoch before
 * it). The first plan keeps the epoch in progress whole (a budget that cannot hold it is refused);
 * a re-plan (`cutInProgress`) may cut it to as little as one more step, since the run cannot end
 * before its schedule does. When even the least does not fit, the plan says so (`fits`).
 */
export function planBudget(at: BudgetPosition, speed: BudgetSpeed, cutInProgress = false): BudgetPlanNumbers {
  const usable = usableSeconds(at);
  const perEpoch = at.stepsPerEpoch;
  const evaluations = (epochs: number): number => evaluationsBetween(at.epoch, epochs, at.everyEpochs);
  /** The most steps of a run of `epochs` epochs that end in time, at least `least`, at most the whole epochs. */
  const fitting = (epochs: number, least: number): number => {
    const room = Math.floor((usable - at.elapsedSeconds - evaluations(epochs) * speed.evalSeconds) / speed.stepSeconds);
    return Math.max(least, Math.min(epochs * perEpoch, at.steps + room));
  };
  // The time only grows with the steps (an epoch's first step also brings its evaluation), so the
  // last epoch is the last whose first step fits, and it gets as many steps as fit after that.
  let epochs = at.epoch + 1;
  while (epochs < at.maxEpochs && expectedSeconds(epochs * perEpoch + 1, at, speed) <= usable) epochs++;
  let steps = epochs * perEpoch;
  if (epochs > at.epoch + 1) {
    steps = fitting(epochs, (epochs - 1) * perEpoch + 1);
    const cut = lastEpochSteps(steps, epochs, perEpoch);
    const worthIt = cut >= LEAST_CUT_EPOCH * perEpoch && cut * speed.stepSeconds >= (evaluations(epochs) - evaluations(epochs - 1)) * speed.evalSeconds;
    if (cut < perEpoch && !worthIt) {
      epochs--; // its first step fitted, so this epoch fits whole
      steps = epochs * perEpoch;
    }
  } else if (cutInProgress) {
    steps = fitting(epochs, at.steps + 1);
  }
  const seconds = expectedSeconds(steps, at, speed);
  const most = at.maxEpochs * perEpoch;
  return {
    epochs,
    steps,
    evaluations: evaluations(epochs),
    expectedSeconds: seconds,
    capped: steps === most && expectedSeconds(most + 1, at, speed) <= usable,
    fits: seconds <= usable,
  };
}

/**
 * The relative drift of the time still to go, at the speed measured since the plan against the
 * speed planned with, for `steps` steps and `evaluations` evaluations left: positive when slower.
 */
export function budgetDrift(planned: BudgetSpeed, measured: BudgetSpeed, steps: number, evaluations: number): number {
  const plannedSeconds = steps * planned.stepSeconds + evaluations * planned.evalSeconds;
  const measuredSeconds = steps * measured.stepSeconds + evaluations * measured.evalSeconds;
  return plannedSeconds > 0 ? measuredSeconds / plannedSeconds - 1 : 0;
}

/**
 * Seconds of one evaluation for a re-plan, from what happened since the plan: the mean of the
 * evaluations run since, or, with none (a run that evaluates only after its last epoch), the plan's
 * timing scaled by how much slower or faster the training steps have run since: the same machine
 * runs the same kernels for both, and a plan that kept the first timing while the machine slowed
 * would leave the final evaluation to the reserve (the fourth 2-hour run's, timed at 2m57s, took
 * 5m03s and ended the run 21 s inside its budget).
 */
export function replanEvalSeconds(planned: BudgetSpeed, stepSeconds: number, evaluatingSeconds: number, evaluations: number): number {
  if (evaluations > 0) return evaluatingSeconds / evaluations;
  return planned.stepSeconds > 0 ? planned.evalSeconds * (stepSeconds / planned.stepSeconds) : planned.evalSeconds;
}

/**
 * Whether the run plans again after an epoch, and why, standing at `at` (the next epoch) with the
 * speed measured since the plan: 'drift' when the time still to go differs from the plan's by more
 * than {@link REPLAN_DRIFT} (once a run: `driftReplanned` says whether that happened already);
 * 'overrun' when, at the measured speed, the `plannedSteps` would end past the budget less
 * {@link BUDGET_RESERVE}: a drift too small to re-plan for still eats the reserve, and the plan is
 * then shortened (every time it happens); 'underrun' when they would end more than
 * {@link UNDERRUN_SLACK} of the budget before that, and the plan is lengthened (every time); null
 * otherwise.
 */
export function replanReason(drift: number, driftReplanned: boolean, at: BudgetPosition, measured: BudgetSpeed, plannedSteps: number): 'drift' | 'overrun' | 'underrun' | null {
  if (!driftReplanned && Math.abs(drift) > REPLAN_DRIFT) return 'drift';
  const end = expectedSeconds(plannedSteps, at, measured);
  const usable = usableSeconds(at);
  if (end > usable) return 'overrun';
  if (end < usable - UNDERRUN_SLACK * at.budgetSeconds) return 'underrun';
  return null;
}

/**
 * Why a budget is refused, with the numbers: the measured speed, the epoch's steps, what one epoch
 * and its evaluation take, the time gone already, the budget and the least budget that would do.
 */
export function budgetRefusal(at: BudgetPosition, speed: BudgetSpeed, imagesPerStep: number, budget: string): string {
  const left = (at.epoch + 1) * at.stepsPerEpoch - at.steps;
  const epochSeconds = left * speed.stepSeconds;
  const needed = expectedSeconds((at.epoch + 1) * at.stepsPerEpoch, at, speed) / (1 - BUDGET_RESERVE);
  return (
    `train: a budget of ${budget} cannot hold one epoch: at the measured ` +
    `${(imagesPerStep / speed.stepSeconds).toFixed(1)} img/s (${speed.stepSeconds.toFixed(3)} s a step of ${imagesPerStep} images), ` +
    `the ${left} steps left of the epoch's ${at.stepsPerEpoch} take ${formatDuration(epochSeconds)} and its evaluation ` +
    `${formatDuration(speed.evalSeconds)}, after ${formatDuration(at.elapsedSeconds)} gone already; that needs ` +
    `${formatDuration(needed)} (${Math.round(100 * BUDGET_RESERVE)} % kept back); give a longer --budget (common.budget) or fewer images`
  );
}
