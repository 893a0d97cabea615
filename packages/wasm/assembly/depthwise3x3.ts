// Depthwise 3×3 convolutions (dilation 1, stride 1 or 2 along each axis; MobileNetV2 and ParC-Net
// blocks) on float32 [N·C] planes, forward and both backward passes, all in SIMD without a scalar
// border path. Each plane is first copied into a zero-bordered scratch plane, so every tap of every
// output lies inside it. With stride 2 along W the scratch rows are split into their even and odd
// columns (E, then O): the three taps of outputs ox … ox+3 are then E[ox…], O[ox…] and E[ox+1…],
// contiguous vectors again. Scratch is per thread: `scratch` + (start / chunk) · scratchBytes.
import { activateInPlace } from './batchnorm';
import { gemm, packPanels, panelBytes, rowPanels } from './gemm';
import { copyFloats, storeLanes } from './simd';

/** Float32s per scratch row: the padded row, and room for the last group of 4 outputs' taps; whole vectors (each half, with stride 2). */
@inline function rowFloats(w: i32, pw: i32, wo: i32, sw: i32): i32 {
  const wo4 = (wo + 3) & ~3;
  if (sw == 1) return (max(w + 2 * pw, wo4 + 2) + 3) & ~3;
  return 2 * ((max(wo4 + 1, (w + 2 * pw + 1) / 2) + 3) & ~3);
}

/** Scratch rows: the padded image, and the rows the last output row's taps reach. */
@inline function planeRows(h: i32, ph: i32, ho: i32, sh: i32): i32 {
  return max(h + 2 * ph, sh * (ho - 1) + 3);
}

/** Byte offset of tap column kj for output column 0 in a scratch row. */
@inline function tapOffset(kj: i32, sw: i32, row: i32): usize {
  if (sw == 1) return <usize>kj << 2;
  return kj == 1 ? <usize>(row >> 1) << 2 : <usize>(kj >> 1) << 2;
}

/**
 * The even/odd split of a scratch row whose interior starts at column pw: element ix of the image
 * row is padded column q = ix + pw, so the image's even elements land in the half these return the
 * byte offset of (E when pw is even, O when it is odd), its odd elements in the other.
 */
@inline function evenHalf(pw: i32, half: usize): usize {
  return pw & 1 ? half : 0;
}

@inline function oddHalf(pw: i32, half: usize): usize {
  return pw & 1 ? 0 : half;
}

/** Copies a plane [h, w] into the scratch plane's interior (its border stays as it was: zero). */
function padPlane(src: usize, h: i32, w: i32, ph: i32, pw: i32, dst: usize, row: i32, sw: i32): void {
  const rowBytes = <usize>row << 2;
  const half = <usize>(row >> 1) << 2;
  const first = evenHalf(pw, half) + (<usize>(pw >> 1) << 2);
  const second = oddHalf(pw, half) + (<usize>((pw + 1) >> 1) << 2);
  for (let iy = 0; iy < h; iy++) {
    const from = src + (<usize>iy * <usize>w << 2);
    const to = dst + <usize>(iy + ph) * rowBytes;
    if (sw == 1) {
      copyFloats(to + (<usize>pw << 2), from, w);
      continue;
    }
    // Eight elements at a time: evens to one half, odds to the other.
    let t = 0;
    for (; 2 * t + 8 <= w; t += 4) {
      const v0 = v128.load(from + (<usize>(2 * t) << 2));
      const v1 = v128.load(from + (<usize>(2 * t) << 2), 16);
      v128.store(to + first + (<usize>t << 2), i32x4.shuffle(v0, v1, 0, 2, 4, 6));
      v128.store(to + second + (<usize>t << 2), i32x4.shuffle(v0, v1, 1, 3, 5, 7));
    }
    for (let ix = 2 * t; ix < w; ix++) store<f32>(to + (ix & 1 ? second : first) + (<usize>(ix >> 1) << 2), load<f32>(from + (<usize>ix << 2)));
  }
}

