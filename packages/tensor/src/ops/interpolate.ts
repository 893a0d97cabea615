import { assertFloat } from '../dtype.js';
import { ShapeError } from '../errors.js';
import type { ResizeAttrs } from '../kernel-names.js';
import { runKernel } from '../registry.js';
import { formatShape } from '../shape.js';
import { recordOp } from '../tape.js';
import type { Tensor } from '../tensor.js';

/** Options of {@link interpolate}, as torch.nn.functional.interpolate's. */
export interface InterpolateOptions {
  /** Output [H, W] (or one number for both). Give this or scaleFactor. */
  size?: number | readonly [number, number];
  /** Multiplier of [H, W] (or one number for both); the output is ⌊in · s⌋. Give this or size. */
  scaleFactor?: number | readonly [number, number];
  /** Default 'nearest' (PyTorch's legacy nearest: source index ⌊o · scale⌋). */
  mode?: 'nearest' | 'bilinear';
  /** bilinear only; default false, as in PyTorch. */
  alignCorners?: boolean;
}

/**
 * torch.nn.functional.interpolate for NCHW. With `scaleFactor`, the output is ⌊in · s⌋ and the
 * coordinate mapping uses 1/s (PyTorch's default recompute_scale_factor=None); with `size` it uses in/out.
 */
export function interpolate(x: Tensor, options: InterpolateOptions): Tensor {
  assertFloat('interpolate', x.dtype);
  if (x.ndim !== 4) throw new ShapeError(`interpolate: expected input [N, C, H, W], got ${formatShape(x.shape)}`);
  const mode = options.mode ?? 'nearest';
  if (mode === 'nearest' && options.alignCorners !== undefined) {
    throw new ShapeError('interpolate: alignCorners only applies to bilinear mode');
  }
  const [h, w] = [x.shape[2], x.shape[3]];
  let outSize: [number, number];
  let scale: [number, number];
  if (options.size !== undefined && options.scaleFactor === undefined) {
    outSize = typeof options.size === 'number' ? [options.size, options.size] : [options.size[0], options.size[1]];
    scale = [h / outSize[0], w / outSize[1]];
  } else if (options.scaleFactor !== undefined && options.size === undefined) {
    const s = typeof options.scaleFactor === 'number' ? [options.scaleFactor, options.scaleFactor] : options.scaleFactor;
    outSize = [Math.floor(h * s[0]), Math.floor(w * s[1])];
    scale = [1 / s[0], 1 / s[1]];
  } else {
    throw new ShapeError('interpolate: give exactly one of size and scaleFactor');
  }
  if (!outSize.every((d) => Number.isInteger(d) && d > 0)) {
    throw new ShapeError(`interpolate: output size ${formatShape(outSize)} must be positive integers (input ${formatShape(x.shape)})`);
  }
  const attrs: ResizeAttrs = { outSize, alignCorners: options.alignCorners ?? false, scale };
  const inputShape = x.shape;
  if (mode === 'bilinear') {
    const out = runKernel('ResizeBilinear', x, attrs);
    return recordOp('interpolate', out, [x], (g) => [runKernel('ResizeBilinearGrad', g, inputShape, attrs)], { mode, ...attrs });
  }
  const out = runKernel('ResizeNearest', x, attrs);
  return recordOp('interpolate', out, [x], (g) => [runKernel('ResizeNearestGrad', g, inputShape, attrs)], { mode, ...attrs });
}
