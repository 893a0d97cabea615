/**
 * Datasets (CIFAR binary, image folders, COCO JSON), seeded transforms and a
 * DataLoader that makes batches in worker threads.
 *
 * @packageDocumentation
 * @module @parcnet/data
 */
export { decodeImage, encodePng, type RgbImage } from './image.js';
export { allocateImageDataset, datasetImage, subsetDataset, balancedSubset, classCounts, type ImageDataset } from './dataset.js';
export { defaultCacheDir, cacheKey, readCachedDataset, writeCachedDataset } from './cache.js';
export { readCifarBinary, writeCifarBinary, findCifarBinary, type CifarVariant, type Split } from './cifar-binary.js';
export { loadCifar10, loadCifar100, cifarLayout, type CifarOptions } from './cifar.js';
export { listImageFolder, loadImageFolder, type ImageFolderListing, type ImageFolderOptions } from './image-folder.js';
export {
  applyTransforms, classifierInput, validateTransforms, toFloatImage, crop, flipHorizontal, randomResizedBox, resizeBilinear, bgrBatch,
  type TransformSpec, type TransformName, type FloatImage, type Size,
} from './transforms.js';
export { DataLoader, type DataLoaderOptions, type Batch } from './loader.js';
export { sampleGenerator } from './batch.js';
export { loadCocoInstances, parseCocoInstances, cocoSplitFiles, type CocoInstances, type CocoImage, type CocoAnnotation, type CocoCategory } from './coco.js';