/** The adjoint of padPlane: the scratch plane's interior back into a plane [h, w]. */
function unpadPlane(src: usize, h: i32, w: i32, ph: i32, pw: i32, dst: usize, row: i32, sw: i32): void {
  const rowBytes = <usize>row << 2;
  const half = <usize>(row >> 1) << 2;
  const first = evenHalf(pw, half) + (<usize>(pw >> 1) << 2);
  const second = oddHalf(pw, half) + (<usize>((pw + 1) >> 1) << 2);
  for (let iy = 0; iy < h; iy++) {
    const from = src + <usize>(iy + ph) * rowBytes;
    const to = dst + (<usize>iy * <usize>w << 2);
    if (sw == 1) {
      copyFloats(to, from + (<usize>pw << 2), w);
      continue;
    }
    let t = 0;
    for (; 2 * t + 8 <= w; t += 4) {
      const a = v128.load(from + first + (<usize>t << 2));
      const b = v128.load(from + second + (<usize>t << 2));
      v128.store(to + (<usize>(2 * t) << 2), i32x4.shuffle(a, b, 0, 4, 1, 5));
      v128.store(to + (<usize>(2 * t) << 2), i32x4.shuffle(a, b, 2, 6, 3, 7), 16);
    }
    for (let ix = 2 * t; ix < w; ix++) store<f32>(to + (<usize>ix << 2), load<f32>(from + (ix & 1 ? second : first) + (<usize>(ix >> 1) << 2)));
  }
}

/** The nine weights of plane p's channel, rotated by 180° when `flip`. */
@inline function tap(wgt: usize, ch: i32, k: i32, flip: i32): v128 {
  return f32x4.splat(load<f32>(wgt + (<usize>(ch * 9 + (flip ? 8 - k : k)) << 2)));
}

/**
 * Stores output vector `acc`, pixels q … q+3 of its plane (`valid` of them real): at dst + 4q, or
 * with `panelStride` ≠ 0 into GEMM column panels (gemm.ts: 8 pixels a panel, panels `panelStride`
 * bytes apart, dst the channel's 8 floats in the first one), where q is a multiple of 4 and a
 * vector never straddles two panels.
 */
@inline function storeOutput(dst: usize, q: i32, acc: v128, valid: i32, panelStride: usize): void {
  if (panelStride) v128.store(dst + <usize>(q >> 3) * panelStride + (<usize>(q & 4) << 2), acc);
  else storeLanes(dst + (<usize>q << 2), acc, valid);
}

/**
 * One output plane [ho, wo] of the depthwise 3×3 conv from the padded scratch plane into `dst` (as
 * storeOutput), with conv2dNormAct's affine when `epilogue` (the activation is the caller's). A
 * function of its own, not inlined: inlined into its callers (a plane copy, the epilogue, the loops
 * over planes around it), V8 kept the nine taps and the row pointers on the stack and reloaded them
 * for every vector, about 18 cycles a vector. Unit-stride columns (o1 = 4, o2 = 8) take the taps at
 * immediate offsets, two output rows at a time: the four input rows they read are loaded once, and
 * the two sums are independent chains (each output's nine products still added in tap order, so
 * the bits are those of one row at a time): a 16×16 plane in cache 0.82× the time, an 8×8 0.88×
 (over a batch 0.84–0.93× and 0.94×; 32×32 unchanged).
 */
