// Box arithmetic on flat arrays of 4-vectors: centre form (cx, cy, w, h), corner form
// (x0, y0, x1, y1), SSD box coding with variances 0.1 / 0.2 (spec §8), IoU and greedy NMS.

/** Divisor of the encoded centre offsets in SSD box coding (cvnets `model.detection.ssd.center_variance`; spec §8). */
export const CENTER_VARIANCE = 0.1;
/** Divisor of the encoded log size ratios in SSD box coding (cvnets `model.detection.ssd.size_variance`; spec §8). */
export const SIZE_VARIANCE = 0.2;

/** Centre form (cx, cy, w, h) → corner form (x0, y0, x1, y1), box by box, into a new array. */
export function centerToCorners(boxes: ArrayLike<number>): Float32Array {
  const out = new Float32Array(boxes.length);
  for (let i = 0; i < boxes.length; i += 4) {
    out[i] = boxes[i] - boxes[i + 2] / 2;
    out[i + 1] = boxes[i + 1] - boxes[i + 3] / 2;
    out[i + 2] = boxes[i] + boxes[i + 2] / 2;
    out[i + 3] = boxes[i + 1] + boxes[i + 3] / 2;
  }
  return out;
}

/** Corner form (x0, y0, x1, y1) → centre form (cx, cy, w, h), box by box, into a new array. */
export function cornersToCenter(boxes: ArrayLike<number>): Float32Array {
  const out = new Float32Array(boxes.length);
  for (let i = 0; i < boxes.length; i += 4) {
    out[i] = (boxes[i] + boxes[i + 2]) / 2;
    out[i + 1] = (boxes[i + 1] + boxes[i + 3]) / 2;
    out[i + 2] = boxes[i + 2] - boxes[i];
    out[i + 3] = boxes[i + 3] - boxes[i + 1];
  }
  return out;
}

/** Regression targets of centre-form `boxes` against centre-form `anchors` (one box per anchor). */
export function encodeBoxes(boxes: ArrayLike<number>, anchors: ArrayLike<number>): Float32Array {
  const out = new Float32Array(boxes.length);
  for (let i = 0; i < boxes.length; i += 4) {
    out[i] = (boxes[i] - anchors[i]) / anchors[i + 2] / CENTER_VARIANCE;
    out[i + 1] = (boxes[i + 1] - anchors[i + 1]) / anchors[i + 3] / CENTER_VARIANCE;
    out[i + 2] = Math.log(boxes[i + 2] / anchors[i + 2]) / SIZE_VARIANCE;
    out[i + 3] = Math.log(boxes[i + 3] / anchors[i + 3]) / SIZE_VARIANCE;
  }
  return out;
}

/** The inverse of encodeBoxes: centre-form boxes from regression outputs. */
export function decodeBoxes(locations: ArrayLike<number>, anchors: ArrayLike<number>): Float32Array {
  const out = new Float32Array(locations.length);
  for (let i = 0; i < locations.length; i += 4) {
    out[i] = locations[i] * CENTER_VARIANCE * anchors[i + 2] + anchors[i];
    out[i + 1] = locations[i + 1] * CENTER_VARIANCE * anchors[i + 3] + anchors[i + 1];
    out[i + 2] = Math.exp(locations[i + 2] * SIZE_VARIANCE) * anchors[i + 2];
    out[i + 3] = Math.exp(locations[i + 3] * SIZE_VARIANCE) * anchors[i + 3];
  }
  return out;
}

/** IoU of corner-form boxes a[i] and b[j] (offsets in 4-vectors), with an optional epsilon in the union. */
export function boxIou(a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number, epsilon = 0): number {
  const w = Math.min(a[4 * i + 2], b[4 * j + 2]) - Math.max(a[4 * i], b[4 * j]);
  const h = Math.min(a[4 * i + 3], b[4 * j + 3]) - Math.max(a[4 * i + 1], b[4 * j + 1]);
  const inter = w > 0 && h > 0 ? w * h : 0;
  const areaA = (a[4 * i + 2] - a[4 * i]) * (a[4 * i + 3] - a[4 * i + 1]);
  const areaB = (b[4 * j + 2] - b[4 * j]) * (b[4 * j + 3] - b[4 * j + 1]);
  return inter / (areaA + areaB - inter + epsilon);
}

/**
 * Greedy non-maximum suppression (torchvision.ops.nms): visit boxes by decreasing score (ties by
 * index), keep one unless it overlaps an already kept box with IoU > iouThreshold. Returns the kept
 * indices, best first.
 */
