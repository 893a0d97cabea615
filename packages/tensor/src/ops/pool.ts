import { assertFloat } from '../dtype.js';
import { ShapeError } from '../errors.js';
import type { Pool2DAttrs } from '../kernel-names.js';
import { runKernel } from '../registry.js';
import { formatShape } from '../shape.js';
import { recordOp } from '../tape.js';
import type { Tensor } from '../tensor.js';
import { pair, type Pair } from './conv2d.js';

/** Options of {@link avgPool2d} and {@link maxPool2d}, as PyTorch's keyword arguments (floor mode). */
export interface Pool2dOptions {
  /** Defaults to the kernel size. */
  stride?: Pair;
  /** Implicit padding on both sides, in pixels, at most half the kernel. Default 0. */
  padding?: Pair;
  /** avgPool2d only: count padded positions in the divisor (PyTorch's default true). */
  countIncludePad?: boolean;
}

function poolAttrs(op: string, x: Tensor, kernelSize: Pair, options: Pool2dOptions): Pool2DAttrs {
  assertFloat(op, x.dtype);
  if (x.ndim !== 4) throw new ShapeError(`${op}: expected input [N, C, H, W], got ${formatShape(x.shape)}`);
  const k = pair(op, 'kernelSize', kernelSize, 1);
  const attrs: Pool2DAttrs = {
    kernelSize: k,
    stride: pair(op, 'stride', options.stride ?? k, 1),
    padding: pair(op, 'padding', options.padding ?? 0, 0),
    countIncludePad: options.countIncludePad ?? true,
  };
  if (attrs.padding[0] * 2 > k[0] || attrs.padding[1] * 2 > k[1]) {
    throw new ShapeError(`${op}: padding ${formatShape(attrs.padding)} must be at most half the kernel ${formatShape(k)}`);
  }
  if (x.shape[2] + 2 * attrs.padding[0] < k[0] || x.shape[3] + 2 * attrs.padding[1] < k[1]) {
    throw new ShapeError(`${op}: kernel ${formatShape(k)} is larger than the padded input ${formatShape(x.shape)}`);
  }
  return attrs;
}

/** Average pooling, NCHW, floor mode. */
export function avgPool2d(x: Tensor, kernelSize: Pair, options: Pool2dOptions = {}): Tensor {
  const attrs = poolAttrs('avgPool2d', x, kernelSize, options);
  const inputShape = x.shape;
  const out = runKernel('AvgPool2D', x, attrs);
  return recordOp('avgPool2d', out, [x], (g) => [runKernel('AvgPool2DGrad', g, inputShape, attrs)], attrs);
}

/** Max pooling, NCHW, floor mode; the gradient goes to the first maximum of each window. */
export function maxPool2d(x: Tensor, kernelSize: Pair, options: Omit<Pool2dOptions, 'countIncludePad'> = {}): Tensor {
  const attrs = poolAttrs('maxPool2d', x, kernelSize, options);
  const inputShape = x.shape;
  const { output, indices } = runKernel('MaxPool2D', x, attrs);
  return recordOp('maxPool2d', output, [x], (g) => [runKernel('MaxPool2DGrad', g, indices, inputShape)], attrs);
}

/** Average pooling to a fixed output size with PyTorch's bins [⌊i·H/Ho⌋, ⌈(i+1)·H/Ho⌉). */
export function adaptiveAvgPool2d(x: Tensor, outputSize: Pair): Tensor {
  assertFloat('adaptiveAvgPool2d', x.dtype);
  if (x.ndim !== 4) throw new ShapeError(`adaptiveAvgPool2d: expected input [N, C, H, W], got ${formatShape(x.shape)}`);
  const size = pair('adaptiveAvgPool2d', 'outputSize', outputSize, 1);
  const inputShape = x.shape;
  const out = runKernel('AdaptiveAvgPool2D', x, size);
  return recordOp('adaptiveAvgPool2d', out, [x], (g) => [runKernel('AdaptiveAvgPool2DGrad', g, inputShape)], { outputSize: size });
}
