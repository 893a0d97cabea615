// @parcnet/segmentation: semantic masks from COCO polygons and RLE, and their metrics.
export { fillPolygon, decodeRle, semanticMask, IGNORE_INDEX } from './masks';
export { ConfusionMatrix } from './metrics';
