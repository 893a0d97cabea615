/**
 * Object detection. COCO evaluation with COCOeval's semantics; SSD anchors, box
 * coding, matching and NMS (spec §8).
 *
 * @packageDocumentation
 * @module @parcnet/detection
 */
export { cocoEval, type CocoDetection, type CocoGroundTruth, type CocoMetrics } from './coco-eval.js';
export { ssdAnchors, ssdFeatureSizes, type AnchorOptions } from './anchors.js';
export {
  centerToCorners, cornersToCenter, encodeBoxes, decodeBoxes, boxIou, nms, batchedNms, matchAnchors, CENTER_VARIANCE, SIZE_VARIANCE,
} from './boxes.js';
export { multiboxLoss, type MultiboxLoss } from './multibox-loss.js';
export { ssdRandomCrop, flipDetection, resizeDetection, photometricDistort, rgbToHsv8, hsv8ToRgb, type DetectionSample } from './transforms.js';
export { loadCocoDetection, loadDetectionSample, ssdTargets, type CocoDetection as CocoDetectionSplit } from './coco-dataset.js';
export { ssdPredict, evaluateSsd, type Detection, type PredictOptions } from './predict.js';
export { trainDetector, parseDetectionConfig, augmentDetection, cocoSplit, DEFAULT_DETECTION_CONFIG, type DetectionTrainConfig } from './train.js';