function convolvePlane(
  plane: usize, rowBytes: usize, o0: usize, o1: usize, o2: usize, wgt: usize, ch: i32, flip: i32,
  epilogue: bool, sv: v128, bv: v128, ho: i32, wo: i32, sh: i32, dst: usize, panelStride: usize,
): void {
  const t0 = tap(wgt, ch, 0, flip), t1 = tap(wgt, ch, 1, flip), t2 = tap(wgt, ch, 2, flip);
  const t3 = tap(wgt, ch, 3, flip), t4 = tap(wgt, ch, 4, flip), t5 = tap(wgt, ch, 5, flip);
  const t6 = tap(wgt, ch, 6, flip), t7 = tap(wgt, ch, 7, flip), t8 = tap(wgt, ch, 8, flip);
  const unit = o0 == 0 && o1 == 4 && o2 == 8;
  let oy = 0;
  if (unit && sh == 1) {
    for (; oy + 2 <= ho; oy += 2) {
      const r0 = plane + <usize>oy * rowBytes;
      const r1 = r0 + rowBytes;
      const r2 = r1 + rowBytes;
      const r3 = r2 + rowBytes;
      for (let ox = 0; ox < wo; ox += 4) {
        const at = <usize>ox << 2;
        const a = r0 + at, b = r1 + at, c = r2 + at, d = r3 + at;
        let v = v128.load(a);
        let upper = f32x4.mul(t0, v);
        v = v128.load(a, 4); upper = f32x4.add(upper, f32x4.mul(t1, v));
        v = v128.load(a, 8); upper = f32x4.add(upper, f32x4.mul(t2, v));
        v = v128.load(b); upper = f32x4.add(upper, f32x4.mul(t3, v)); let lower = f32x4.mul(t0, v);
        v = v128.load(b, 4); upper = f32x4.add(upper, f32x4.mul(t4, v)); lower = f32x4.add(lower, f32x4.mul(t1, v));
        v = v128.load(b, 8); upper = f32x4.add(upper, f32x4.mul(t5, v)); lower = f32x4.add(lower, f32x4.mul(t2, v));
        v = v128.load(c); upper = f32x4.add(upper, f32x4.mul(t6, v)); lower = f32x4.add(lower, f32x4.mul(t3, v));
        v = v128.load(c, 4); upper = f32x4.add(upper, f32x4.mul(t7, v)); lower = f32x4.add(lower, f32x4.mul(t4, v));
        v = v128.load(c, 8); upper = f32x4.add(upper, f32x4.mul(t8, v)); lower = f32x4.add(lower, f32x4.mul(t5, v));
        v = v128.load(d); lower = f32x4.add(lower, f32x4.mul(t6, v));
        v = v128.load(d, 4); lower = f32x4.add(lower, f32x4.mul(t7, v));
        v = v128.load(d, 8); lower = f32x4.add(lower, f32x4.mul(t8, v));
        if (epilogue) {
          upper = f32x4.add(f32x4.mul(upper, sv), bv);
          lower = f32x4.add(f32x4.mul(lower, sv), bv);
        }
        const q = oy * wo + ox;
        storeOutput(dst, q, upper, wo - ox, panelStride);
        storeOutput(dst, q + wo, lower, wo - ox, panelStride);
      }
    }
  }
  for (; oy < ho; oy++) {
    const r0 = plane + <usize>(oy * sh) * rowBytes;
    const r1 = r0 + rowBytes;
    const r2 = r1 + rowBytes;
    for (let ox = 0; ox < wo; ox += 4) {
      const at = <usize>ox << 2;
      let acc = f32x4.mul(t0, v128.load(r0 + at + o0));
      acc = f32x4.add(acc, f32x4.mul(t1, v128.load(r0 + at + o1)));
      acc = f32x4.add(acc, f32x4.mul(t2, v128.load(r0 + at + o2)));
      acc = f32x4.add(acc, f32x4.mul(t3, v128.load(r1 + at + o0)));
      acc = f32x4.add(acc, f32x4.mul(t4, v128.load(r1 + at + o1)));
      acc = f32x4.add(acc, f32x4.mul(t5, v128.load(r1 + at + o2)));
      acc = f32x4.add(acc, f32x4.mul(t6, v128.load(r2 + at + o0)));
      acc = f32x4.add(acc, f32x4.mul(t7, v128.load(r2 + at + o1)));
      acc = f32x4.add(acc, f32x4.mul(t8, v128.load(r2 + at + o2)));
      if (epilogue) acc = f32x4.add(f32x4.mul(acc, sv), bv);
      storeOutput(dst, oy * wo + ox, acc, wo - ox, panelStride);
    }
  }
}

/**
 * y = the depthwise 3×3 conv of x (planes [start, end)). With `flip` (stride 1 only) the kernel is
 * rotated by 180°: the backward w.r.t. the input of a stride-1 depthwise conv is this conv of dy
 * with padding 2 − p. With `scale` ≠ 0, conv2dNormAct's epilogue: y = act(y · scale[c] + shift[c]).
 */
export function depthwise3x3(
  x: usize, wgt: usize, y: usize, c: i32, h: i32, w: i32, ho: i32, wo: i32, sh: i32, sw: i32, ph: i32, pw: i32, flip: i32,
  scale: usize, shift: usize, act: i32, scratch: usize, scratchBytes: usize, chunk: i32, start: i32, end: i32,
): void {
  const row = rowFloats(w, pw, wo, sw);
  const rowBytes = <usize>row << 2;
  const plane = scratch + <usize>(start / chunk) * scratchBytes;
  memory.fill(plane, 0, rowBytes * <usize>planeRows(h, ph, ho, sh));
  const o0 = tapOffset(0, sw, row), o1 = tapOffset(1, sw, row), o2 = tapOffset(2, sw, row);
  const epilogue = scale != 0;
  for (let p = start; p < end; p++) {
    const ch = p % c;
    padPlane(x + (<usize>p * <usize>h * <usize>w << 2), h, w, ph, pw, plane, row, sw);
    const out = y + (<usize>p * <usize>ho * <usize>wo << 2);
    const sv = epilogue ? v128.load32_splat(scale + (<usize>ch << 2)) : f32x4.splat(1);
    const bv = epilogue ? v128.load32_splat(shift + (<usize>ch << 2)) : f32x4.splat(0);
    convolvePlane(plane, rowBytes, o0, o1, o2, wgt, ch, flip, epilogue, sv, bv, ho, wo, sh, out, 0);
    if (epilogue && act) activateInPlace(out, ho * wo, act);
  }
}

