import {
  assertFloat, DTypeError, formatShape, recordOp, runKernel, ShapeError, sum, Tensor, type FloatArray, type FloatDType,
} from '@parcnet/tensor';
import type { ParcAxis } from '../kernel-names.js';
import { resampleRows, resampleRowsAdjoint, resampleTaps } from './resample.js';

/** Options of {@link parcConv}. */
export interface ParcConvOptions {
  /** The axis to convolve along: 'H' (n = H) or 'W' (n = W). */
  axis: ParcAxis;
  /** Meta PE [1, C, K, 1] (axis H) or [1, C, 1, K] (axis W), resampled to n and added to the input; default none. */
  metaPE?: Tensor | null;
  /** Bias [C], added to the output; default none (no official ParC-Net has one, spec §2.1). */
  bias?: Tensor | null;
}

/**
 * The ParC operator (spec §2.1), one autograd op with an analytic backward.
 * x: [B, C, H, W], metaKernel: [C, 1, K, 1] (axis H) or [C, 1, 1, K] (axis W) → y: [B, C, H, W].
 *
 *   n = H (axis H) or W (axis W)              — each axis resamples to its own length (spec §2.2)
 *   w = resample(metaKernel, n), q̃ = resample(metaPE, n)
 *   x' = x + q̃ (broadcast along the other axis)
 *   y[b, c, i, j] = bias[c] + Σₖ w[c, k] · x'[b, c, (i + k) mod n, j]     (axis H; not centred)
 *
 * Backward: dx = dx' = the transposed circular conv of g with w; dw[c, k] = Σ g · x'(shifted by k),
 * dmetaKernel = Aᵀ dw with the resampling weights A; dq̃ = Σ_{b, other axis} dx', dmetaPE = Aᵀ dq̃;
 * dbias = Σ_{b, i, j} g.
 */
export function parcConv(x: Tensor, metaKernel: Tensor, options: ParcConvOptions): Tensor {
  const { axis } = options;
  const metaPE = options.metaPE ?? null;
  const bias = options.bias ?? null;
  assertFloat('parcConv', x.dtype, 'input');
  if (axis !== 'H' && axis !== 'W') throw new ShapeError(`parcConv: axis must be 'H' or 'W', got ${String(axis)}`);
  if (x.ndim !== 4) throw new ShapeError(`parcConv: expected input [B, C, H, W], got ${formatShape(x.shape)}`);
  const [, c, h, w] = x.shape;
  const n = axis === 'H' ? h : w;
  const longAxis = axis === 'H' ? 2 : 3;
  const k = metaKernel.shape[longAxis];
  const kernelShape = axis === 'H' ? [c, 1, k, 1] : [c, 1, 1, k];
  const peShape = axis === 'H' ? [1, c, k, 1] : [1, c, 1, k];
  if (metaKernel.ndim !== 4 || formatShape(metaKernel.shape) !== formatShape(kernelShape)) {
    throw new ShapeError(
      `parcConv: meta kernel for axis ${axis} and input ${formatShape(x.shape)} must be ${axis === 'H' ? '[C, 1, K, 1]' : '[C, 1, 1, K]'} with C = ${c}, got ${formatShape(metaKernel.shape)}`,
    );
  }
  if (metaPE && formatShape(metaPE.shape) !== formatShape(peShape)) {
    throw new ShapeError(`parcConv: meta PE must be ${formatShape(peShape)} (the meta kernel's K = ${k}), got ${formatShape(metaPE.shape)}`);
  }
  if (bias && formatShape(bias.shape) !== formatShape([c])) {
    throw new ShapeError(`parcConv: bias must be [${c}], got ${formatShape(bias.shape)}`);
  }
  for (const [name, t] of [['meta kernel', metaKernel], ['meta PE', metaPE], ['bias', bias]] as const) {
    if (t && t.dtype !== x.dtype) throw new DTypeError(`parcConv: ${name} is ${t.dtype} but the input is ${x.dtype}`);
  }

  const dtype = x.dtype as FloatDType;
  const taps = resampleTaps(k, n, dtype);
  const kernel = Tensor.empty([c, n], dtype);
  resampleRows(metaKernel.contiguous().toTypedArray() as FloatArray, c, taps, kernel.storage as FloatArray);

  let shifted = x;
  let peAtSize: Tensor | null = null;
  if (metaPE) {
    peAtSize = Tensor.empty([c, n], dtype);
    resampleRows(metaPE.contiguous().toTypedArray() as FloatArray, c, taps, peAtSize.storage as FloatArray);
    shifted = addAlongAxis(x, peAtSize.storage as FloatArray, axis);
  }
  let y = runKernel('ParcConv', shifted, kernel, axis);
  if (bias) y = addAlongAxis(y, bias.contiguous().toTypedArray() as FloatArray, 'C');

  return recordOp('parcConv', y, [x, metaKernel, ...(metaPE ? [metaPE] : []), ...(bias ? [bias] : [])], (g) => {
    const gx = runKernel('ParcConvBackpropInput', g, kernel, axis);
    const grads: (Tensor | null)[] = [gx];
    if (metaKernel.requiresGrad) {
      const gKernel = runKernel('ParcConvBackpropKernel', shifted, g, axis).toTypedArray() as FloatArray;
      grads.push(adjoint(gKernel, c, taps, metaKernel.shape, dtype));
    } else {
      grads.push(null);
    }
    if (metaPE) {
      grads.push(metaPE.requiresGrad ? adjoint(sum(gx, [0, axis === 'H' ? 3 : 2]).toTypedArray() as FloatArray, c, taps, metaPE.shape, dtype) : null);
    }
    if (bias) grads.push(bias.requiresGrad ? sum(g, [0, 2, 3]) : null);
    return grads;
  }, { axis, kernel, pe: peAtSize, bias }); // the kernel and PE at this input's size: what an exporter bakes in
}

function adjoint(grad: FloatArray, rows: number, taps: ReturnType<typeof resampleTaps>, shape: readonly number[], dtype: FloatDType): Tensor {
  const out = Tensor.empty(shape, dtype);
  resampleRowsAdjoint(grad, rows, taps, out.storage as FloatArray);
  return out;
}

/**
 * x + v where v holds one value per (channel, position along `axis`) — [C, n] — or, for 'C', one
 * value per channel. A plain loop: the op's own backward accounts for it.
 */
function addAlongAxis(x: Tensor, v: FloatArray, axis: ParcAxis | 'C'): Tensor {
  const [b, c, h, w] = x.shape;
  const src = x.contiguous().toTypedArray() as FloatArray;
  const out = Tensor.empty(x.shape, x.dtype);
  const dst = out.storage as FloatArray;
  for (let plane = 0; plane < b * c; plane++) {
    const ch = plane % c;
    for (let i = 0; i < h; i++) {
      for (let j = 0; j < w; j++) {
        const at = (plane * h + i) * w + j;
        const add = axis === 'C' ? v[ch] : axis === 'H' ? v[ch * h + i] : v[ch * w + j];
        dst[at] = src[at] + add;
      }
    }
  }
  return out;
}
