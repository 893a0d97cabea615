// GEMM on float32 in linear memory: c[M,N] += a · b. a is read through strides, a(i, p) =
// a[i·aRow + p·aCol] (aRow = K, aCol = 1 for row-major A; aRow = 1, aCol = M for Aᵀ stored [K, M]).
// b comes packed in panels of 8 columns (packPanels / packPanelsTransposed): panel q holds
// b[p, 8q … 8q+8) for p = 0 … K−1, 32 contiguous bytes per p, the last panel zero-padded. Reading a
// panel walks memory straight through, where reading b's rows would jump N·4 bytes per step (at
// N = 1024 those jumps land in one L1 set and evict each other). The 4×8 register tile keeps 8 SIMD
// accumulators; each panel row is loaded once per 4 rows of c. Pointers are byte addresses; strides
// and sizes count elements.

const PANEL = 8;
const PANEL_BYTES: usize = PANEL << 2;

/** Bytes of the packed panels of a K × N operand. */
@inline export function panelBytes(k: i32, n: i32): usize {
  return <usize>((n + PANEL - 1) / PANEL) * <usize>k * PANEL_BYTES;
}

/** Packs row-major b [K, N] into panels at dst. */
export function packPanels(b: usize, k: i32, n: i32, dst: usize): void {
  const full = n & ~(PANEL - 1);
  const rowBytes = <usize>n << 2;
  let out = dst;
  for (let j = 0; j < full; j += PANEL) {
    let src = b + (<usize>j << 2);
    for (let p = 0; p < k; p++) {
      v128.store(out, v128.load(src));
      v128.store(out, v128.load(src, 16), 16);
      src += rowBytes;
      out += PANEL_BYTES;
    }
  }
  if (full == n) return;
  for (let p = 0; p < k; p++) {
    const src = b + <usize>p * rowBytes;
    for (let t = 0; t < PANEL; t++) store<f32>(out + (<usize>t << 2), full + t < n ? load<f32>(src + (<usize>(full + t) << 2)) : 0);
    out += PANEL_BYTES;
  }
}

/** Packs b = srcᵀ, with src row-major [N, K], into panels at dst (a transpose folded into the packing). */
export function packPanelsTransposed(src: usize, n: i32, k: i32, dst: usize): void {
  const rowBytes = <usize>k << 2;
  let out = dst;
  for (let j = 0; j < n; j += PANEL) {
    const lanes = min(PANEL, n - j);
    const first = src + <usize>j * rowBytes;
    if (lanes < PANEL) memory.fill(out, 0, <usize>k * PANEL_BYTES);
    for (let t = 0; t < lanes; t++) {
      let from = first + <usize>t * rowBytes;
      let to = out + (<usize>t << 2);
      for (let p = 0; p < k; p++) {
        store<f32>(to, load<f32>(from));
        from += 4;
        to += PANEL_BYTES;
      }
    }
    out += <usize>k * PANEL_BYTES;
  }
}

/** Adds lane t of each accumulator pair to c[row, 0 … valid) (the last, partly valid panel). */
@inline function addValid(c: usize, lo: v128, hi: v128, valid: i32): void {
  store<f32>(c, load<f32>(c) + f32x4.extract_lane(lo, 0));
  if (valid > 1) store<f32>(c, load<f32>(c, 4) + f32x4.extract_lane(lo, 1), 4);
  if (valid > 2) store<f32>(c, load<f32>(c, 8) + f32x4.extract_lane(lo, 2), 8);
  if (valid > 3) store<f32>(c, load<f32>(c, 12) + f32x4.extract_lane(lo, 3), 12);
  if (valid > 4) store<f32>(c, load<f32>(c, 16) + f32x4.extract_lane(hi, 0), 16);
  if (valid > 5) store<f32>(c, load<f32>(c, 20) + f32x4.extract_lane(hi, 1), 20);
  if (valid > 6) store<f32>(c, load<f32>(c, 24) + f32x4.extract_lane(hi, 2), 24);
  if (valid > 7) store<f32>(c, load<f32>(c, 28) + f32x4.extract_lane(hi, 3), 28);
}

