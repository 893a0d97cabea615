import { recordOp, Tensor, type FloatArray, type FloatDType } from '@parcnet/tensor';

/**
 * Resampling a meta kernel (or meta PE) of K taps to the convolved axis length n: PyTorch's
 * F.interpolate(bilinear, align_corners=True, size=n) along one axis, i.e. 1-D linear
 * interpolation with the end taps on the end taps (spec §2.1 step 1):
 *
 *   s = (K − 1)/(n − 1) (0 when n = 1), src(i) = i·s, i0 = min(⌊src⌋, K − 1), i1 = min(i0 + 1, K − 1),
 *   λ1 = src − i0, λ0 = 1 − λ1,  w[i] = λ0·m[i0] + λ1·m[i1].
 *
 * For float32 PyTorch rounds s, λ1 and λ0 to float32 (so, e.g., K = 32 → n = 8 puts src(7) at
 * 30.9999986, not 31); we do the same, and n = K is an exact copy as in PyTorch.
 */
export interface ResampleTaps {
  /** Meta length K, the number of source taps. */
  readonly from: number;
  /** Target length n, the number of output taps. */
  readonly to: number;
  /** Per output tap i, the lower source tap i0 ∈ [0, K − 1]. */
  readonly i0: Int32Array;
  /** Per output tap i, the upper source tap i1 = min(i0 + 1, K − 1). */
  readonly i1: Int32Array;
  /** Per output tap i, the weight λ0 = 1 − λ1 of `m[i0]`. */
  readonly lambda0: Float64Array;
  /** Per output tap i, the weight λ1 ∈ [0, 1] of `m[i1]` (0 when n = K: an exact copy). */
  readonly lambda1: Float64Array;
}

/**
 * The resampling weights from `from` = K taps to `to` = n taps (spec §2.1 step 1), with PyTorch's
 * float32 rounding of s, λ0 and λ1 when `dtype` is 'float32'. Returns one (i0, i1, λ0, λ1) per output tap.
 */
export function resampleTaps(from: number, to: number, dtype: FloatDType): ResampleTaps {
  const round = dtype === 'float32' ? Math.fround : (v: number): number => v;
  const i0 = new Int32Array(to);
  const i1 = new Int32Array(to);
  const lambda0 = new Float64Array(to);
  const lambda1 = new Float64Array(to);
  const scale = to > 1 ? round((from - 1) / (to - 1)) : 0;
  for (let i = 0; i < to; i++) {
    if (from === to) {
      i0[i] = i;
      i1[i] = i;
      lambda0[i] = 1;
      continue;
    }
    const src = i * scale;
    i0[i] = Math.min(Math.floor(src), from - 1);
    i1[i] = i0[i] < from - 1 ? i0[i] + 1 : i0[i];
    lambda1[i] = round(Math.min(Math.max(src - i0[i], 0), 1));
    lambda0[i] = round(1 - lambda1[i]);
  }
  return { from, to, i0, i1, lambda0, lambda1 };
}

/** rows × from → rows × to. */
export function resampleRows(values: FloatArray, rows: number, taps: ResampleTaps, out: FloatArray): FloatArray {
  const { from, to, i0, i1, lambda0, lambda1 } = taps;
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < to; i++) {
      out[r * to + i] = lambda0[i] * values[r * from + i0[i]] + lambda1[i] * values[r * from + i1[i]];
    }
  }
  return out;
}

/** The adjoint, rows × to → rows × from: each output's gradient goes back with the same λ weights. */
export function resampleRowsAdjoint(grad: FloatArray, rows: number, taps: ResampleTaps, out: FloatArray): FloatArray {
  const { from, to, i0, i1, lambda0, lambda1 } = taps;
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < to; i++) {
      out[r * from + i0[i]] += lambda0[i] * grad[r * to + i];
      out[r * from + i1[i]] += lambda1[i] * grad[r * to + i];
    }
  }
  return out;
}

/**
 * A meta kernel [C, 1, K, 1] (axis H) or [C, 1, 1, K] (axis W) — or a meta PE [1, C, K, 1] /
 * [1, C, 1, K] — resampled to length n along its long axis, same layout. Differentiable.
 */
export function resampleKernel(meta: Tensor, n: number, axis: 'H' | 'W'): Tensor {
  const longAxis = axis === 'H' ? 2 : 3;
  const k = meta.shape[longAxis];
  const rows = meta.size / k;
  const taps = resampleTaps(k, n, meta.dtype as FloatDType);
  const shape = meta.shape.map((d, i) => (i === longAxis ? n : d));
  const out = Tensor.empty(shape, meta.dtype);
  resampleRows(meta.contiguous().toTypedArray() as FloatArray, rows, taps, out.storage as FloatArray);
  return recordOp('resampleKernel', out, [meta], (g) => {
    const gm = Tensor.empty(meta.shape, meta.dtype);
    resampleRowsAdjoint(g.contiguous().toTypedArray() as FloatArray, rows, taps, gm.storage as FloatArray);
    return [gm];
  });
}
