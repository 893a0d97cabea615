/**
 * The classification trainer, its config, checkpoints, metrics, progress bar and plots.
 *
 * @packageDocumentation
 * @module @parcnet/train
 */
export {
  DEFAULT_CONFIG, parseTrainConfig, loadTrainConfig, readConfigFile, mergeConfig, checkSharedConfig, checkPositiveInteger, checkNonNegative, configError, type TrainConfig, type TaskName,
} from './config.js';
export { trainTask, epochGenerator, epochOrder, type TaskLoopConfig, type TrainingTask, type TaskTrainResult } from './task-loop.js';
export { saveCheckpoint, loadCheckpoint, saveWeights, loadWeights, type Checkpoint, type LoopState, type WeightsInfo } from './checkpoint.js';
export { loadPretrained, backboneParameters, freezeForEpoch, type PretrainedReport } from './pretrained.js';
export { countTopK, evaluateClassifier, type EvalResult } from './metrics.js';
export { plotTrainingLog, type PlotSeries } from './plot.js';
export { ProgressBar } from './progress.js';
export {
  trainClassifier, loadClassificationData, buildClassifier, CHECKPOINT_FILE, LOG_FILE, EVENTS_FILE, PLOT_FILE, type TrainOptions, type TrainResult,
} from './trainer.js';