/** c[4 rows, 8 columns] += a rows p0…p3 · one panel; `valid` < 8 for the last panel. */
@inline function tile4x8(p0: usize, p1: usize, p2: usize, p3: usize, k: i32, aStep: usize, panel: usize, c: usize, cRowBytes: usize, valid: i32): void {
  const c1 = c + cRowBytes;
  const c2 = c1 + cRowBytes;
  const c3 = c2 + cRowBytes;
  const whole = valid == PANEL;
  let acc00 = f32x4.splat(0), acc01 = f32x4.splat(0);
  let acc10 = f32x4.splat(0), acc11 = f32x4.splat(0);
  let acc20 = f32x4.splat(0), acc21 = f32x4.splat(0);
  let acc30 = f32x4.splat(0), acc31 = f32x4.splat(0);
  if (whole) {
    acc00 = v128.load(c); acc01 = v128.load(c, 16);
    acc10 = v128.load(c1); acc11 = v128.load(c1, 16);
    acc20 = v128.load(c2); acc21 = v128.load(c2, 16);
    acc30 = v128.load(c3); acc31 = v128.load(c3, 16);
  }
  let bp = panel;
  for (let p = 0; p < k; p++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    const a0 = v128.load32_splat(p0);
    const a1 = v128.load32_splat(p1);
    const a2 = v128.load32_splat(p2);
    const a3 = v128.load32_splat(p3);
    acc00 = f32x4.add(acc00, f32x4.mul(a0, b0)); acc01 = f32x4.add(acc01, f32x4.mul(a0, b1));
    acc10 = f32x4.add(acc10, f32x4.mul(a1, b0)); acc11 = f32x4.add(acc11, f32x4.mul(a1, b1));
    acc20 = f32x4.add(acc20, f32x4.mul(a2, b0)); acc21 = f32x4.add(acc21, f32x4.mul(a2, b1));
    acc30 = f32x4.add(acc30, f32x4.mul(a3, b0)); acc31 = f32x4.add(acc31, f32x4.mul(a3, b1));
    p0 += aStep; p1 += aStep; p2 += aStep; p3 += aStep;
    bp += PANEL_BYTES;
  }
  if (whole) {
    v128.store(c, acc00); v128.store(c, acc01, 16);
    v128.store(c1, acc10); v128.store(c1, acc11, 16);
    v128.store(c2, acc20); v128.store(c2, acc21, 16);
    v128.store(c3, acc30); v128.store(c3, acc31, 16);
  } else {
    addValid(c, acc00, acc01, valid);
    addValid(c1, acc10, acc11, valid);
    addValid(c2, acc20, acc21, valid);
    addValid(c3, acc30, acc31, valid);
  }
}

/** c[1 row, 8 columns] += one a row · one panel (the rows left over after the 4-row tiles). */
@inline function tile1x8(p0: usize, k: i32, aStep: usize, panel: usize, c: usize, valid: i32): void {
  let acc0 = f32x4.splat(0);
  let acc1 = f32x4.splat(0);
  let bp = panel;
  for (let p = 0; p < k; p++) {
    const a0 = v128.load32_splat(p0);
    acc0 = f32x4.add(acc0, f32x4.mul(a0, v128.load(bp)));
    acc1 = f32x4.add(acc1, f32x4.mul(a0, v128.load(bp, 16)));
    p0 += aStep;
    bp += PANEL_BYTES;
  }
  if (valid == PANEL) {
    v128.store(c, f32x4.add(v128.load(c), acc0));
    v128.store(c, f32x4.add(v128.load(c, 16), acc1), 16);
  } else {
    addValid(c, acc0, acc1, valid);
  }
}

/**
 * c[M,N] += a(M×K, strided) · b(K×N, packed panels) for rows [rowStart, rowEnd) of c (threads split
 * rows). Panel by panel, so one panel (K·32 bytes) stays in L1 while every row tile uses it.
 */
export function gemm(m: i32, n: i32, k: i32, a: usize, aRow: i32, aCol: i32, panels: usize, c: usize, rowStart: i32, rowEnd: i32): void {
  const cRowBytes = <usize>n << 2;
  const rowStep = <usize>aRow << 2;
  const aStep = <usize>aCol << 2;
  const panelStride = <usize>k * PANEL_BYTES;
  for (let j = 0; j < n; j += PANEL) {
    const valid = min(PANEL, n - j);
    const panel = panels + <usize>(j / PANEL) * panelStride;
    let i = rowStart;
    for (; i + 4 <= rowEnd; i += 4) {
      const aBase = a + <usize>i * rowStep;
      tile4x8(aBase, aBase + rowStep, aBase + 2 * rowStep, aBase + 3 * rowStep, k, aStep, panel, c + <usize>i * cRowBytes + (<usize>j << 2), cRowBytes, valid);
    }
    for (; i < rowEnd; i++) tile1x8(a + <usize>i * rowStep, k, aStep, panel, c + <usize>i * cRowBytes + (<usize>j << 2), valid);
  }
}
