import { FormatError, Generator, ShapeError, Tensor } from '@parcnet/tensor';
import type { RgbImage } from './image.js';

/**
 * Per-image transforms, described by plain objects so that a YAML config can name them and a
 * worker thread can receive them. Every random choice draws from the generator it is given, so a
 * pipeline is deterministic for a given seed. Images are planar [3, H, W] throughout; pixel values
 * stay in 0…255 until `toFloat` divides by 255.
 */

/** An image size in pixels: one number (a square, or for `resize` the shorter side) or [height, width]. */
export type Size = number | [number, number];

/**
 * One per-image transform as a config names it (`{ name: 'randomCrop', size: 32, padding: 4 }`);
 * a list of them runs in order in {@link applyTransforms}. Random ones draw from the generator given.
 */
export type TransformSpec =
  /** torchvision RandomCrop: pad every side by `padding` with `fill`, then crop `size` at a random place. */
  | {
      /** Selects torchvision's RandomCrop. */
      name: 'randomCrop';
      /** Crop size in pixels. */
      size: Size;
      /** Pixels added on every side before cropping; default 0. */
      padding?: number;
      /** Value of the padded pixels, on the current scale (0…255 before `toFloat`); default 0. */
      fill?: number;
    }
  /** Mirror left–right with probability p (default 0.5). */
  | {
      /** Selects torchvision's RandomHorizontalFlip. */
      name: 'horizontalFlip';
      /** Probability of flipping, in [0, 1]; default 0.5. */
      p?: number;
    }
  /** torchvision RandomResizedCrop: a random area fraction and aspect ratio, resized (bilinear) to `size`. */
  | {
      /** Selects torchvision's RandomResizedCrop. */
      name: 'randomResizedCrop';
      /** Output size in pixels. */
      size: Size;
      /** Range of the crop's area as a fraction of the image's; default [0.08, 1]. */
      scale?: [number, number];
      /** Range of the crop's aspect ratio width / height (drawn log-uniformly); default [3/4, 4/3]. */
      ratio?: [number, number];
    }
  /** Bilinear resize; a single number sets the shorter side (aspect kept), like torchvision. */
  | {
      /** Selects torchvision's Resize (bilinear, no antialiasing). */
      name: 'resize';
      /** [height, width], or the shorter side's new length in pixels. */
      size: Size;
    }
  /** torchvision CenterCrop: the centred window of `size`; parts outside the image read 0. */
  | {
      /** Selects torchvision's CenterCrop. */
      name: 'centerCrop';
      /** Crop size in pixels. */
      size: Size;
    }
  /** Divide by 255: [0, 255] → [0, 1]. */
  | {
      /** Selects the division by 255 (torchvision's ToTensor scaling). */
      name: 'toFloat';
    }
  /** (x − mean[c]) / std[c], per channel in the current channel order. */
  | {
      /** Selects torchvision's Normalize. */
      name: 'normalize';
      /** Per-channel mean, on the current scale (e.g. [0.485, 0.456, 0.406] after `toFloat`). */
      mean: [number, number, number];
      /** Per-channel standard deviation, non-zero, on the current scale. */
      std: [number, number, number];
    }
  /** Reverse the channel order RGB → BGR (the official ParC-Net weights expect BGR in [0, 1], spec §7). */
  | {
      /** Selects the RGB → BGR channel swap. */
      name: 'bgr';
    };

/** The `name` of a transform: 'randomCrop', 'horizontalFlip', 'randomResizedCrop', 'resize', 'centerCrop', 'toFloat', 'normalize' or 'bgr'. */
export type TransformName = TransformSpec['name'];

/** A planar [3, H, W] float image. */
export interface FloatImage {
  /** 3 · height · width values: the first channel's plane, then the second's, then the third's, each row-major. */
  data: Float32Array;
  /** Height in pixels. */
  height: number;
  /** Width in pixels. */
  width: number;
}

const NAMES: readonly TransformName[] = ['randomCrop', 'horizontalFlip', 'randomResizedCrop', 'resize', 'centerCrop', 'toFloat', 'normalize', 'bgr'];

/** Checks specs that came from a config file; the message names the config and the transform. */
export function validateTransforms(specs: unknown, where: string): TransformSpec[] {
  if (!Array.isArray(specs)) throw new FormatError(`${where}: transforms must be a list, got ${JSON.stringify(specs)}`);
  return specs.map((raw, i) => {
    const spec = (typeof raw === 'string' ? { name: raw } : raw) as Record<string, unknown>;
    const at = `${where}: transform ${i} (${JSON.stringify(raw)})`;
    if (!NAMES.includes(spec?.name as TransformName)) throw new FormatError(`${at}: unknown name; known: ${NAMES.join(', ')}`);
    const isSize = (v: unknown): boolean =>
      (typeof v === 'number' && Number.isInteger(v) && v > 0) || (Array.isArray(v) && v.length === 2 && v.every((d) => Number.isInteger(d) && d > 0));
    if (['randomCrop', 'randomResizedCrop', 'resize', 'centerCrop'].includes(spec.name as string) && !isSize(spec.size)) {
      throw new FormatError(`${at}: size must be a positive integer or [height, width]`);
    }
    if (spec.name === 'normalize') {
      const triple = (v: unknown): boolean => Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number');
      if (!triple(spec.mean) || !triple(spec.std) || (spec.std as number[]).some((s) => s === 0)) {
        throw new FormatError(`${at}: normalize needs mean and std, three numbers each, std non-zero`);
      }
    }
    return spec as TransformSpec;
  });
}

