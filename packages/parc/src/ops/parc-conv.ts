import {
  assertFloat, DTypeError, formatShape, isGradEnabled, ParcnetError, recordOp, runKernel, ShapeError, sum, Tensor, type FloatArray, type FloatDType,
} from '@parcnet/tensor';
import type { ParcAxis, ParcMixerHalf, ParcTables } from '../kernel-names.js';
import { resampleRows, resampleRowsAdjoint, resampleTaps, type ResampleTaps } from './resample.js';

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
  const { taps, kernel, pe: peAtSize } = atLength(metaKernel, metaPE, axis, n);
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

/**
 * The meta kernel [C, 1, K, 1] or [C, 1, 1, K] and the meta PE, if any, resampled to length n along
 * `axis` as [C, n] tables, with the taps used (the backward's adjoint needs them).
 */
function atLength(metaKernel: Tensor, metaPE: Tensor | null, axis: ParcAxis, n: number): { taps: ResampleTaps; kernel: Tensor; pe: Tensor | null } {
  const c = metaKernel.shape[0];
  const dtype = metaKernel.dtype as FloatDType;
  const taps = resampleTaps(metaKernel.shape[axis === 'H' ? 2 : 3], n, dtype);
  const resample = (meta: Tensor): Tensor => {
    const out = Tensor.empty([c, n], dtype);
    resampleRows(meta.contiguous().toTypedArray() as FloatArray, c, taps, out.storage as FloatArray);
    return out;
  };
  return { taps, kernel: resample(metaKernel), pe: metaPE ? resample(metaPE) : null };
}

/**
 * offset[c, i] = bias[c] + Σₖ kernel[c, k] · pe[c, (i + k) mod n]: what the PE and the bias add to
 * output i. With an input affine (s, t) applied after the PE, the input's constant part is
 * s[c]·pe + t[c]: offset[c, i] = bias[c] + Σₖ kernel[c, k] · (s[c]·pe[c, (i + k) mod n] + t[c]).
 */
function offsetTable(kernel: Tensor, pe: Tensor | null, bias: Tensor | null, c: number, n: number, dtype: FloatDType, affine: InputAffine | null = null): Tensor {
  const w = kernel.storage as FloatArray;
  const q = pe ? pe.storage as FloatArray : null;
  const b = bias ? bias.contiguous().toTypedArray() as FloatArray : null;
  const out = Tensor.empty([c, n], dtype);
  const table = out.storage as FloatArray;
  for (let ch = 0; ch < c; ch++) {
    const scale = affine ? affine.scale[ch] : 1;
    const shift = affine ? affine.shift[ch] : 0;
    for (let i = 0; i < n; i++) {
      let s = b ? b[ch] : 0;
      if (affine || q) {
        for (let k = 0; k < n; k++) {
          const pe = q ? q[ch * n + (i + k < n ? i + k : i + k - n)] : 0;
          s += w[ch * n + k] * (affine ? (q ? scale * pe : 0) + shift : pe);
        }
      }
      table[ch * n + i] = s;
    }
  }
  return out;
}

/** A per-channel affine x · scale[c] + shift[c] (an evaluation norm's, BatchNorm2d.inferenceAffine). */
export interface InputAffine {
  scale: Float64Array;
  shift: Float64Array;
}

/** Options of {@link parcTables}: what comes before the conv, folded into its tables. */
export interface ParcTablesOptions {
  /** Meta PE, as parcConv's: resampled to n and added to the input. */
  metaPE?: Tensor | null;
  /** Bias [C], added to the output. */
  bias?: Tensor | null;
  /** A per-channel affine applied to the input after the PE (a norm in evaluation). */
  inputAffine?: InputAffine | null;
}

/**
 * A ParC conv along `axis` at length n as inference runs it (the ParcMixer kernel): the kernel
 * and offset tables [C, n] with what comes before the conv folded in. The conv is linear, so
 * conv(s·(x + q̃) + t) + bias = conv_{s·w}(x) + offset, with the kernel s[c]·w[c, k] and the offset
 * of offsetTable: the PE, the affine (a norm) and the bias cost no pass over the activation.
 */
export function parcTables(metaKernel: Tensor, axis: ParcAxis, n: number, options: ParcTablesOptions = {}): ParcTables {
  const c = metaKernel.shape[0];
  const dtype = metaKernel.dtype as FloatDType;
  const { kernel, pe } = atLength(metaKernel, options.metaPE ?? null, axis, n);
  const affine = options.inputAffine ?? null;
  const offset = offsetTable(kernel, pe, options.bias ?? null, c, n, dtype, affine);
  if (affine) {
    const w = kernel.storage as FloatArray;
    for (let ch = 0; ch < c; ch++) for (let i = 0; i < n; i++) w[ch * n + i] *= affine.scale[ch];
  }
  return { kernel, offset };
}

/**
 * Inference's ParC mixing in a ParC block (the ParcMixer kernel): x [B, C, H, W] split into halves
 * along C, the first convolved along H then W, the second along W then H, each half added to its
 * input; every conv's kernel and offset come from {@link parcTables}. No gradient flows through it.
 */
export function parcMixer(x: Tensor, halves: readonly [ParcMixerHalf, ParcMixerHalf]): Tensor {
  assertFloat('parcMixer', x.dtype, 'input');
  if (x.ndim !== 4 || x.shape[1] % 2 !== 0) throw new ShapeError(`parcMixer: expected input [B, C, H, W] with C even, got ${formatShape(x.shape)}`);
  if (isGradEnabled() && x.requiresGrad) throw new ParcnetError('parcMixer: inference only, but the input requires grad; call it under noGrad() or use parcConv');
  const [, c, h, w] = x.shape;
  halves.forEach(({ first, second }, which) => {
    const axes: [ParcAxis, ParcAxis] = which === 0 ? ['H', 'W'] : ['W', 'H'];
    [first, second].forEach((tables, i) => {
      const want = [c / 2, axes[i] === 'H' ? h : w];
      for (const [name, t] of [['kernel', tables.kernel], ['offset', tables.offset]] as const) {
        if (formatShape(t.shape) !== formatShape(want)) {
          throw new ShapeError(`parcMixer: half ${which + 1}'s ${i === 0 ? 'first' : 'second'} conv (axis ${axes[i]}) needs a ${name} ${formatShape(want)} for input ${formatShape(x.shape)}, got ${formatShape(t.shape)}`);
        }
        if (t.dtype !== x.dtype) throw new DTypeError(`parcMixer: half ${which + 1}'s ${name} is ${t.dtype} but the input is ${x.dtype}`);
      }
    });
  });
  return runKernel('ParcMixer', x, halves);
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

function adjoint(grad: FloatArray, rows: number, taps: ResampleTaps, shape: readonly number[], dtype: FloatDType): Tensor {
  const out = Tensor.empty(shape, dtype);
  resampleRowsAdjoint(grad, rows, taps, out.storage as FloatArray);
  return out;
}
