import type { Conv2DAttrs } from './kernel-names';

/**
 * Sizes every backend derives the same way from a kernel's arguments, so that the reference and
 * WASM kernels (and the profiler) agree on them.
 */

/** ⌊(size + 2·padding − dilation·(kernel − 1) − 1) / stride⌋ + 1, as PyTorch. */
export function convOutputSize(size: number, kernel: number, stride: number, padding: number, dilation: number): number {
  return Math.floor((size + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1;
}

export interface Conv2DGeometry {
  n: number; c: number; h: number; w: number;
  o: number; kh: number; kw: number;
  ho: number; wo: number;
  /** Input and output channels per group. */
  cg: number; og: number;
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
export function channelGeometry(shape: readonly number[]): { n: number; c: number; s: number } {
  return { n: shape[0], c: shape[1], s: shape.slice(2).reduce((a, b) => a * b, 1) };
}