function pairOf(size: Size): [number, number] {
  return typeof size === 'number' ? [size, size] : size;
}

/** The same pixels as float32, values unchanged (still 0…255). */
export function toFloatImage(image: RgbImage): FloatImage {
  return { data: Float32Array.from(image.data), height: image.height, width: image.width };
}

/** Runs the pipeline on one image; the result is a new float image. */
export function applyTransforms(image: RgbImage, specs: readonly TransformSpec[], rng: Generator): FloatImage {
  let out = toFloatImage(image);
  for (const spec of specs) out = applyOne(out, spec, rng);
  return out;
}

function applyOne(image: FloatImage, spec: TransformSpec, rng: Generator): FloatImage {
  switch (spec.name) {
    case 'randomCrop': {
      const [h, w] = pairOf(spec.size);
      const padding = spec.padding ?? 0;
      const top = rng.integer(0, image.height + 2 * padding - h + 1) - padding;
      const left = rng.integer(0, image.width + 2 * padding - w + 1) - padding;
      return crop(image, top, left, h, w, spec.fill ?? 0);
    }
    case 'horizontalFlip':
      return rng.uniform() < (spec.p ?? 0.5) ? flipHorizontal(image) : image;
    case 'randomResizedCrop': {
      const [h, w] = pairOf(spec.size);
      const box = randomResizedBox(image.height, image.width, spec.scale ?? [0.08, 1], spec.ratio ?? [3 / 4, 4 / 3], rng);
      return resizeBilinear(crop(image, box.top, box.left, box.height, box.width, 0), h, w);
    }
    case 'resize': {
      if (typeof spec.size !== 'number') return resizeBilinear(image, spec.size[0], spec.size[1]);
      const short = Math.min(image.height, image.width);
      const h = image.height === short ? spec.size : Math.floor((spec.size * image.height) / short);
      const w = image.width === short ? spec.size : Math.floor((spec.size * image.width) / short);
      return resizeBilinear(image, h, w);
    }
    case 'centerCrop': {
      const [h, w] = pairOf(spec.size);
      return crop(image, Math.round((image.height - h) / 2), Math.round((image.width - w) / 2), h, w, 0);
    }
    case 'toFloat':
      return mapValues(image, (v) => v / 255);
    case 'normalize': {
      const plane = image.height * image.width;
      const data = new Float32Array(image.data.length);
      for (let c = 0; c < 3; c++) {
        for (let p = 0; p < plane; p++) data[c * plane + p] = (image.data[c * plane + p] - spec.mean[c]) / spec.std[c];
      }
      return { ...image, data };
    }
    case 'bgr': {
      const plane = image.height * image.width;
      const data = new Float32Array(image.data.length);
      data.set(image.data.subarray(2 * plane, 3 * plane), 0);
      data.set(image.data.subarray(plane, 2 * plane), plane);
      data.set(image.data.subarray(0, plane), 2 * plane);
      return { ...image, data };
    }
  }
}

function mapValues(image: FloatImage, fn: (v: number) => number): FloatImage {
  return { ...image, data: image.data.map(fn) };
}

/** The window [top, top + h) × [left, left + w); parts outside the image read `fill`. */
export function crop(image: FloatImage, top: number, left: number, h: number, w: number, fill: number): FloatImage {
  const data = new Float32Array(3 * h * w).fill(fill);
  const plane = image.height * image.width;
  for (let c = 0; c < 3; c++) {
    for (let y = 0; y < h; y++) {
      const sy = y + top;
      if (sy < 0 || sy >= image.height) continue;
      for (let x = 0; x < w; x++) {
        const sx = x + left;
        if (sx >= 0 && sx < image.width) data[(c * h + y) * w + x] = image.data[c * plane + sy * image.width + sx];
      }
    }
  }
  return { data, height: h, width: w };
}

/** A new image mirrored left–right (column x becomes width − 1 − x). */
export function flipHorizontal(image: FloatImage): FloatImage {
  const { height, width } = image;
  const data = new Float32Array(image.data.length);
  for (let row = 0; row < 3 * height; row++) {
    for (let x = 0; x < width; x++) data[row * width + x] = image.data[row * width + width - 1 - x];
  }
  return { data, height, width };
}

