/**
 * The training engine (one loop for every task), the classification task, the config, checkpoints, metrics, progress bar and plots.
 *
 * @packageDocumentation
 * @module @parcnet/train
 */
export {
  DEFAULT_CONFIG, parseTrainConfig, loadTrainConfig, readConfigFile, mergeConfig, checkSharedConfig, checkPositiveInteger, checkNonNegative, configError, type TrainConfig, type TaskName,
} from './config.js';
export {
  trainTask, epochGenerator, epochOrder, CHECKPOINT_FILE, LOG_FILE, EVENTS_FILE, PLOT_FILE,
  type TaskLoopConfig, type TrainingTask, type StepLoss, type TaskTrainResult, type TrainOptions,
} from './engine.js';
export { saveCheckpoint, loadCheckpoint, saveWeights, loadWeights, type Checkpoint, type LoopState, type WeightsInfo } from './checkpoint.js';
export { loadPretrained, backboneParameters, freezeForEpoch, type PretrainedReport } from './pretrained.js';
export { countTopK, evaluateClassifier, type EvalResult, type EvaluateOptions } from './metrics.js';
export { plotTrainingLog, type PlotSeries } from './plot.js';
export { ProgressBar } from './progress.js';
export {
  trainClassifier, classificationTask, loadClassificationData, buildClassifier, type TrainResult,
} from './trainer.js';
