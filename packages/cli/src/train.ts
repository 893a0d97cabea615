import { constants } from 'node:os';
import { join } from 'node:path';
import { CHECKPOINT_FILE, DEFAULT_CONFIG, loadCheckpoint, parseTrainConfig, PLOT_FILE, readConfigFile, trainClassifier, type TaskName, type TaskTrainResult, type TrainConfig } from '@parcnet/train';
import { parseDetectionConfig, trainDetector } from '@parcnet/detection';
import { parseSegmentationConfig, trainSegmenter } from '@parcnet/segmentation';
import { numberFlag, type Flags } from './flags.js';

/** The config overrides the command-line flags ask for, in the config's nested shape. */
function overridesFrom(flags: Flags): Record<string, Record<string, unknown>> {
  const o: Record<string, Record<string, unknown>> = { model: {}, dataset: {}, scheduler: {}, common: {} };
  const set = (section: string, key: string, value: unknown): void => {
    if (value !== undefined) o[section][key] = value;
  };
  set('model', 'name', flags.model);
  if (flags['cifar-stem']) set('model', 'cifar_stem', true);
  if (flags['no-cifar-stem']) set('model', 'cifar_stem', false);
  set('model', 'pretrained', flags.pretrained);
  set('model', 'freeze_backbone_epochs', numberFlag(flags, 'freeze-backbone', true));
  set('dataset', 'name', flags.dataset);
  set('dataset', 'data', flags.data);
  set('dataset', 'train_batch_size', numberFlag(flags, 'batch-size', true));
  set('dataset', 'workers', numberFlag(flags, 'workers', true));
  set('dataset', 'train_images', numberFlag(flags, 'train-images', true));
  set('dataset', 'val_images', numberFlag(flags, 'val-images', true));
  set('scheduler', 'max_epochs', numberFlag(flags, 'epochs', true));
  const lr = numberFlag(flags, 'lr');
  if (lr !== undefined) o.scheduler.cosine = { max_lr: lr };
  set('common', 'seed', numberFlag(flags, 'seed', true));
  set('common', 'threads', numberFlag(flags, 'threads', true));
  set('common', 'out', flags.out);
  set('common', 'max_steps', numberFlag(flags, 'max-steps', true));
  set('common', 'budget', flags.budget); // checked with the config: common.budget
  return o;
}

/** How a run ended, for the command to act on. */
interface RunEnd {
  /** The run's out folder. */
  out: string;
  /** Whether a signal stopped it. */
  interrupted: boolean;
}

/**
 * How long after a first signal another one quits at once. A wrapper that shares the terminal and
 * also passes signals on to its child (npm's run-script does) can deliver one Ctrl-C twice, within
 * milliseconds; a second press meant to quit comes later.
 */
const SECOND_SIGNAL_AFTER_MS = 1000;

/**
 * Ctrl-C (SIGINT) and SIGTERM stop the run after the current step, with a checkpoint: the first
 * fires `signal`, which the trainer watches; another, a second or more later, exits at once (the
 * last checkpoint stays whole: checkpoints are written to a temporary file and renamed). `remove`
 * gives the signals back to Node's default handling.
 */
