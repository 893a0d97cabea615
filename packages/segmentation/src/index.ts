/**
 * Semantic segmentation. Masks from COCO polygons and RLE, transforms, metrics,
 * and the DeepLabV3 trainer.
 *
 * @packageDocumentation
 * @module @parcnet/segmentation
 */
export { fillPolygon, decodeRle, semanticMask, IGNORE_INDEX } from './masks.js';
export { ConfusionMatrix } from './metrics.js';
export { evaluateSegmentationSamples, nearestSourceIndices, resizeLabelsNearest, type SegmentationMetrics } from './evaluate.js';
export { resizeMask, resizeSegmentation, randomResizeSegmentation, randomCropSegmentation, flipSegmentation, type SegmentationSample } from './transforms.js';
export {
  trainSegmenter, parseSegmentationConfig, loadSegmentationSplit, evaluateSegmentation, augmentSegmentation, DEFAULT_SEGMENTATION_CONFIG,
  type SegmentationTrainConfig, type SegmentationSplit,
} from './train.js';