export function nms(boxes: ArrayLike<number>, scores: ArrayLike<number>, iouThreshold: number): number[] {
  const order = Array.from({ length: scores.length }, (_, i) => i).sort((i, j) => scores[j] - scores[i] || i - j);
  const kept: number[] = [];
  for (const i of order) {
    if (kept.every((k) => boxIou(boxes, i, boxes, k) <= iouThreshold)) kept.push(i);
  }
  return kept;
}

/**
 * Per-class NMS (the SSD predict step, spec §8): for each class c ≥ 1, anchors with score >
 * scoreThreshold (default 0.05), NMS at iouThreshold (default 0.5), the best topK (default 200)
 * survivors. `scores` is [N, C] row-major. Returns the survivors class by class, best first within
 * a class.
 */
export function batchedNms(
  boxes: ArrayLike<number>,
  scores: ArrayLike<number>,
  numClasses: number,
  options: { scoreThreshold?: number; iouThreshold?: number; topK?: number } = {},
): {
  /** Corner form, in the units of `boxes`. */
  box: [number, number, number, number];
  /** Class index, ≥ 1. */
  label: number;
  /** The anchor's score for that class. */
  score: number;
}[] {
  const threshold = options.scoreThreshold ?? 0.05;
  const iouThreshold = options.iouThreshold ?? 0.5;
  const topK = options.topK ?? 200;
  const n = scores.length / numClasses;
  const out: { box: [number, number, number, number]; label: number; score: number }[] = [];
  for (let c = 1; c < numClasses; c++) {
    const candidates: number[] = [];
    for (let i = 0; i < n; i++) if (scores[i * numClasses + c] > threshold) candidates.push(i);
    const subset = new Float32Array(candidates.length * 4);
    candidates.forEach((a, k) => subset.set([boxes[4 * a], boxes[4 * a + 1], boxes[4 * a + 2], boxes[4 * a + 3]], 4 * k));
    const kept = nms(subset, candidates.map((a) => scores[a * numClasses + c]), iouThreshold).slice(0, topK);
    for (const k of kept) {
      const a = candidates[k];
      out.push({ box: [boxes[4 * a], boxes[4 * a + 1], boxes[4 * a + 2], boxes[4 * a + 3]], label: c, score: scores[a * numClasses + c] });
    }
  }
  return out;
}

/**
 * SSD matching (spec §8): every anchor takes its highest-IoU ground truth; each ground truth in turn
 * claims its best anchor (a later one wins a shared anchor); anchors below iouThreshold become
 * background (label 0). Boxes are corner form in [0, 1]; IoU has 1e-5 in the union, as the official
 * code. Returns per anchor the label and the matched ground-truth index (−1 for an image without boxes).
 */
export function matchAnchors(
  anchorsCorners: ArrayLike<number>,
  gtCorners: ArrayLike<number>,
  gtLabels: ArrayLike<number>,
  iouThreshold = 0.5,
): {
  /** Class per anchor; 0 = background. */
  labels: Int32Array;
  /** Ground-truth index per anchor (background anchors keep their best match); −1 for all when there are no boxes. */
  matched: Int32Array;
} {
  const numAnchors = anchorsCorners.length / 4;
  const numGt = gtCorners.length / 4;
  const labels = new Int32Array(numAnchors);
  const matched = new Int32Array(numAnchors).fill(-1);
  if (numGt === 0) return { labels, matched };
  const bestIou = new Float64Array(numAnchors).fill(-1);
  for (let a = 0; a < numAnchors; a++) {
    for (let g = 0; g < numGt; g++) {
      const v = boxIou(anchorsCorners, a, gtCorners, g, 1e-5);
      if (v > bestIou[a]) {
        bestIou[a] = v;
        matched[a] = g;
      }
    }
  }
  for (let g = 0; g < numGt; g++) {
    let best = -1;
    let bestAnchor = 0;
    for (let a = 0; a < numAnchors; a++) {
      const v = boxIou(anchorsCorners, a, gtCorners, g, 1e-5);
      if (v > best) {
        best = v;
        bestAnchor = a;
      }
    }
    matched[bestAnchor] = g;
    bestIou[bestAnchor] = 2;
  }
  for (let a = 0; a < numAnchors; a++) labels[a] = bestIou[a] < iouThreshold ? 0 : gtLabels[matched[a]];
  return { labels, matched };
}