function stopOnSignals(): {
  /** Fires on the first signal. */
  signal: AbortSignal;
  /** The first signal received, if any. */
  received: () => NodeJS.Signals | null;
  /** Removes the handlers. */
  remove: () => void;
} {
  const controller = new AbortController();
  let first: { name: NodeJS.Signals; at: number } | null = null;
  const onSignal = (name: NodeJS.Signals): void => {
    if (first === null) {
      first = { name, at: performance.now() };
      process.stderr.write(`\n${name}: stopping after this step to write a checkpoint (Ctrl-C again to quit at once)\n`);
      controller.abort();
    } else if (performance.now() - first.at >= SECOND_SIGNAL_AFTER_MS) {
      // The progress bar hides the cursor on a terminal; give it back.
      if (process.stderr.isTTY) process.stderr.write('\x1b[?25h\n');
      process.exit(signalExitCode(name));
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    received: () => first?.name ?? null,
    remove: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

/** A shell's exit status for a process stopped by `signal`: 128 + its number (130 for SIGINT, 143 for SIGTERM). */
const signalExitCode = (signal: NodeJS.Signals): number => 128 + constants.signals[signal];

/** An argument as a POSIX shell reads it back: as is when plain, else in single quotes. */
const shellQuote = (arg: string): string => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`);

/** The command line that continues a run: the same flags, with --resume naming its checkpoint. */
function resumeCommand(flags: Flags, checkpoint: string): string {
  const args = ['npx', 'parcnet', 'train'];
  for (const [name, value] of Object.entries(flags)) {
    if (name === 'resume' || value === undefined || value === false) continue;
    args.push(`--${name}`);
    if (typeof value === 'string') args.push(value);
  }
  args.push('--resume', checkpoint);
  return args.map(shellQuote).join(' ');
}

/** Runs a detection or segmentation config (raw, from a file or a checkpoint) and prints the summary. */
async function trainOtherTask(task: 'detection' | 'segmentation', raw: unknown, where: string, flags: Flags, signal: AbortSignal): Promise<RunEnd> {
  const options = { resume: typeof flags.resume === 'string' ? flags.resume : undefined, progress: !flags['no-progress'], print: (m: string): void => console.log(m), signal };
  const overrides = overridesFrom(flags);
  let result: TaskTrainResult;
  if (task === 'detection') result = await trainDetector(parseDetectionConfig(raw, where, overrides), options);
  else result = await trainSegmenter(parseSegmentationConfig(raw, where, overrides), options);
  const metrics = result.last ? Object.entries(result.last).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ') : 'no evaluation yet';
  console.log(
    [
      `${result.interrupted ? 'interrupted' : 'done'}: ${result.epochs} epochs, ${result.steps} steps in ${(result.seconds / 60).toFixed(1)} min this run (${(result.evalSeconds / 60).toFixed(1)} min of it evaluating)`,
      metrics,
      `training ${result.trainImagesPerSecond.toFixed(2)} img/s`,
      `log, checkpoints and ${PLOT_FILE} in ${join(result.out)}`,
    ].join('\n'),
  );
  return result;
}

/**
 * `parcnet train`. A signal (Ctrl-C, SIGTERM) stops the run after the current step with a
 * checkpoint; the command then prints how to continue and exits with 130 (SIGINT) or 143 (SIGTERM).
 */
export async function trainCommand(flags: Flags): Promise<number> {
  const stop = stopOnSignals();
  let end: RunEnd;
  try {
    end = await runTraining(flags, stop.signal);
  } finally {
    stop.remove();
  }
  const signal = stop.received();
  if (end.interrupted && signal) {
    console.log(`stopped by ${signal}; to continue:\n  ${resumeCommand(flags, join(end.out, CHECKPOINT_FILE))}`);
    // The status a shell expects after a signal; the bin exits with it once the output has drained.
    return signalExitCode(signal);
  }
  return 0;
}

/** Trains what the flags ask for (a config file, a checkpoint to resume, or the defaults) and prints the summary. */
async function runTraining(flags: Flags, signal: AbortSignal): Promise<RunEnd> {
  const overrides = overridesFrom(flags);
  let config: TrainConfig;
  if (typeof flags.config === 'string') {
    const { raw, task } = readConfigFile(flags.config);
    if (task !== 'classification') return trainOtherTask(task, raw, flags.config, flags, signal);
    config = parseTrainConfig(raw, flags.config, overrides);
  } else if (typeof flags.resume === 'string') {
    // The run continues as it was configured, except for a step limit that ended the last part.
    const checkpoint = await loadCheckpoint(flags.resume);
    const saved = checkpoint.config;
    const unlimited = { ...saved, common: { ...saved.common, max_steps: null } };
    const task: TaskName = checkpoint.weightsInfo?.task === 'detect' ? 'detection' : checkpoint.weightsInfo?.task === 'segment' ? 'segmentation' : 'classification';
    if (task !== 'classification') return trainOtherTask(task, unlimited, flags.resume, flags, signal);
    config = parseTrainConfig(unlimited, flags.resume, overrides);
  } else config = parseTrainConfig(DEFAULT_CONFIG, 'defaults', overrides);
  const result = await trainClassifier(config, {
    resume: typeof flags.resume === 'string' ? flags.resume : undefined,
    progress: !flags['no-progress'],
    print: (message) => console.log(message),
    signal,
  });
  const pct = (v: number): string => `${(100 * v).toFixed(2)}%`;
  console.log(
    [
      `${result.interrupted ? 'interrupted' : 'done'}: ${result.epochs} epochs, ${result.steps} steps in ${(result.seconds / 60).toFixed(1)} min this run`,
      result.last ? `test top-1 ${pct(result.last.top1)}, top-5 ${pct(result.last.top5)}, loss ${result.last.loss.toFixed(4)}` : 'no evaluation yet (stopped inside an epoch)',
      result.lastEma ? `EMA test top-1 ${pct(result.lastEma.top1)}` : '',
      `training ${result.trainImagesPerSecond.toFixed(1)} img/s (data wait ${(100 * result.dataWaitFraction).toFixed(1)}% of it)` +
        (result.evalImagesPerSecond ? `, evaluation ${result.evalImagesPerSecond.toFixed(1)} img/s` : ''),
      `log, checkpoints and ${PLOT_FILE} in ${join(result.out)}`,
    ]
      .filter((l) => l)
      .join('\n'),
  );
  return result;
}