/**
 * Bytes of one thread's scratch for invertedResidual: the padded plane; the expanded image (k·h·w
 * floats), or the depthwise output's panels when they are packed after it; the input's panels, later
 * the depthwise output (as panels, or k·ho·wo floats). Without an expansion (c = 0) the first of the
 * two regions holds only the panels.
 */
export function invertedResidualScratchBytes(c: i32, k: i32, h: i32, w: i32, ho: i32, wo: i32, sh: i32, sw: i32, ph: i32, pw: i32): i32 {
  const plane = <usize>(rowFloats(w, pw, wo, sw) * planeRows(h, ph, ho, sh)) << 2;
  const first = max<usize>(c ? <usize>k * <usize>(h * w) << 2 : 0, panelBytes(k, ho * wo));
  const second = max<usize>(c ? panelBytes(c, h * w) : 0, panelBytes(k, ho * wo));
  return <i32>(plane + first + second);
}

/**
 * Inference's inverted residual (MobileNetV2), image by image for images [imageStart, imageEnd):
 * with `expPanels` ≠ 0 the 1×1 expansion of x (c → k channels, gemm with its norm and activation),
 * else x itself (k channels); the depthwise 3×3 conv of that with its norm and activation (as
 * depthwise3x3 with an epilogue); then the 1×1 reduce (k → o, gemm's epilogue). Every intermediate
 * image (the expanded input, the depthwise output, their packed panels) is written and read in this
 * thread's scratch (L2), never in memory. With `residual` ≠ 0 (a tensor shaped as y; reduce
 * activation none) each image's y starts as its residual and the GEMM adds into it. The results are
 * those of the convs and the add run apart, bit for bit.
 */
export function invertedResidual(
  x: usize, expPanels: usize, expScale: usize, expShift: usize, expAct: i32,
  dwWeight: usize, dwScale: usize, dwShift: usize, dwAct: i32,
  pwPanels: usize, pwScale: usize, pwShift: usize, pwAct: i32, residual: usize, y: usize,
  c: i32, k: i32, h: i32, w: i32, ho: i32, wo: i32, sh: i32, sw: i32, ph: i32, pw: i32, o: i32,
  scratch: usize, scratchBytes: usize, chunk: i32, imageStart: i32, imageEnd: i32,
): void {
  const row = rowFloats(w, pw, wo, sw);
  const rowBytes = <usize>row << 2;
  const planeBytes = rowBytes * <usize>planeRows(h, ph, ho, sh);
  const pixelsIn = h * w;
  const pixels = ho * wo;
  const plane = scratch + <usize>(imageStart / chunk) * scratchBytes;
  const first = plane + planeBytes;
  const second = first + max<usize>(expPanels ? <usize>k * <usize>pixelsIn << 2 : 0, panelBytes(k, pixels));
  memory.fill(plane, 0, planeBytes);
  const o0 = tapOffset(0, sw, row), o1 = tapOffset(1, sw, row), o2 = tapOffset(2, sw, row);
  const imageBytes = <usize>o * <usize>pixels << 2;
  // Output rows of whole vectors: the depthwise conv writes the reduce GEMM's panels itself (no
  // vector straddles two), and the activation runs over them once; else it writes planes, packed after.
  const direct = wo % 4 == 0;
  const panelStride = <usize>k << 5;
  for (let image = imageStart; image < imageEnd; image++) {
    let src = x + (<usize>image * <usize>k * <usize>pixelsIn << 2);
    if (expPanels) {
      packPanels(x + (<usize>image * <usize>c * <usize>pixelsIn << 2), c, pixelsIn, second);
      gemm(k, pixelsIn, c, expPanels, second, first, false, expScale, expShift, expAct, 0, rowPanels(k));
      src = first;
    }
    for (let ch = 0; ch < k; ch++) {
      padPlane(src + (<usize>ch * <usize>pixelsIn << 2), h, w, ph, pw, plane, row, sw);
      const sv = v128.load32_splat(dwScale + (<usize>ch << 2));
      const bv = v128.load32_splat(dwShift + (<usize>ch << 2));
      if (direct) {
        convolvePlane(plane, rowBytes, o0, o1, o2, dwWeight, ch, 0, true, sv, bv, ho, wo, sh, second + (<usize>ch << 5), panelStride);
      } else {
        const out = second + (<usize>ch * <usize>pixels << 2);
        convolvePlane(plane, rowBytes, o0, o1, o2, dwWeight, ch, 0, true, sv, bv, ho, wo, sh, out, 0);
        if (dwAct) activateInPlace(out, pixels, dwAct);
      }
    }
    if (direct) {
      if (dwAct) activateInPlace(second, <i32>(panelBytes(k, pixels) >> 2), dwAct);
    } else {
      packPanels(second, k, pixels, first);
    }
    const reduceInput = direct ? second : first;
    const yi = y + <usize>image * imageBytes;
    if (residual) memory.copy(yi, residual + <usize>image * imageBytes, imageBytes);
    gemm(o, pixels, k, pwPanels, reduceInput, yi, residual != 0, pwScale, pwShift, pwAct, 0, rowPanels(o));
  }
}

