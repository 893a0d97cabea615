// @parcnet/detection: object detection. Today: COCO evaluation with COCOeval's semantics.
export { cocoEval, type CocoDetection, type CocoMetrics } from './coco-eval';
