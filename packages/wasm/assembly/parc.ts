// The ParC circular convolution (spec §2.1 step 3) on float32 [N·C] planes of H × W, kernel [C, n]
// (n = H for axis H, W for axis W), not centred: tap k reads position (i + k) mod n. The forward
// and the input gradient are one gathered kernel (parcGather); the kernel gradient reads the same
// copy of each plane (parcConvBackpropKernelSlices).
import { copyFloats, madd } from './simd';

/**
 * Plane (img, ch) of an input whose planes are whole (H·W floats each) and whose images are
 * `imageFloats` apart: C·H·W for a contiguous tensor, more for a block of its channels (one half
 * of a ParC block's input or gradient, read where it lies instead of gathered first).
 */
@inline function planeAt(base: usize, imageFloats: i32, img: i32, ch: i32, planeFloats: i32): usize {
  return base + ((<usize>img * <usize>imageFloats + <usize>ch * <usize>planeFloats) << 2);
}

/**
 * The kernel gradient dk[c, k] = Σ over images and positions of dy · (x at tap k), first as partial
 * sums over slices of the batch (slices [start, end), each of `sliceSize` images but the last):
 * image by image, each channel's plane copied as parcGather copies it, so that tap k of each dy
 * vector is one load at a fixed step; each tap's sum runs in four registers over the plane's
 * vectors (four chains of multiply-adds), starting from and returning to partials + ((slice·c + ch)·n
 * + k)·16. sliceTotals (reduce.ts) then adds the slices in order; the slices are fixed by the batch, not by the
 * threads, so dk does not depend on how many threads ran them. Scratch per chunk: the plane's copy
 * (2·H·W floats, rounded to 4), then, along W, each dy vector's offset in the copy (u32). x and dy
 * are read at planeAt, their images xImage and dyImage floats apart.
 */
export function parcConvBackpropKernelSlices(
  x: usize, xImage: i32, dy: usize, dyImage: i32, partials: usize, n: i32, c: i32, h: i32, w: i32, axisH: i32, sliceSize: i32,
  scratch: usize, scratchBytes: usize, chunk: i32, start: i32, end: i32,
): void {
  const planeFloats = h * w;
  const planeBytes = <usize>planeFloats << 2;
  const rowBytes = <usize>w << 2;
  const copy = scratch + <usize>(start / chunk) * scratchBytes;
  const table = copy + copyBytes(planeFloats);
  const len = axisH ? h : w;
  const vectors = planeVectors(h, w, axisH);
  const step: usize = axisH ? rowBytes : 4;
  const pairs = rowPairs(h, w, axisH);
  for (let v = 0; v < vectors; v++) store<u32>(table + (<usize>v << 2), <u32>(tapZero(0, v, w, axisH, 0)));
  for (let slice = start; slice < end; slice++) {
    const sums = partials + <usize>(slice * c * len) * 16;
    memory.fill(sums, 0, <usize>(c * len) * 16);
    const last = min(n, (slice + 1) * sliceSize);
    for (let img = slice * sliceSize; img < last; img++) {
      for (let ch = 0; ch < c; ch++) {
        const xp = planeAt(x, xImage, img, ch, planeFloats);
        const gp = planeAt(dy, dyImage, img, ch, planeFloats);
        const out = sums + <usize>(ch * len) * 16;
        if (pairs) {
          // Rows of 2 along W: tap 1 is x with each pair's floats swapped.
          let a0 = v128.load(out), a1 = v128.load(out, 16);
          for (let at: usize = 0; at < planeBytes; at += 16) {
            const g = v128.load(gp + at), v = v128.load(xp + at);
            a0 = madd(g, v, a0);
            a1 = madd(g, i32x4.shuffle(v, v, 1, 0, 3, 2), a1);
          }
          v128.store(out, a0);
          v128.store(out, a1, 16);
          continue;
        }
        copyPlane(xp, copy, h, w, axisH);
        if (vectors == 0) {
          // Output by output into lane 0 of each tap's sum.
          for (let k = 0; k < len; k++) {
            let s: f32 = 0;
            for (let t = 0; t < planeFloats; t++) {
              const src = tapIndex(t / w, t % w, k, h, w, axisH, 1);
              s += load<f32>(gp + (<usize>t << 2)) * load<f32>(copy + (<usize>src << 2));
            }
            const at = out + (<usize>k << 4);
            store<f32>(at, load<f32>(at) + s);
          }
          continue;
        }
        for (let k = 0; k < len; k++) {
          const shift = copy + <usize>k * step;
          let a0 = v128.load(out + (<usize>k << 4)), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
          let v = 0;
          for (; v + 4 <= vectors; v += 4) {
            const g = gp + (<usize>v << 4), o = table + (<usize>v << 2);
            a0 = madd(v128.load(g), v128.load(shift + <usize>load<u32>(o)), a0);
            a1 = madd(v128.load(g, 16), v128.load(shift + <usize>load<u32>(o, 4)), a1);
            a2 = madd(v128.load(g, 32), v128.load(shift + <usize>load<u32>(o, 8)), a2);
            a3 = madd(v128.load(g, 48), v128.load(shift + <usize>load<u32>(o, 12)), a3);
          }
          for (; v < vectors; v++) a0 = madd(v128.load(gp + (<usize>v << 4)), v128.load(shift + <usize>load<u32>(table + (<usize>v << 2))), a0);
          v128.store(out + (<usize>k << 4), f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)));
        }
      }
    }
  }
}

