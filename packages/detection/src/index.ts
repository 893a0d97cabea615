// @parcnet/detection: object detection. COCO evaluation with COCOeval's semantics; SSD anchors, box
// coding, matching and NMS (spec §8).
export { cocoEval, type CocoDetection, type CocoMetrics } from './coco-eval';
export { ssdAnchors, ssdFeatureSizes, type AnchorOptions } from './anchors';
export {
  centerToCorners, cornersToCenter, encodeBoxes, decodeBoxes, boxIou, nms, batchedNms, matchAnchors, CENTER_VARIANCE, SIZE_VARIANCE,
} from './boxes';
export { multiboxLoss, type MultiboxLoss } from './multibox-loss';
export { ssdRandomCrop, flipDetection, resizeDetection, photometricDistort, rgbToHsv8, hsv8ToRgb, type DetectionSample } from './transforms';
export { loadCocoDetection, loadDetectionSample, ssdTargets, type CocoDetection as CocoDetectionSplit } from './coco-dataset';
export { ssdPredict, evaluateSsd, type Detection, type PredictOptions } from './predict';
export { trainDetector, parseDetectionConfig, augmentDetection, cocoSplit, DEFAULT_DETECTION_CONFIG, type DetectionTrainConfig } from './train';
