// @parcnet/train: the classification trainer, its config, checkpoints, metrics, progress bar and plots.
export { DEFAULT_CONFIG, parseTrainConfig, loadTrainConfig, type TrainConfig } from './config';
export { saveCheckpoint, loadCheckpoint, saveWeights, loadWeights, type Checkpoint, type LoopState, type WeightsInfo } from './checkpoint';
export { countTopK, evaluateClassifier, type EvalResult } from './metrics';
export { plotTrainingLog } from './plot';
export { ProgressBar } from './progress';
export {
  trainClassifier, loadClassificationData, buildClassifier, CHECKPOINT_FILE, LOG_FILE, EVENTS_FILE, PLOT_FILE, type TrainOptions, type TrainResult,
} from './trainer';
