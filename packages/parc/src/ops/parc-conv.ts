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
 * Computed as y = conv(x) + offset, offset[c, i] = bias[c] + Σₖ w[c, k] · q̃[c, (i + k) mod n] (the
 * conv is linear): the kernel starts every sum from its offset, so neither add is a pass of its own.
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

  let peAtSize: Tensor | null = null;
  if (metaPE) {
    peAtSize = Tensor.empty([c, n], dtype);
    resampleRows(metaPE.contiguous().toTypedArray() as FloatArray, c, taps, peAtSize.storage as FloatArray);
  }
  // The conv is linear, so conv(x + q̃) + bias = conv(x) + offset with offset = conv(q̃) + bias, a
  // [C, n] table the kernel starts each sum from: neither add needs a pass over the activation.
  const offset = metaPE || bias ? offsetTable(kernel, peAtSize, bias, c, n, dtype) : null;
  const y = runKernel('ParcConv', x, kernel, axis, offset);

  return recordOp('parcConv', y, [x, metaKernel, ...(metaPE ? [metaPE] : []), ...(bias ? [bias] : [])], (g) => {
    const gx = runKernel('ParcConvBackpropInput', g, kernel, axis);
    const grads: (Tensor | null)[] = [gx];
    if (metaKernel.requiresGrad) {
      const gKernel = runKernel('ParcConvBackpropKernel', x, g, axis).toTypedArray() as FloatArray;
      // dw against x + q̃ is dw against x plus Σ g · q̃ shifted by k, where g summed over the batch
      // and the other axis ([C, n]) is all that q̃ meets.
      if (peAtSize) addPECorrelation(gKernel, sum(g, [0, axis === 'H' ? 3 : 2]).toTypedArray() as FloatArray, peAtSize.storage as FloatArray, c, n);
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

/** offset[c, i] = bias[c] + Σₖ kernel[c, k] · pe[c, (i + k) mod n]: what the PE and the bias add to output i. */
function offsetTable(kernel: Tensor, pe: Tensor | null, bias: Tensor | null, c: number, n: number, dtype: FloatDType): Tensor {
  const w = kernel.storage as FloatArray;
  const q = pe ? pe.storage as FloatArray : null;
  const b = bias ? bias.contiguous().toTypedArray() as FloatArray : null;
  const out = Tensor.empty([c, n], dtype);
  const table = out.storage as FloatArray;
  for (let ch = 0; ch < c; ch++) {
    for (let i = 0; i < n; i++) {
      let s = b ? b[ch] : 0;
      if (q) for (let k = 0; k < n; k++) s += w[ch * n + k] * q[ch * n + (i + k < n ? i + k : i + k - n)];
      table[ch * n + i] = s;
    }
  }
  return out;
}

/** grad[c, k] += Σᵢ gSum[c, i] · pe[c, (i + k) mod n]. */
function addPECorrelation(grad: FloatArray, gSum: FloatArray, pe: FloatArray, c: number, n: number): void {
  for (let ch = 0; ch < c; ch++) {
    for (let k = 0; k < n; k++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += gSum[ch * n + i] * pe[ch * n + (i + k < n ? i + k : i + k - n)];
      grad[ch * n + k] += s;
    }
  }
}

function adjoint(grad: FloatArray, rows: number, taps: ReturnType<typeof resampleTaps>, shape: readonly number[], dtype: FloatDType): Tensor {
  const out = Tensor.empty(shape, dtype);
  resampleRowsAdjoint(grad, rows, taps, out.storage as FloatArray);
  return out;
}
