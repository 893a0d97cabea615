import { noGrad } from '@parcnet/autograd';
import type { SsdLite } from '@parcnet/models';
import { softmax, tidy } from '@parcnet/tensor';
import { bgrBatch, resizeBilinear, type FloatImage } from '@parcnet/data';
import { batchedNms, centerToCorners, decodeBoxes } from './boxes.js';
import { cocoEval, type CocoDetection, type CocoMetrics } from './coco-eval.js';
import { loadDetectionSample, type CocoDetection as CocoDetectionSplit } from './coco-dataset.js';

/** One object ssdPredict found. */
export interface Detection {
  /** [x0, y0, x1, y1] in pixels of the original image. */
  box: [number, number, number, number];
  /** Class index (1 … C−1). */
  label: number;
  /** Softmax probability of the class, above scoreThreshold. */
  score: number;
}

/** Inference settings of ssdPredict and evaluateSsd; the defaults are the official ones (spec §8). */
export interface PredictOptions {
  /** The network input size (square; default 320). */
  size?: number;
  /** Keep a class's anchors scoring above this; default 0.05 (cvnets `model.detection.ssd.conf_threshold`). */
  scoreThreshold?: number;
  /** IoU above which NMS drops the lower-scoring box; default 0.5 (cvnets `model.detection.ssd.nms_iou_threshold`). */
  iouThreshold?: number;
  /** Detections kept per class after NMS; default 200 (the official `top_k`, spec §8). */
  topK?: number;
}

/**
 * SSD inference on one image (0…255, planar RGB): resize to size × size, BGR in [0, 1], softmax,
 * decode against the anchors, per-class NMS (spec §8: score > 0.05, IoU 0.5, top 200 per class),
 * boxes scaled back to the image and clipped.
 */
export function ssdPredict(model: SsdLite, image: FloatImage, anchors: Float32Array, options: PredictOptions = {}): Detection[] {
  const size = options.size ?? 320;
  const input = bgrBatch([resizeBilinear(image, size, size)]);
  // tidy: the image's activations go back as soon as its scores and boxes are read.
  const { scores, encoded } = noGrad(() => tidy(() => {
    const { confidences, locations } = model.eval().forwardDetections(input);
    return { scores: softmax(confidences, 2).toTypedArray(), encoded: locations.toTypedArray() };
  }));
  const boxes = centerToCorners(decodeBoxes(encoded, anchors));
  const found = batchedNms(boxes, scores, model.numClasses, options);
  const clip = (v: number, max: number): number => Math.min(max, Math.max(0, v));
  return found.map((d) => ({
    box: [clip(d.box[0] * image.width, image.width), clip(d.box[1] * image.height, image.height), clip(d.box[2] * image.width, image.width), clip(d.box[3] * image.height, image.height)],
    label: d.label,
    score: d.score,
  }));
}

/**
 * Runs ssdPredict over a split and scores it with cocoEval (COCO's results format in between).
 * `options.images` holds images already decoded, by COCO id (the trainer passes its training
 * images, so evaluating the training split decodes none of them again); the others are read and
 * decoded from the split's folder.
 */
export function evaluateSsd(
  model: SsdLite,
  split: CocoDetectionSplit,
  anchors: Float32Array,
  options: PredictOptions & {
    /** Called before each image with (index, image count). */
    onImage?: (done: number, total: number) => void;
    /** Decoded images (planar RGB, 0…255, as loadDetectionSample gives them) by COCO image id. */
    images?: ReadonlyMap<number, FloatImage>;
  } = {},
): {
  /** COCO's box metrics of the split (cocoEval). */
  metrics: CocoMetrics;
  /** Every detection, in COCO's results format. */
  detections: CocoDetection[];
} {
  const detections: CocoDetection[] = [];
  split.imageIds.forEach((imageId, index) => {
    options.onImage?.(index, split.imageIds.length);
    const image = options.images?.get(imageId) ?? loadDetectionSample(split, index).image;
    for (const d of ssdPredict(model, image, anchors, options)) {
      detections.push({
        image_id: imageId,
        category_id: split.categoryIds[d.label - 1],
        bbox: [d.box[0], d.box[1], d.box[2] - d.box[0], d.box[3] - d.box[1]],
        score: d.score,
      });
    }
  });
  const groundTruth = { ...split.instances, images: split.instances.images.filter((i) => split.imageIds.includes(i.id)) };
  groundTruth.annotations = split.instances.annotations.filter((a) => split.imageIds.includes(a.image_id));
  return { metrics: cocoEval(groundTruth, detections), detections };
}