/**
 * Output vectors of a plane on the vector path, or 0 where the plane goes output by output: along
 * H its floats in fours (a tap moves whole rows, so any four consecutive outputs share it), along W
 * each row's, when the width divides by 4.
 */
@inline function planeVectors(h: i32, w: i32, axisH: i32): i32 {
  if (axisH) return ((h * w) & 3) == 0 ? (h * w) >> 2 : 0;
  return (w & 3) == 0 ? h * (w >> 2) : 0;
}

/** Rows of 2 along W in whole vectors: tap 1 is the plane with each pair's two floats swapped. */
@inline function rowPairs(h: i32, w: i32, axisH: i32): bool {
  return !axisH && w == 2 && ((h * w) & 3) == 0;
}

/** The float in the plane's copy (copyPlane) that tap k of output (i, j) reads, the taps stepping by `sign`. */
@inline function tapIndex(i: i32, j: i32, k: i32, h: i32, w: i32, axisH: i32, sign: i32): i32 {
  return axisH ? ((i + sign * k + h) % h) * w + j : 2 * w * i + (j + sign * k + w) % w;
}

/** Bytes of a plane's copy (copyPlane): 2·H·W floats, rounded to whole vectors. */
@inline function copyBytes(planeFloats: i32): usize {
  return (<usize>(2 * planeFloats + 3) >> 2) << 4;
}

/**
 * Bytes of one thread's scratch for a ParC kernel on H × W planes (`kind` 0: parcGather, 1:
 * parcMixer, 2: parcConvBackpropKernelSlices): the plane's copy, then the mixer's middle plane or
 * the kernel gradient's table of vector offsets (u32). The caller (kernels.ts) allocates what this says.
 */
export function parcScratchBytes(kind: i32, h: i32, w: i32): i32 {
  const planeFloats = h * w;
  const extra: usize = kind == 1 ? (<usize>(planeFloats + 3) >> 2) << 4 : kind == 2 ? (<usize>(planeFloats + 15) >> 4) << 4 : 0;
  return <i32>(copyBytes(planeFloats) + extra);
}

/** A plane's copy for the gathered taps: the plane twice over (axis H), each row twice over (axis W). */
@inline function copyPlane(xp: usize, copy: usize, h: i32, w: i32, axisH: i32): void {
  const planeFloats = h * w;
  if (axisH) {
    copyFloats(copy, xp, planeFloats);
    copyFloats(copy + (<usize>planeFloats << 2), xp, planeFloats);
    return;
  }
  const rowBytes = <usize>w << 2;
  for (let i = 0; i < h; i++) {
    const row = copy + <usize>(2 * i) * rowBytes;
    copyFloats(row, xp + <usize>i * rowBytes, w);
    copyFloats(row + rowBytes, xp + <usize>i * rowBytes, w);
  }
}

/**
 * The forward (sign = 1: y[i] = Σ_k kernel[k] · x[(i + k) mod n]) and its transpose, the backward
 * w.r.t. the input (sign = −1: dx[i] = Σ_k kernel[k] · dy[(i − k) mod n]), gathered: each output
 * vector is summed in a register over all n taps and stored once (the scatter form re-reads and
 * rewrites the output for every tap). Each plane is first copied into this thread's scratch
 * (`scratch` + (start / chunk) · scratchBytes, 2·H·W floats) so that every tap is a plain load at a
 * fixed step from the output's position: along H the plane twice over (tap k of flat position t is
 * t + k·W, or t + (H − k)·W for the transpose), along W each row twice over. Four output vectors are
 * summed at a time: a vector's taps are one chain of dependent multiply-adds, and four chains
 * overlap (this network's planes are 8, 4 and 2 wide: a row alone gave one or two). With `offset` ≠
 * 0 (the forward only), offset[c, i·W + j] (axis H: a [C, H·W] float32 array, each row's value
 * repeated) or offset[c, j] (axis W: [C, W]) starts each output's sum: the conv of the meta PE and
 * the bias, so neither needs a pass of its own (ops/parc-conv.ts in @parcnet/parc). Planes
 * [start, end), read at planeAt(x, xImage, …); y is contiguous. Along H the plane's size, along W
 * its width, must be a multiple of 4 for the vector path (along W a width of 2 has its own); other
 * planes go output by output.
 */
