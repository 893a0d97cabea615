import type { Generator } from '@parcnet/tensor';
import { crop, flipHorizontal, resizeBilinear, type FloatImage } from '@parcnet/data';

/**
 * An image with its boxes, what the SSD training transforms work on (spec §10, detection: random
 * crop with a minimum IoU, photometric distortion, horizontal flip and resize, with the boxes
 * following the image).
 */
export interface DetectionSample {
  /** Planar RGB, 0…255. */
  image: FloatImage;
  /** Corner form (x0, y0, x1, y1) in pixels, flat, four numbers a box. */
  boxes: Float32Array;
  /** Class index per box, 1…C−1 (0 is background). */
  labels: Int32Array;
}

const MIN_IOU_MODES: (number | null)[] = [null, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0];

function iouWithWindow(boxes: Float32Array, i: number, x0: number, y0: number, x1: number, y1: number): number {
  const w = Math.min(boxes[4 * i + 2], x1) - Math.max(boxes[4 * i], x0);
  const h = Math.min(boxes[4 * i + 3], y1) - Math.max(boxes[4 * i + 1], y0);
  const inter = w > 0 && h > 0 ? w * h : 0;
  const area = (boxes[4 * i + 2] - boxes[4 * i]) * (boxes[4 * i + 3] - boxes[4 * i + 1]);
  return inter / (area + (x1 - x0) * (y1 - y0) - inter);
}

/**
 * The SSD random crop: a mode (no crop, or a minimum IoU 0.1 … 1.0), then up to 40 windows with
 * sides 0.3–1 of the image and aspect 0.5–2; a window is accepted when some box overlaps it by at
 * least the minimum IoU and some box centre lies inside; those boxes are kept, clipped to it.
 */
export function ssdRandomCrop(sample: DetectionSample, rng: Generator): DetectionSample {
  const mode = MIN_IOU_MODES[rng.integer(0, MIN_IOU_MODES.length)];
  const count = sample.labels.length;
  if (mode === null || count === 0) return sample;
  const { height, width } = sample.image;
  for (let trial = 0; trial < 40; trial++) {
    const w = Math.max(1, Math.floor((0.3 + 0.7 * rng.uniform()) * width));
    const h = Math.max(1, Math.floor((0.3 + 0.7 * rng.uniform()) * height));
    if (h / w < 0.5 || h / w > 2) continue;
    const left = rng.integer(0, width - w + 1);
    const top = rng.integer(0, height - h + 1);
    const right = left + w;
    const bottom = top + h;
    let best = 0;
    for (let i = 0; i < count; i++) best = Math.max(best, iouWithWindow(sample.boxes, i, left, top, right, bottom));
    if (best < mode) continue;
    const keep: number[] = [];
    for (let i = 0; i < count; i++) {
      const cx = (sample.boxes[4 * i] + sample.boxes[4 * i + 2]) / 2;
      const cy = (sample.boxes[4 * i + 1] + sample.boxes[4 * i + 3]) / 2;
      if (cx > left && cx < right && cy > top && cy < bottom) keep.push(i);
    }
    if (keep.length === 0) continue;
    const boxes = new Float32Array(keep.length * 4);
    keep.forEach((i, k) => {
      boxes[4 * k] = Math.max(sample.boxes[4 * i], left) - left;
      boxes[4 * k + 1] = Math.max(sample.boxes[4 * i + 1], top) - top;
      boxes[4 * k + 2] = Math.min(sample.boxes[4 * i + 2], right) - left;
      boxes[4 * k + 3] = Math.min(sample.boxes[4 * i + 3], bottom) - top;
    });
    return { image: crop(sample.image, top, left, h, w, 0), boxes, labels: Int32Array.from(keep, (i) => sample.labels[i]) };
  }
  return sample;
}

/** Mirror image and boxes left–right. */
export function flipDetection(sample: DetectionSample): DetectionSample {
  const width = sample.image.width;
  const boxes = new Float32Array(sample.boxes.length);
  for (let i = 0; i < boxes.length; i += 4) {
    boxes[i] = width - sample.boxes[i + 2];
    boxes[i + 1] = sample.boxes[i + 1];
    boxes[i + 2] = width - sample.boxes[i];
    boxes[i + 3] = sample.boxes[i + 3];
  }
  return { image: flipHorizontal(sample.image), boxes, labels: sample.labels };
}

