import { join } from 'node:path';
import { DEFAULT_CONFIG, loadCheckpoint, parseTrainConfig, PLOT_FILE, readConfigFile, trainClassifier, type TaskName, type TaskTrainResult, type TrainConfig } from '@parcnet/train';
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
  return o;
}

/** Runs a detection or segmentation config (raw, from a file or a checkpoint) and prints the summary. */
async function trainOtherTask(task: 'detection' | 'segmentation', raw: unknown, where: string, flags: Flags): Promise<void> {
  const options = { resume: typeof flags.resume === 'string' ? flags.resume : undefined, progress: !flags['no-progress'], print: (m: string): void => console.log(m) };
  const overrides = overridesFrom(flags);
  let result: TaskTrainResult;
  if (task === 'detection') result = await trainDetector(parseDetectionConfig(raw, where, overrides), options);
  else result = await trainSegmenter(parseSegmentationConfig(raw, where, overrides), options);
  const metrics = result.last ? Object.entries(result.last).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ') : 'no evaluation yet';
  console.log(
    [
      `done: ${result.epochs} epochs, ${result.steps} steps in ${(result.seconds / 60).toFixed(1)} min this run (${(result.evalSeconds / 60).toFixed(1)} min of it evaluating)`,
      metrics,
      `training ${result.trainImagesPerSecond.toFixed(2)} img/s`,
      `log, checkpoints and ${PLOT_FILE} in ${join(result.out)}`,
    ].join('\n'),
  );
}

export async function trainCommand(flags: Flags): Promise<void> {
  const overrides = overridesFrom(flags);
  let config: TrainConfig;
  if (typeof flags.config === 'string') {
    const { raw, task } = readConfigFile(flags.config);
    if (task !== 'classification') return trainOtherTask(task, raw, flags.config, flags);
    config = parseTrainConfig(raw, flags.config, overrides);
  } else if (typeof flags.resume === 'string') {
    // The run continues as it was configured, except for a step limit that ended the last part.
    const checkpoint = await loadCheckpoint(flags.resume);
    const saved = checkpoint.config;
    const unlimited = { ...saved, common: { ...saved.common, max_steps: null } };
    const task: TaskName = checkpoint.weightsInfo?.task === 'detect' ? 'detection' : checkpoint.weightsInfo?.task === 'segment' ? 'segmentation' : 'classification';
    if (task !== 'classification') return trainOtherTask(task, unlimited, flags.resume, flags);
    config = parseTrainConfig(unlimited, flags.resume, overrides);
  } else config = parseTrainConfig(DEFAULT_CONFIG, 'defaults', overrides);
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
