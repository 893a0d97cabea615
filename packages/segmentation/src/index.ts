// @parcnet/segmentation: semantic segmentation. Masks from COCO polygons and RLE, transforms, metrics,
// and the DeepLabV3 trainer.
export { fillPolygon, decodeRle, semanticMask, IGNORE_INDEX } from './masks';
export { ConfusionMatrix } from './metrics';
export { resizeMask, resizeSegmentation, randomResizeSegmentation, randomCropSegmentation, flipSegmentation, type SegmentationSample } from './transforms';
export {
  trainSegmenter, parseSegmentationConfig, loadSegmentationSplit, evaluateSegmentation, augmentSegmentation, DEFAULT_SEGMENTATION_CONFIG,
  type SegmentationTrainConfig, type SegmentationSplit,
} from './train';