/** Resize to height × width (ignoring aspect, as the SSD recipe does), boxes scaled with it. */
export function resizeDetection(sample: DetectionSample, height: number, width: number): DetectionSample {
  const sy = height / sample.image.height;
  const sx = width / sample.image.width;
  const boxes = sample.boxes.map((v, i) => (i % 2 === 0 ? v * sx : v * sy));
  return { image: resizeBilinear(sample.image, height, width), boxes, labels: sample.labels };
}

/** Clamp to 0…255 and drop the fraction, as a float → uint8 conversion after clipping does. */
const toByte = (v: number): number => Math.trunc(Math.min(255, Math.max(0, v)));

/**
 * RGB (0…255 integers) → HSV with 8-bit ranges as OpenCV has them: H in 0…180 (degrees / 2),
 * S and V in 0…255, rounded.
 */
export function rgbToHsv8(r: number, g: number, b: number): [number, number, number] {
  const v = Math.max(r, g, b);
  const spread = v - Math.min(r, g, b);
  const s = v === 0 ? 0 : (255 * spread) / v;
  let h = 0;
  if (spread > 0) {
    if (v === r) h = (60 * (g - b)) / spread;
    else if (v === g) h = 120 + (60 * (b - r)) / spread;
    else h = 240 + (60 * (r - g)) / spread;
    if (h < 0) h += 360;
  }
  return [Math.round(h / 2) % 180, Math.round(s), v];
}

/** The inverse of rgbToHsv8 (H in 0…180 wraps around; results rounded to 0…255). */
export function hsv8ToRgb(h: number, s: number, v: number): [number, number, number] {
  const hue = (((h * 2) % 360) + 360) % 360 / 60;
  const sat = s / 255;
  const sector = Math.floor(hue);
  const f = hue - sector;
  const p = v * (1 - sat);
  const q = v * (1 - sat * f);
  const t = v * (1 - sat * (1 - f));
  const rgb = [[v, t, p], [q, v, p], [p, v, t], [p, q, v], [t, p, v], [v, p, q]][sector % 6];
  return [Math.round(rgb[0]), Math.round(rgb[1]), Math.round(rgb[2])];
}

/**
 * Photometric distortion as the official detection recipe has it (spec §10, cvnets'
 * PhotometricDistort), each part with probability 0.5, on 0…255 pixels: contrast × U(0.5, 1.5) and
 * brightness + U(−0.2, 0.2)·255, then to bytes; in 8-bit HSV, saturation × U(0.5, 1.5) and hue +
 * trunc(U(−0.05, 0.05)·255), then to bytes (hue clipped, not wrapped) and back to RGB; a late
 * contrast when the first was skipped; a random permutation of the channels.
 */
export function photometricDistort(image: FloatImage, rng: Generator): FloatImage {
  const plane = image.height * image.width;
  const draws = Array.from({ length: 6 }, () => rng.uniform());
  const alpha = draws[0] < 0.5 ? 0.5 + rng.uniform() : 1;
  const beta = draws[1] < 0.5 ? (rng.uniform() * 0.4 - 0.2) * 255 : 0;
  const gamma = draws[2] < 0.5 ? 0.5 + rng.uniform() : 1;
  const delta = draws[3] < 0.5 ? Math.trunc((rng.uniform() * 0.1 - 0.05) * 255) : 0;
  const lateAlpha = alpha === 1 && draws[4] < 0.5 ? 0.5 + rng.uniform() : 1;
  const order = [0, 1, 2];
  if (draws[5] < 0.5) {
    for (let i = 2; i > 0; i--) {
      const j = rng.integer(0, i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
  }
  const out = new Float32Array(3 * plane);
  const d = image.data;
  for (let p = 0; p < plane; p++) {
    const r = toByte(d[p] * alpha + beta);
    const g = toByte(d[plane + p] * alpha + beta);
    const b = toByte(d[2 * plane + p] * alpha + beta);
    const [h, s, v] = rgbToHsv8(r, g, b);
    const rgb = hsv8ToRgb(toByte(h + delta), toByte(s * gamma), v);
    for (let c = 0; c < 3; c++) out[order[c] * plane + p] = lateAlpha === 1 ? rgb[c] : toByte(rgb[c] * lateAlpha);
  }
  return { ...image, data: out };
}