export function parcGather(
  x: usize, xImage: i32, kernel: usize, offset: usize, y: usize, c: i32, h: i32, w: i32, axisH: i32, sign: i32,
  scratch: usize, scratchBytes: usize, chunk: i32, start: i32, end: i32,
): void {
  const planeFloats = h * w;
  const planeBytes = <usize>planeFloats << 2;
  const copy = scratch + <usize>(start / chunk) * scratchBytes;
  const n = axisH ? h : w;
  for (let plane = start; plane < end; plane++) {
    const kp = kernel + (<usize>((plane % c) * n) << 2);
    const ob = offset ? offset + (<usize>((plane % c) * (axisH ? planeFloats : w)) << 2) : 0;
    gatherPlane(planeAt(x, xImage, plane / c, plane % c, planeFloats), kp, ob, 0, y + <usize>plane * planeBytes, copy, h, w, axisH, sign);
  }
}

/**
 * Inference's ParC mixing in a ParC block (the ParcMixer kernel), planes [start, end) of [N, C]:
 * the first half's channels convolved along H then W, the second half's along W then H, as parcGather
 * with the tables (kernel, offset) of each conv, [C/2, n] (an offset along H as parcGather takes it,
 * [C/2, H·W]); each plane's middle result stays in this thread's scratch, and the plane itself is
 * added to the second conv's sums before they are stored. Scratch per chunk: the copy parcGather
 * uses, then the middle plane.
 */
export function parcMixer(
  x: usize, y: usize, c: i32, h: i32, w: i32,
  k1: usize, o1: usize, k2: usize, o2: usize, k3: usize, o3: usize, k4: usize, o4: usize,
  scratch: usize, scratchBytes: usize, chunk: i32, start: i32, end: i32,
): void {
  const planeFloats = h * w;
  const planeBytes = <usize>planeFloats << 2;
  const copy = scratch + <usize>(start / chunk) * scratchBytes;
  const middle = copy + copyBytes(planeFloats);
  const half = c >> 1;
  for (let plane = start; plane < end; plane++) {
    const ch = plane % c;
    const firstHalf = ch < half;
    const cc = firstHalf ? ch : ch - half;
    const xp = x + <usize>plane * planeBytes;
    // Half 1: along H (k1, o1) then W (k2, o2); half 2: along W (k3, o3) then H (k4, o4).
    const kA = firstHalf ? k1 : k3, oA = firstHalf ? o1 : o3, kB = firstHalf ? k2 : k4, oB = firstHalf ? o2 : o4;
    const nA = firstHalf ? h : w, nB = firstHalf ? w : h;
    gatherPlane(xp, kA + (<usize>(cc * nA) << 2), oA + (<usize>(cc * (firstHalf ? planeFloats : w)) << 2), 0, middle, copy, h, w, firstHalf ? 1 : 0, 1);
    gatherPlane(middle, kB + (<usize>(cc * nB) << 2), oB + (<usize>(cc * (firstHalf ? w : planeFloats)) << 2), xp, y + <usize>plane * planeBytes, copy, h, w, firstHalf ? 0 : 1, 1);
  }
}

/**
 * One plane of parcGather: the plane at xp convolved along the axis (sign as parcGather's) with the
 * taps at kp, each output's sum started from its offsets at ob (0: none) and, with rp ≠ 0, the
 * residual plane at rp added before the store.
 */