/**
 * Bytes of one thread's scratch for a kernel (`kind` 0: forward, 1: backward w.r.t. the input,
 * 2: backward w.r.t. the weight): the padded plane, then the backward kernels' copy of dy's rows.
 * The caller (kernels.ts) allocates what this says.
 */
export function depthwise3x3ScratchBytes(kind: i32, h: i32, w: i32, ho: i32, wo: i32, sh: i32, sw: i32, ph: i32, pw: i32): i32 {
  const row = rowFloats(w, pw, wo, sw);
  const gradRows = kind == 1 ? ho * gradRowFloats(row, sw) : kind == 2 ? ho * ((wo + 3) & ~3) : 0;
  return (row * planeRows(h, ph, ho, sh) + gradRows) << 2;
}

/** Copies dy's plane [ho, wo] into rows of `stride` floats from float `lead` on (the rest stays zero). */
@inline function copyRows(src: usize, ho: i32, wo: i32, dst: usize, stride: i32, lead: i32): void {
  for (let oy = 0; oy < ho; oy++) copyFloats(dst + (<usize>(oy * stride + lead) << 2), src + (<usize>oy * <usize>wo << 2), wo);
}

/** Floats per row of dy's copy in the backward w.r.t. the input: 4 zeros, then dy's row, then zeros past the last tap read. */
@inline function gradRowFloats(row: i32, sw: i32): i32 {
  return 8 + (sw == 1 ? row : row >> 1);
}

/**
 * dx = the adjoint of the depthwise 3×3 conv (planes [start, end)), gathered rather than scattered:
 * each scratch row R of the padded input's gradient sums, over the kernel rows ki with
 * R = oy·sh + ki, dy's row oy times the taps, read at the column shifts the taps imply (with
 * stride 2 along W: E[j] takes taps 0 and 2 from dy[j] and dy[j − 1], O[j] tap 1 from dy[j]). Every
 * vector is written once (a scatter re-reads what it just stored, which stalls the loads); dy's rows
 * carry 4 leading zeros so dy[j − 1] and dy[j − 2] exist. Then the interior is dx. Scratch per chunk:
 * the plane, then dy's rows.
 */
