// The ParC circular convolution (spec §2.1 step 3) on float32 [N·C] planes of H × W, kernel [C, n]
// (n = H for axis H, W for axis W), not centred: tap k reads position (i + k) mod n. The forward
// and the input gradient are one gathered kernel (parcGather); the kernel gradient sums SIMD dot
// products over contiguous segments (along W the two pieces of a row split at the wrap).
import { horizontalSum, madd } from './simd';

@inline function dot(a: usize, b: usize, length: i32): f32 {
  let acc = f32x4.splat(0);
  let t = 0;
  for (; t + 4 <= length; t += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(a + (<usize>t << 2)), v128.load(b + (<usize>t << 2))));
  let s = horizontalSum(acc);
  for (; t < length; t++) s += load<f32>(a + (<usize>t << 2)) * load<f32>(b + (<usize>t << 2));
  return s;
}

/** dk[c, k] = Σ_{images, i, j} dy · x shifted by k, for channels [chStart, chEnd) (each channel summed here alone). */
export function parcConvBackpropKernel(x: usize, dy: usize, dk: usize, n: i32, c: i32, h: i32, w: i32, axisH: i32, chStart: i32, chEnd: i32): void {
  const planeBytes = <usize>h * <usize>w << 2;
  const len = axisH ? h : w;
  for (let ch = chStart; ch < chEnd; ch++) {
    for (let k = 0; k < len; k++) {
      let s: f32 = 0;
      for (let img = 0; img < n; img++) {
        const plane = <usize>(img * c + ch);
        const xp = x + plane * planeBytes;
        const gp = dy + plane * planeBytes;
        if (axisH) {
          for (let i = 0; i < h; i++) {
            const src = i + k < h ? i + k : i + k - h;
            s += dot(gp + (<usize>i * <usize>w << 2), xp + (<usize>src * <usize>w << 2), w);
          }
        } else {
          for (let i = 0; i < h; i++) {
            const gr = gp + (<usize>i * <usize>w << 2);
            const xr = xp + (<usize>i * <usize>w << 2);
            s += dot(gr, xr + (<usize>k << 2), w - k) + dot(gr + (<usize>(w - k) << 2), xr, k);
          }
        }
      }
      store<f32>(dk + ((<usize>ch * <usize>len + <usize>k) << 2), s);
    }
  }
}

/**
 * The forward (sign = 1: y[i] = Σ_k kernel[k] · x[(i + k) mod n]) and its transpose, the backward
 * w.r.t. the input (sign = −1: dx[i] = Σ_k kernel[k] · dy[(i − k) mod n]), gathered: each block of
 * 16 outputs is summed in four SIMD registers over all n taps and stored once (the scatter form
 * re-reads and rewrites the output row for every tap). Along W each row is first copied twice into
 * this thread's scratch (`scratch` + (start / chunk) · scratchBytes, 2·W floats), so the wrapped
 * taps are plain unaligned loads. With `offset` ≠ 0 (the forward only), offset[c, i] (axis H) or
 * offset[c, j] (axis W), a float32 [C, n] array, starts each output's sum: the conv of the meta PE
 * and the bias, so neither needs a pass of its own (ops/parc-conv.ts in @parcnet/parc). Planes [start, end).
 */
export function parcGather(
  x: usize, kernel: usize, offset: usize, y: usize, c: i32, h: i32, w: i32, axisH: i32, sign: i32,
  scratch: usize, scratchBytes: usize, chunk: i32, start: i32, end: i32,
): void {
  const planeBytes = <usize>h * <usize>w << 2;
  const rowBytes = <usize>w << 2;
  const twice = scratch + <usize>(start / chunk) * scratchBytes;
  const n = axisH ? h : w;
  for (let plane = start; plane < end; plane++) {
    const kp = kernel + (<usize>((plane % c) * n) << 2);
    const ob = offset ? offset + (<usize>((plane % c) * n) << 2) : 0;
    const xp = x + <usize>plane * planeBytes;
    const yp = y + <usize>plane * planeBytes;
    for (let i = 0; i < h; i++) {
      const out = yp + <usize>i * rowBytes;
      if (!axisH) {
        memory.copy(twice, xp + <usize>i * rowBytes, rowBytes);
        memory.copy(twice + rowBytes, xp + <usize>i * rowBytes, rowBytes);
      }
      let j = 0;
      for (; j + 16 <= w; j += 16) {
        let a0 = initial(ob, i, j, axisH), a1 = initial(ob, i, j + 4, axisH), a2 = initial(ob, i, j + 8, axisH), a3 = initial(ob, i, j + 12, axisH);
        for (let k = 0; k < n; k++) {
          const wk = v128.load32_splat(kp + (<usize>k << 2));
          const src = tapSource(xp, twice, i, j, k, h, w, axisH, sign);
          a0 = madd(wk, v128.load(src), a0);
          a1 = madd(wk, v128.load(src, 16), a1);
          a2 = madd(wk, v128.load(src, 32), a2);
          a3 = madd(wk, v128.load(src, 48), a3);
        }
        const at = out + (<usize>j << 2);
        v128.store(at, a0); v128.store(at, a1, 16); v128.store(at, a2, 32); v128.store(at, a3, 48);
      }
      for (; j + 4 <= w; j += 4) {
        let a = initial(ob, i, j, axisH);
        for (let k = 0; k < n; k++) a = madd(v128.load32_splat(kp + (<usize>k << 2)), v128.load(tapSource(xp, twice, i, j, k, h, w, axisH, sign)), a);
        v128.store(out + (<usize>j << 2), a);
      }
      for (; j < w; j++) {
        let s: f32 = ob ? load<f32>(ob + (<usize>(axisH ? i : j) << 2)) : 0;
        for (let k = 0; k < n; k++) s += load<f32>(kp + (<usize>k << 2)) * load<f32>(tapSource(xp, twice, i, j, k, h, w, axisH, sign));
        store<f32>(out + (<usize>j << 2), s);
      }
    }
  }
}

/** The sum outputs j … j + 3 of row i start from: their offsets, or zero. */
@inline function initial(ob: usize, i: i32, j: i32, axisH: i32): v128 {
  if (!ob) return f32x4.splat(0);
  return axisH ? v128.load32_splat(ob + (<usize>i << 2)) : v128.load(ob + (<usize>j << 2));
}

/** Where tap k of output (i, j) reads: row (i ± k) mod H of the plane, or column j ± k (mod W) of the doubled row. */
@inline function tapSource(xp: usize, twice: usize, i: i32, j: i32, k: i32, h: i32, w: i32, axisH: i32, sign: i32): usize {
  if (axisH) {
    let r = i + sign * k;
    if (r >= h) r -= h;
    else if (r < 0) r += h;
    return xp + ((<usize>r * <usize>w + <usize>j) << 2);
  }
  return twice + (<usize>(sign > 0 ? j + k : j - k + w) << 2);
}
