// @parcnet/data in a browser: the parts that need no file system or threads (image decoding,
// transforms, in-memory datasets and batches). Dataset loaders and the DataLoader are Node-only.
export { decodeImage, encodePng, type RgbImage } from './image.js';
export { allocateImageDataset, datasetImage, subsetDataset, balancedSubset, classCounts, type ImageDataset } from './dataset.js';
export {
  applyTransforms, classifierInput, validateTransforms, toFloatImage, crop, flipHorizontal, randomResizedBox, resizeBilinear, bgrBatch,
  type TransformSpec, type TransformName, type FloatImage, type Size,
} from './transforms.js';
export { sampleGenerator } from './batch.js';