export function depthwise3x3BackpropInput(
  dy: usize, wgt: usize, dx: usize, c: i32, h: i32, w: i32, ho: i32, wo: i32, sh: i32, sw: i32, ph: i32, pw: i32,
  scratch: usize, scratchBytes: usize, chunk: i32, start: i32, end: i32,
): void {
  const row = rowFloats(w, pw, wo, sw);
  const rowBytes = <usize>row << 2;
  const planeBytes = rowBytes * <usize>planeRows(h, ph, ho, sh);
  const plane = scratch + <usize>(start / chunk) * scratchBytes;
  const rows = plane + planeBytes;
  const gradRow = gradRowFloats(row, sw);
  const gradRowBytes = <usize>gradRow << 2;
  memory.fill(rows, 0, <usize>ho * gradRowBytes);
  const half = <usize>(row >> 1) << 2;
  const vectors = sw == 1 ? row : row >> 1;
  for (let p = start; p < end; p++) {
    const ch = p % c;
    copyRows(dy + (<usize>p * <usize>ho * <usize>wo << 2), ho, wo, rows, gradRow, 4);
    for (let iy = 0; iy < h; iy++) {
      const r = iy + ph;
      const target = plane + <usize>r * rowBytes;
      let k0 = -1, k1 = -1, k2 = -1;
      // The (up to three) kernel rows that reach scratch row r, and the dy rows they come from.
      let g0: usize = 0, g1: usize = 0, g2: usize = 0;
      for (let ki = 0; ki < 3; ki++) {
        const d = r - ki;
        if (d < 0 || d % sh != 0 || d / sh >= ho) continue;
        const g = rows + <usize>(d / sh) * gradRowBytes + 16;
        if (k0 < 0) { k0 = ki; g0 = g; } else if (k1 < 0) { k1 = ki; g1 = g; } else { k2 = ki; g2 = g; }
      }
      if (k0 < 0) {
        memory.fill(target, 0, rowBytes);
        continue;
      }
      const a0 = tap(wgt, ch, k0 * 3, 0), b0 = tap(wgt, ch, k0 * 3 + 1, 0), d0 = tap(wgt, ch, k0 * 3 + 2, 0);
      const a1 = k1 < 0 ? f32x4.splat(0) : tap(wgt, ch, k1 * 3, 0), b1 = k1 < 0 ? f32x4.splat(0) : tap(wgt, ch, k1 * 3 + 1, 0), d1 = k1 < 0 ? f32x4.splat(0) : tap(wgt, ch, k1 * 3 + 2, 0);
      const a2 = k2 < 0 ? f32x4.splat(0) : tap(wgt, ch, k2 * 3, 0), b2 = k2 < 0 ? f32x4.splat(0) : tap(wgt, ch, k2 * 3 + 1, 0), d2 = k2 < 0 ? f32x4.splat(0) : tap(wgt, ch, k2 * 3 + 2, 0);
      // Missing kernel rows read the first row with zero taps.
      if (k1 < 0) g1 = g0;
      if (k2 < 0) g2 = g0;
      for (let j = 0; j < vectors; j += 4) {
        const at = <usize>j << 2;
        if (sw == 1) {
          // Column j takes tap kj from dy[j − kj].
          let acc = f32x4.mul(a0, v128.load(g0 + at));
          acc = f32x4.add(acc, f32x4.mul(b0, v128.load(g0 + at - 4)));
          acc = f32x4.add(acc, f32x4.mul(d0, v128.load(g0 + at - 8)));
          acc = f32x4.add(acc, f32x4.mul(a1, v128.load(g1 + at)));
          acc = f32x4.add(acc, f32x4.mul(b1, v128.load(g1 + at - 4)));
          acc = f32x4.add(acc, f32x4.mul(d1, v128.load(g1 + at - 8)));
          acc = f32x4.add(acc, f32x4.mul(a2, v128.load(g2 + at)));
          acc = f32x4.add(acc, f32x4.mul(b2, v128.load(g2 + at - 4)));
          acc = f32x4.add(acc, f32x4.mul(d2, v128.load(g2 + at - 8)));
          v128.store(target + at, acc);
          continue;
        }
        const x0 = v128.load(g0 + at), y0 = v128.load(g0 + at - 4);
        const x1 = v128.load(g1 + at), y1 = v128.load(g1 + at - 4);
        const x2 = v128.load(g2 + at), y2 = v128.load(g2 + at - 4);
        let even = f32x4.add(f32x4.mul(a0, x0), f32x4.mul(d0, y0));
        even = f32x4.add(even, f32x4.add(f32x4.mul(a1, x1), f32x4.mul(d1, y1)));
        even = f32x4.add(even, f32x4.add(f32x4.mul(a2, x2), f32x4.mul(d2, y2)));
        const odd = f32x4.add(f32x4.add(f32x4.mul(b0, x0), f32x4.mul(b1, x1)), f32x4.mul(b2, x2));
        v128.store(target + at, even);
        v128.store(target + half + at, odd);
      }
    }
    unpadPlane(plane, h, w, ph, pw, dx + (<usize>p * <usize>h * <usize>w << 2), row, sw);
  }
}