@inline function gatherPlane(xp: usize, kp: usize, ob: usize, rp: usize, yp: usize, copy: usize, h: i32, w: i32, axisH: i32, sign: i32): void {
  const planeFloats = h * w;
  const planeBytes = <usize>planeFloats << 2;
  const rowBytes = <usize>w << 2;
  const n = axisH ? h : w;
  const vectors = planeVectors(h, w, axisH);
  // Byte offset of tap 0 from an output's own position in the copy, and the step from tap to tap.
  const first: isize = axisH ? (sign > 0 ? 0 : <isize>planeBytes) : (sign > 0 ? 0 : <isize>rowBytes);
  const step: isize = axisH ? <isize>sign * <isize>rowBytes : <isize>sign * 4;
  if (rowPairs(h, w, axisH)) {
    // The transpose is the same: (j − 1) mod 2 = (j + 1) mod 2.
    const w0 = v128.load32_splat(kp), w1 = v128.load32_splat(kp, 4);
    const init = ob ? v128.load64_splat(ob) : f32x4.splat(0);
    for (let at: usize = 0; at < planeBytes; at += 16) {
      const v = v128.load(xp + at);
      const sum = madd(w1, i32x4.shuffle(v, v, 1, 0, 3, 2), madd(w0, v, init));
      v128.store(yp + at, rp ? f32x4.add(v128.load(rp + at), sum) : sum);
    }
    return;
  }
  copyPlane(xp, copy, h, w, axisH);
  let v = 0;
  for (; v + 4 <= vectors; v += 4) {
    const p0 = tapZero(copy, v, w, axisH, first), p1 = tapZero(copy, v + 1, w, axisH, first);
    const p2 = tapZero(copy, v + 2, w, axisH, first), p3 = tapZero(copy, v + 3, w, axisH, first);
    let a0 = initial(ob, v, w, axisH), a1 = initial(ob, v + 1, w, axisH), a2 = initial(ob, v + 2, w, axisH), a3 = initial(ob, v + 3, w, axisH);
    let at: isize = 0;
    for (let k = 0; k < n; k++) {
      const wk = v128.load32_splat(kp + (<usize>k << 2));
      a0 = madd(wk, v128.load(p0 + <usize>at), a0);
      a1 = madd(wk, v128.load(p1 + <usize>at), a1);
      a2 = madd(wk, v128.load(p2 + <usize>at), a2);
      a3 = madd(wk, v128.load(p3 + <usize>at), a3);
      at += step;
    }
    const out = yp + (<usize>v << 4);
    if (rp) {
      const r = rp + (<usize>v << 4);
      a0 = f32x4.add(v128.load(r), a0);
      a1 = f32x4.add(v128.load(r, 16), a1);
      a2 = f32x4.add(v128.load(r, 32), a2);
      a3 = f32x4.add(v128.load(r, 48), a3);
    }
    v128.store(out, a0);
    v128.store(out, a1, 16);
    v128.store(out, a2, 32);
    v128.store(out, a3, 48);
  }
  for (; v < vectors; v++) {
    const p = tapZero(copy, v, w, axisH, first);
    let a = initial(ob, v, w, axisH);
    let at: isize = 0;
    for (let k = 0; k < n; k++) {
      a = madd(v128.load32_splat(kp + (<usize>k << 2)), v128.load(p + <usize>at), a);
      at += step;
    }
    if (rp) a = f32x4.add(v128.load(rp + (<usize>v << 4)), a);
    v128.store(yp + (<usize>v << 4), a);
  }
  if (vectors > 0) return;
  for (let t = 0; t < planeFloats; t++) {
    const i = t / w, j = t % w;
    let s: f32 = ob ? load<f32>(ob + (<usize>(axisH ? t : j) << 2)) : 0;
    for (let k = 0; k < n; k++) s += load<f32>(kp + (<usize>k << 2)) * load<f32>(copy + (<usize>tapIndex(i, j, k, h, w, axisH, sign) << 2));
    store<f32>(yp + (<usize>t << 2), rp ? load<f32>(rp + (<usize>t << 2)) + s : s);
  }
}

/** Where tap 0 of output vector v lies in the plane's copy: flat position 4v along H, row i's doubled copy at column j along W. */
@inline function tapZero(copy: usize, v: i32, w: i32, axisH: i32, first: isize): usize {
  if (axisH) return copy + (<usize>v << 4) + <usize>first;
  const perRow = w >> 2;
  const i = v / perRow;
  const j = (v - i * perRow) << 2;
  return copy + (<usize>(2 * i * w + j) << 2) + <usize>first;
}

/** The sum output vector v starts from: its offsets, or zero. */
@inline function initial(ob: usize, v: i32, w: i32, axisH: i32): v128 {
  if (!ob) return f32x4.splat(0);
  if (axisH) return v128.load(ob + (<usize>v << 4));
  const perRow = w >> 2;
  return v128.load(ob + (<usize>((v % perRow) << 2) << 2));
}
