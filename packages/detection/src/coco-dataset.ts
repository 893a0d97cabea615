import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FormatError } from '@parcnet/tensor';
import { decodeImage, loadCocoInstances, toFloatImage, type CocoInstances } from '@parcnet/data';
import { centerToCorners, cornersToCenter, encodeBoxes, matchAnchors } from './boxes.js';
import type { DetectionSample } from './transforms.js';

/** A COCO detection split: the instances file, its image folder and the class order. */
export interface CocoDetection {
  /** The parsed annotation file. */
  instances: CocoInstances;
  /** Folder of the split's images; each image's `file_name` is relative to it. */
  imagesDir: string;
  /** COCO category ids in file order; class index = position + 1 (0 is background). */
  categoryIds: number[];
  /** The images used, in id order (for training: only images with at least one usable box). */
  imageIds: number[];
}

/** Boxes SSD training keeps: not crowds, width and height above one pixel (spec §10). */
function usable(a: CocoInstances['annotations'][number]): boolean {
  return a.iscrowd === 0 && a.bbox[2] > 1 && a.bbox[3] > 1;
}

/**
 * A split from its annotation file and image folder; with `training`, only the images that have a
 * usable box (not a crowd, wider and taller than one pixel), as the official training set (spec §10).
 */
export function loadCocoDetection(annotationFile: string, imagesDir: string, options: { training?: boolean } = {}): CocoDetection {
  const instances = loadCocoInstances(annotationFile);
  const categoryIds = instances.categories.map((c) => c.id);
  const withBoxes = new Set(instances.annotations.filter(usable).map((a) => a.image_id));
  const imageIds = instances.images.map((i) => i.id).filter((id) => !options.training || withBoxes.has(id)).sort((a, b) => a - b);
  return { instances, imagesDir, categoryIds, imageIds };
}

/** Image `index` of the split, decoded (planar, 0…255), with its usable boxes (corners, pixels) and class indices. */
export function loadDetectionSample(split: CocoDetection, index: number): DetectionSample & {
  /** The image's COCO id. */
  imageId: number;
} {
  const imageId = split.imageIds[index];
  const info = split.instances.images.find((i) => i.id === imageId)!;
  const file = join(split.imagesDir, info.file_name);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(file));
  } catch (e) {
    throw new FormatError(`${file}: cannot read image ${imageId} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const image = toFloatImage(decodeImage(bytes, file));
  const annotations = split.instances.annotations.filter((a) => a.image_id === imageId && usable(a));
  const boxes = new Float32Array(annotations.length * 4);
  annotations.forEach((a, k) => boxes.set([a.bbox[0], a.bbox[1], a.bbox[0] + a.bbox[2], a.bbox[1] + a.bbox[3]], 4 * k));
  const labels = Int32Array.from(annotations, (a) => split.categoryIds.indexOf(a.category_id) + 1);
  return { imageId, image, boxes, labels };
}

/**
 * Training targets for one sample already resized to the network input: boxes normalised to
 * [0, 1], matched to the anchors (IoU 0.5), encoded. Returns per anchor the class (0 = background)
 * and the 4 regression targets.
 */
export function ssdTargets(sample: DetectionSample, anchors: Float32Array, iouThreshold = 0.5): {
  /** Class per anchor, [N]; 0 = background. */
  labels: Int32Array;
  /** Encoded matched box per anchor (encodeBoxes), [N, 4] flat. */
  targets: Float32Array;
} {
  const { width, height } = sample.image;
  const normalised = sample.boxes.map((v, i) => (i % 2 === 0 ? v / width : v / height));
  const { labels, matched } = matchAnchors(centerToCorners(anchors), normalised, sample.labels, iouThreshold);
  const numAnchors = anchors.length / 4;
  const matchedBoxes = new Float32Array(numAnchors * 4);
  for (let a = 0; a < numAnchors; a++) {
    // Background anchors get the anchor itself (its encoding is zero; the loss never reads it).
    const g = matched[a];
    if (g < 0) matchedBoxes.set(centerToCorners(anchors.subarray(4 * a, 4 * a + 4)), 4 * a);
    else matchedBoxes.set(normalised.subarray(4 * g, 4 * g + 4), 4 * a);
  }
  return { labels, targets: encodeBoxes(cornersToCenter(matchedBoxes), anchors) };
}
