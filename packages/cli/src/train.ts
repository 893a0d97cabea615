import { join } from 'node:path';
import { DEFAULT_CONFIG, loadCheckpoint, loadTrainConfig, parseTrainConfig, PLOT_FILE, trainClassifier, type TrainConfig } from '@parcnet/train';
import { numberFlag, type Flags } from './main';

/** The config overrides the command-line flags ask for, in the config's nested shape. */
function overridesFrom(flags: Flags): Record<string, Record<string, unknown>> {
  const o: Record<string, Record<string, unknown>> = { model: {}, dataset: {}, scheduler: {}, common: {} };
  const set = (section: string, key: string, value: unknown): void => {
    if (value !== undefined) o[section][key] = value;
  };
  set('model', 'name', flags.model);
  if (flags['cifar-stem']) set('model', 'cifar_stem', true);
  if (flags['no-cifar-stem']) set('model', 'cifar_stem', false);
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
  return o;
}

export async function trainCommand(flags: Flags): Promise<void> {
  const overrides = overridesFrom(flags);
  let config: TrainConfig;
  if (typeof flags.config === 'string') config = loadTrainConfig(flags.config, overrides);
  else if (typeof flags.resume === 'string') {
    // The run continues as it was configured, except for a step limit that ended the last part.
    const saved = (await loadCheckpoint(flags.resume)).config;
    config = parseTrainConfig({ ...saved, common: { ...saved.common, max_steps: null } }, flags.resume, overrides);
  }
  else config = parseTrainConfig(DEFAULT_CONFIG, 'defaults', overrides);
  const result = await trainClassifier(config, {
    resume: typeof flags.resume === 'string' ? flags.resume : undefined,
    progress: !flags['no-progress'],
    print: (message) => console.log(message),
  });
  const pct = (v: number): string => `${(100 * v).toFixed(2)}%`;
  console.log(
    [
      `done: ${result.epochs} epochs, ${result.steps} steps in ${(result.seconds / 60).toFixed(1)} min this run`,
      result.last ? `test top-1 ${pct(result.last.top1)}, top-5 ${pct(result.last.top5)}, loss ${result.last.loss.toFixed(4)}` : 'no evaluation yet (stopped inside an epoch)',
      result.lastEma ? `EMA test top-1 ${pct(result.lastEma.top1)}` : '',
      `training ${result.trainImagesPerSecond.toFixed(1)} img/s (data wait ${(100 * result.dataWaitFraction).toFixed(1)}% of it)` +
        (result.evalImagesPerSecond ? `, evaluation ${result.evalImagesPerSecond.toFixed(1)} img/s` : ''),
      `log, checkpoints and ${PLOT_FILE} in ${join(result.out)}`,
    ]
      .filter((l) => l)
      .join('\n'),
  );
}