/**
 * dW[c, tap] = Σ over images and outputs of dy · x at the tap, first as partial sums over slices of
 * the batch (slices [start, end), each of `sliceSize` images but the last): image by image, every
 * channel's plane, with the channel's nine sums (f32x4, at partials + (slice·c + ch)·144) loaded
 * before its plane and stored after, so memory is read in order (channel by channel, each plane was a
 * jump of C·H·W·4 bytes: 1.3–1.7x slower on one thread). sliceTotals (reduce.ts) then adds the slices
 * in order; the slices are fixed by the batch, not by the threads, so dW does not depend on how many
 * threads ran them. Scratch per chunk: the x plane, then dy's rounded-up rows (their zero tails
 * cancel the lanes past wo).
 */
export function depthwise3x3BackpropFilterSlices(
  x: usize, dy: usize, partials: usize, n: i32, c: i32, h: i32, w: i32, ho: i32, wo: i32, sh: i32, sw: i32, ph: i32, pw: i32, sliceSize: i32,
  scratch: usize, scratchBytes: usize, chunk: i32, start: i32, end: i32,
): void {
  const row = rowFloats(w, pw, wo, sw);
  const rowBytes = <usize>row << 2;
  const planeBytes = rowBytes * <usize>planeRows(h, ph, ho, sh);
  const plane = scratch + <usize>(start / chunk) * scratchBytes;
  const rows = plane + planeBytes;
  const wo4 = (wo + 3) & ~3;
  memory.fill(plane, 0, planeBytes);
  memory.fill(rows, 0, <usize>ho * <usize>wo4 << 2);
  const o0 = tapOffset(0, sw, row), o1 = tapOffset(1, sw, row), o2 = tapOffset(2, sw, row);
  for (let slice = start; slice < end; slice++) {
    const sums = partials + <usize>(slice * c) * 144;
    memory.fill(sums, 0, <usize>c * 144);
    const last = min(n, (slice + 1) * sliceSize);
    for (let img = slice * sliceSize; img < last; img++) {
      for (let ch = 0; ch < c; ch++) {
        const p = img * c + ch;
        padPlane(x + (<usize>p * <usize>h * <usize>w << 2), h, w, ph, pw, plane, row, sw);
        copyRows(dy + (<usize>p * <usize>ho * <usize>wo << 2), ho, wo, rows, wo4, 0);
        const at9 = sums + <usize>ch * 144;
        let a0 = v128.load(at9), a1 = v128.load(at9, 16), a2 = v128.load(at9, 32);
        let a3 = v128.load(at9, 48), a4 = v128.load(at9, 64), a5 = v128.load(at9, 80);
        let a6 = v128.load(at9, 96), a7 = v128.load(at9, 112), a8 = v128.load(at9, 128);
        for (let oy = 0; oy < ho; oy++) {
          const g = rows + (<usize>oy * <usize>wo4 << 2);
          const r0 = plane + <usize>(oy * sh) * rowBytes;
          const r1 = r0 + rowBytes;
          const r2 = r1 + rowBytes;
          for (let ox = 0; ox < wo; ox += 4) {
            const at = <usize>ox << 2;
            const v = v128.load(g + at);
            a0 = f32x4.add(a0, f32x4.mul(v, v128.load(r0 + at + o0)));
            a1 = f32x4.add(a1, f32x4.mul(v, v128.load(r0 + at + o1)));
            a2 = f32x4.add(a2, f32x4.mul(v, v128.load(r0 + at + o2)));
            a3 = f32x4.add(a3, f32x4.mul(v, v128.load(r1 + at + o0)));
            a4 = f32x4.add(a4, f32x4.mul(v, v128.load(r1 + at + o1)));
            a5 = f32x4.add(a5, f32x4.mul(v, v128.load(r1 + at + o2)));
            a6 = f32x4.add(a6, f32x4.mul(v, v128.load(r2 + at + o0)));
            a7 = f32x4.add(a7, f32x4.mul(v, v128.load(r2 + at + o1)));
            a8 = f32x4.add(a8, f32x4.mul(v, v128.load(r2 + at + o2)));
          }
        }
        v128.store(at9, a0); v128.store(at9, a1, 16); v128.store(at9, a2, 32);
        v128.store(at9, a3, 48); v128.store(at9, a4, 64); v128.store(at9, a5, 80);
        v128.store(at9, a6, 96); v128.store(at9, a7, 112); v128.store(at9, a8, 128);
      }
    }
  }
}
