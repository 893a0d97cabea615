import type { Conv2DAttrs, Pool2DAttrs } from './kernel-names.js';

/**
 * Sizes every backend derives the same way from a kernel's arguments, so that the reference and
 * WASM kernels (and the profiler) agree on them.
 */

/** ⌊(size + 2·padding − dilation·(kernel − 1) − 1) / stride⌋ + 1, as PyTorch. */
export function convOutputSize(size: number, kernel: number, stride: number, padding: number, dilation: number): number {
  return Math.floor((size + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1;
}

/** A convolution's sizes, from {@link conv2dGeometry}: x: [n, c, h, w], w: [o, cg, kh, kw] → y: [n, o, ho, wo]. */
export interface Conv2DGeometry {
  /** Batch size N. */
  n: number;
  /** Input channels C. */
  c: number;
  /** Input height, in pixels. */
  h: number;
  /** Input width, in pixels. */
  w: number;
  /** Output channels O. */
  o: number;
  /** Kernel height, in taps. */
  kh: number;
  /** Kernel width, in taps. */
  kw: number;
  /** Output height, in pixels (see {@link convOutputSize}). */
  ho: number;
  /** Output width, in pixels. */
  wo: number;
  /** Input channels per group, C / groups. */
  cg: number;
  /** Output channels per group, O / groups. */
  og: number;
  /** One output per channel (groups = C): a direct loop beats im2col + a one-row GEMM. */
  depthwise: boolean;
  /** 1×1, stride 1, no padding: the image itself is the column matrix. */
  pointwise: boolean;
}

/** x: [N, C, H, W], w: [O, C/groups, kH, kW]. */
export function conv2dGeometry(inputShape: readonly number[], weightShape: readonly number[], attrs: Conv2DAttrs): Conv2DGeometry {
  const [n, c, h, w] = inputShape;
  const [o, , kh, kw] = weightShape;
  const cg = c / attrs.groups;
  const og = o / attrs.groups;
  return {
    n, c, h, w, o, kh, kw, cg, og,
    ho: convOutputSize(h, kh, attrs.stride[0], attrs.padding[0], attrs.dilation[0]),
    wo: convOutputSize(w, kw, attrs.stride[1], attrs.padding[1], attrs.dilation[1]),
    depthwise: attrs.groups === c && cg === 1 && og === 1 && c > 1,
    pointwise: kh === 1 && kw === 1 && attrs.stride[0] === 1 && attrs.stride[1] === 1 && attrs.padding[0] === 0 && attrs.padding[1] === 0,
  };
}

/** [N, C, S…] as N, C and S = the product of the trailing dims (batch norm's per-channel runs). */
export function channelGeometry(shape: readonly number[]): {
  /** Batch size N. */
  n: number;
  /** Channels C. */
  c: number;
  /** Elements per channel and sample: the product of the dims after C (1 for [N, C]). */
  s: number;
} {
  return { n: shape[0], c: shape[1], s: shape.slice(2).reduce((a, b) => a * b, 1) };
}

/** [N, C, H, W] pooled by `attrs` (floor mode, as PyTorch). */
export function pooledShape(shape: readonly number[], attrs: Pool2DAttrs): number[] {
  const [n, c, h, w] = shape;
  return [
    n, c,
    convOutputSize(h, attrs.kernelSize[0], attrs.stride[0], attrs.padding[0], 1),
    convOutputSize(w, attrs.kernelSize[1], attrs.stride[1], attrs.padding[1], 1),
  ];
}

/** One output position's two source positions along an axis, and their weights. */
export interface Tap {
  /** The source position at or below the sampling point (clipped to the input). */
  i0: number;
  /** The next source position, or i0 again at the input's last position. */
  i1: number;
  /** Weight of i0: 1 − w1. */
  w0: number;
  /** Weight of i1: how far the sampling point lies past i0. */
  w1: number;
}

/** Bilinear taps along one axis (PyTorch's area_pixel_compute_source_index). */
export function bilinearTaps(outSize: number, inSize: number, alignCorners: boolean, scale: number): Tap[] {
  const taps: Tap[] = [];
  for (let o = 0; o < outSize; o++) {
    let src: number;
    if (alignCorners) src = outSize > 1 ? (o * (inSize - 1)) / (outSize - 1) : 0;
    else src = Math.max((o + 0.5) * scale - 0.5, 0);
    const i0 = Math.min(Math.floor(src), inSize - 1);
    const i1 = i0 < inSize - 1 ? i0 + 1 : i0;
    const w1 = src - i0;
    taps.push({ i0, i1, w0: 1 - w1, w1 });
  }
  return taps;
}

/** Sizes before, along and after `axis`, for kernels that walk one axis of a row-major tensor. */
export function splitAtAxis(shape: readonly number[], axis: number): {
  /** The product of the sizes before `axis`. */
  outer: number;
  /** The size of `axis`. */
  length: number;
  /** The product of the sizes after `axis`: the stride of `axis` in a row-major tensor. */
  inner: number;
} {
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < axis; i++) outer *= shape[i];
  for (let i = axis + 1; i < shape.length; i++) inner *= shape[i];
  return { outer, length: shape[axis], inner };
}