/** torchvision's RandomResizedCrop.get_params: 10 tries, then a centre crop at the clamped ratio. */
export function randomResizedBox(
  height: number,
  width: number,
  scale: [number, number],
  ratio: [number, number],
  rng: Generator,
): {
  /** First row of the box, in pixels from the image's top. */
  top: number;
  /** First column of the box, in pixels from the image's left. */
  left: number;
  /** Height of the box in pixels, at most the image's. */
  height: number;
  /** Width of the box in pixels, at most the image's. */
  width: number;
} {
  const area = height * width;
  const logRatio = [Math.log(ratio[0]), Math.log(ratio[1])];
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * (scale[0] + rng.uniform() * (scale[1] - scale[0]));
    const aspect = Math.exp(logRatio[0] + rng.uniform() * (logRatio[1] - logRatio[0]));
    const w = Math.round(Math.sqrt(targetArea * aspect));
    const h = Math.round(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      return { top: rng.integer(0, height - h + 1), left: rng.integer(0, width - w + 1), height: h, width: w };
    }
  }
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < ratio[0]) h = Math.round(w / ratio[0]);
  else if (inRatio > ratio[1]) w = Math.round(h * ratio[1]);
  return { top: Math.floor((height - h) / 2), left: Math.floor((width - w) / 2), height: h, width: w };
}

/**
 * Bilinear resize with half-pixel centres (OpenCV INTER_LINEAR, PyTorch align_corners=false,
 * no antialiasing). A uint8 image comes back as uint8 (rounded), a float image as float.
 */
export function resizeBilinear<I extends FloatImage | RgbImage>(image: I, outHeight: number, outWidth: number): I {
  const { height, width } = image;
  if (height === outHeight && width === outWidth) return image;
  const data = image.data instanceof Uint8Array ? new Uint8Array(3 * outHeight * outWidth) : new Float32Array(3 * outHeight * outWidth);
  const round = image.data instanceof Uint8Array;
  const axis = (outSize: number, inSize: number): { low: Int32Array; high: Int32Array; frac: Float64Array } => {
    const low = new Int32Array(outSize);
    const high = new Int32Array(outSize);
    const frac = new Float64Array(outSize);
    const scale = inSize / outSize;
    for (let i = 0; i < outSize; i++) {
      const src = Math.max((i + 0.5) * scale - 0.5, 0);
      low[i] = Math.min(Math.floor(src), inSize - 1);
      high[i] = Math.min(low[i] + 1, inSize - 1);
      frac[i] = src - low[i];
    }
    return { low, high, frac };
  };
  const ys = axis(outHeight, height);
  const xs = axis(outWidth, width);
  for (let c = 0; c < 3; c++) {
    const base = c * height * width;
    for (let y = 0; y < outHeight; y++) {
      const r0 = base + ys.low[y] * width;
      const r1 = base + ys.high[y] * width;
      const fy = ys.frac[y];
      for (let x = 0; x < outWidth; x++) {
        const fx = xs.frac[x];
        const top = image.data[r0 + xs.low[x]] * (1 - fx) + image.data[r0 + xs.high[x]] * fx;
        const bottom = image.data[r1 + xs.low[x]] * (1 - fx) + image.data[r1 + xs.high[x]] * fx;
        const v = top * (1 - fy) + bottom * fy;
        data[(c * outHeight + y) * outWidth + x] = round ? Math.round(v) : v;
      }
    }
  }
  return { ...image, data, height: outHeight, width: outWidth };
}

/**
 * A batch of same-size 0…255 RGB images as the official models take them (spec §7): BGR channel
 * order, divided by 255, no normalisation, NCHW float32.
 */
export function bgrBatch(images: readonly FloatImage[]): Tensor {
  const { height, width } = images[0];
  const plane = height * width;
  const data = new Float32Array(images.length * 3 * plane);
  images.forEach((image, b) => {
    if (image.height !== height || image.width !== width) throw new ShapeError(`bgrBatch: image ${b} is ${image.height}×${image.width}, image 0 is ${height}×${width}`);
    for (let c = 0; c < 3; c++) {
      const from = image.data.subarray((2 - c) * plane, (3 - c) * plane);
      const at = (b * 3 + c) * plane;
      for (let p = 0; p < plane; p++) data[at + p] = from[p] / 255;
    }
  });
  return new Tensor(data, [images.length, 3, height, width]);
}

/**
 * The input a classifier gets for one image, the same in `parcnet predict` and in a browser: the
 * image resized (bilinear, rounded to 8 bits) to the size the weights were trained at when it
 * differs, then the weights' evaluation transforms; [1, 3, H, W].
 */
export function classifierInput(image: RgbImage, inputSize: readonly [number, number], transforms: readonly TransformSpec[]): Tensor {
  const [height, width] = inputSize;
  const resized = image.height !== height || image.width !== width ? resizeBilinear(image, height, width) : image;
  const input = applyTransforms(resized, transforms, new Generator(0)); // evaluation transforms draw nothing
  return new Tensor(input.data, [1, 3, input.height, input.width]);
}
