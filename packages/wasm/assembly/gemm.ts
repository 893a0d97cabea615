// GEMM on float32 in linear memory: c[M,N] = a · b or c += a · b, both operands packed first. a goes
// into panels of 4 rows (packRows, from any strides, so Aᵀ costs nothing extra); b into panels of 8
// columns (packPanels / packPanelsTransposed): panel q holds b[p, 8q … 8q+8) for p = 0 … K−1, 32
// contiguous bytes per p, the last panel zero-padded. Reading a panel walks memory straight through,
// where reading b's rows would jump N·4 bytes per step (at N = 1024 those jumps land in one L1 set
// and evict each other). The 4×8 register tile keeps 8 SIMD accumulators; each panel row of b is
// loaded once per 4 rows of c. Pointers are byte addresses; strides and sizes count elements.

import { activateInPlace } from './batchnorm';
import { madd } from './simd';

const PANEL = 8;
const PANEL_BYTES: usize = PANEL << 2;
const ROWS = 4;
const ROW_PANEL_BYTES: usize = ROWS << 2;

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

/** Four rows' vectors r0…r3 (columns p … p+3) transposed: the result's lane t of vector q is r_t[q]. */
@inline function transposeColumn(r0: v128, r1: v128, r2: v128, r3: v128, q: i32): v128 {
  const lo01 = i32x4.shuffle(r0, r1, 0, 4, 1, 5);
  const lo23 = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
  const hi01 = i32x4.shuffle(r0, r1, 2, 6, 3, 7);
  const hi23 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
  if (q == 0) return i32x4.shuffle(lo01, lo23, 0, 1, 4, 5);
  if (q == 1) return i32x4.shuffle(lo01, lo23, 2, 3, 6, 7);
  if (q == 2) return i32x4.shuffle(hi01, hi23, 0, 1, 4, 5);
  return i32x4.shuffle(hi01, hi23, 2, 3, 6, 7);
}

/**
 * Packs b = srcᵀ, with src row-major [N, K], into panels at dst (a transpose folded into the
 * packing). A full panel's 8 source rows are read 4 columns at a time and transposed in registers.
 */
export function packPanelsTransposed(src: usize, n: i32, k: i32, dst: usize): void {
  const rowBytes = <usize>k << 2;
  let out = dst;
  for (let j = 0; j < n; j += PANEL) {
    const lanes = min(PANEL, n - j);
    const first = src + <usize>j * rowBytes;
    let p = 0;
    if (lanes == PANEL) {
      for (; p + 4 <= k; p += 4) {
        const at = first + (<usize>p << 2);
        const r0 = v128.load(at), r1 = v128.load(at + rowBytes), r2 = v128.load(at + 2 * rowBytes), r3 = v128.load(at + 3 * rowBytes);
        const r4 = v128.load(at + 4 * rowBytes), r5 = v128.load(at + 5 * rowBytes), r6 = v128.load(at + 6 * rowBytes), r7 = v128.load(at + 7 * rowBytes);
        const to = out + <usize>p * PANEL_BYTES;
        v128.store(to, transposeColumn(r0, r1, r2, r3, 0)); v128.store(to, transposeColumn(r4, r5, r6, r7, 0), 16);
        v128.store(to, transposeColumn(r0, r1, r2, r3, 1), 32); v128.store(to, transposeColumn(r4, r5, r6, r7, 1), 48);
        v128.store(to, transposeColumn(r0, r1, r2, r3, 2), 64); v128.store(to, transposeColumn(r4, r5, r6, r7, 2), 80);
        v128.store(to, transposeColumn(r0, r1, r2, r3, 3), 96); v128.store(to, transposeColumn(r4, r5, r6, r7, 3), 112);
      }
    } else {
      memory.fill(out, 0, <usize>k * PANEL_BYTES);
    }
    // The columns left (and a last, partial panel) one element at a time.
    for (let t = 0; t < lanes; t++) {
      let from = first + <usize>t * rowBytes + (<usize>p << 2);
      let to = out + <usize>p * PANEL_BYTES + (<usize>t << 2);
      for (let q = p; q < k; q++) {
        store<f32>(to, load<f32>(from));
        from += 4;
        to += PANEL_BYTES;
      }
    }
    out += <usize>k * PANEL_BYTES;
  }
}

/** Writes (or adds, when accumulating) one row of a tile, lanes lo then hi, to c[row, 0 … valid). */
@inline function storeRow(c: usize, lo: v128, hi: v128, valid: i32, accumulate: bool): void {
  if (valid == PANEL) {
    v128.store(c, accumulate ? f32x4.add(v128.load(c), lo) : lo);
    v128.store(c, accumulate ? f32x4.add(v128.load(c, 16), hi) : hi, 16);
    return;
  }
  storeLane(c, f32x4.extract_lane(lo, 0), accumulate);
  if (valid > 1) storeLane(c + 4, f32x4.extract_lane(lo, 1), accumulate);
  if (valid > 2) storeLane(c + 8, f32x4.extract_lane(lo, 2), accumulate);
  if (valid > 3) storeLane(c + 12, f32x4.extract_lane(lo, 3), accumulate);
  if (valid > 4) storeLane(c + 16, f32x4.extract_lane(hi, 0), accumulate);
  if (valid > 5) storeLane(c + 20, f32x4.extract_lane(hi, 1), accumulate);
  if (valid > 6) storeLane(c + 24, f32x4.extract_lane(hi, 2), accumulate);
}

@inline function storeLane(at: usize, v: f32, accumulate: bool): void {
  store<f32>(at, accumulate ? load<f32>(at) + v : v);
}

/**
 * Packs a(M×K, strided: a(i, p) = a[i·aRow + p·aCol]) into panels of 4 rows: panel r holds
 * a(4r + t, p) at [p][t], 16 contiguous bytes per p, zero rows padding the last panel.
 */
export function packRows(a: usize, aRow: i32, aCol: i32, m: i32, k: i32, dst: usize): void {
  let out = dst;
  for (let i = 0; i < m; i += ROWS) {
    const rows = min(ROWS, m - i);
    let p = 0;
    if (rows == ROWS && aCol == 1) {
      // Row-major a: 4 rows × 4 columns transposed in registers.
      const rowBytes = <usize>aRow << 2;
      const first = a + <usize>i * rowBytes;
      for (; p + 4 <= k; p += 4) {
        const at = first + (<usize>p << 2);
        const r0 = v128.load(at), r1 = v128.load(at + rowBytes), r2 = v128.load(at + 2 * rowBytes), r3 = v128.load(at + 3 * rowBytes);
        const to = out + <usize>p * ROW_PANEL_BYTES;
        v128.store(to, transposeColumn(r0, r1, r2, r3, 0));
        v128.store(to, transposeColumn(r0, r1, r2, r3, 1), 16);
        v128.store(to, transposeColumn(r0, r1, r2, r3, 2), 32);
        v128.store(to, transposeColumn(r0, r1, r2, r3, 3), 48);
      }
    } else if (rows < ROWS) {
      memory.fill(out, 0, <usize>k * ROW_PANEL_BYTES);
    }
    for (let t = 0; t < rows; t++) {
      let from = a + ((<usize>(i + t) * <usize>aRow + <usize>p * <usize>aCol) << 2);
      let to = out + <usize>p * ROW_PANEL_BYTES + (<usize>t << 2);
      for (let q = p; q < k; q++) {
        store<f32>(to, load<f32>(from));
        from += <usize>aCol << 2;
        to += ROW_PANEL_BYTES;
      }
    }
    out += <usize>k * ROW_PANEL_BYTES;
  }
}

/** Bytes of the row panels of an M × K operand. */
@inline export function rowPanelBytes(m: i32, k: i32): usize {
  return <usize>((m + ROWS - 1) / ROWS) * <usize>k * ROW_PANEL_BYTES;
}

/**
 * c[rows ≤ 4, valid ≤ 8] (+)= one row panel of a · one column panel of b. Both panels are read
 * straight through, so the loop has one pointer per operand and every load an immediate offset.
 */
@inline function tile4x8(ap: usize, bp: usize, k: i32, c: usize, cRowBytes: usize, rows: i32, valid: i32, accumulate: bool, scale: usize, shift: usize): void {
  let acc00 = f32x4.splat(0), acc01 = f32x4.splat(0);
  let acc10 = f32x4.splat(0), acc11 = f32x4.splat(0);
  let acc20 = f32x4.splat(0), acc21 = f32x4.splat(0);
  let acc30 = f32x4.splat(0), acc31 = f32x4.splat(0);
  for (let p = 0; p < k; p++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    const a0 = v128.load32_splat(ap);
    acc00 = madd(a0, b0, acc00); acc01 = madd(a0, b1, acc01);
    const a1 = v128.load32_splat(ap, 4);
    acc10 = madd(a1, b0, acc10); acc11 = madd(a1, b1, acc11);
    const a2 = v128.load32_splat(ap, 8);
    acc20 = madd(a2, b0, acc20); acc21 = madd(a2, b1, acc21);
    const a3 = v128.load32_splat(ap, 12);
    acc30 = madd(a3, b0, acc30); acc31 = madd(a3, b1, acc31);
    ap += ROW_PANEL_BYTES;
    bp += PANEL_BYTES;
  }
  if (scale) {
    // The epilogue's affine (conv2dNormAct) while the tile is in registers; gemm applies the
    // activation after each row panel, while it is still in L1 (inlined here it would spill the tile).
    let sv = v128.load32_splat(scale), bv = v128.load32_splat(shift);
    acc00 = f32x4.add(f32x4.mul(acc00, sv), bv); acc01 = f32x4.add(f32x4.mul(acc01, sv), bv);
    sv = v128.load32_splat(scale, 4); bv = v128.load32_splat(shift, 4);
    acc10 = f32x4.add(f32x4.mul(acc10, sv), bv); acc11 = f32x4.add(f32x4.mul(acc11, sv), bv);
    sv = v128.load32_splat(scale, 8); bv = v128.load32_splat(shift, 8);
    acc20 = f32x4.add(f32x4.mul(acc20, sv), bv); acc21 = f32x4.add(f32x4.mul(acc21, sv), bv);
    sv = v128.load32_splat(scale, 12); bv = v128.load32_splat(shift, 12);
    acc30 = f32x4.add(f32x4.mul(acc30, sv), bv); acc31 = f32x4.add(f32x4.mul(acc31, sv), bv);
  }
  storeRow(c, acc00, acc01, valid, accumulate);
  if (rows > 1) storeRow(c + cRowBytes, acc10, acc11, valid, accumulate);
  if (rows > 2) storeRow(c + 2 * cRowBytes, acc20, acc21, valid, accumulate);
  if (rows > 3) storeRow(c + 3 * cRowBytes, acc30, acc31, valid, accumulate);
}

/**
 * c[M,N] = a · b (or c += a · b when `accumulate`), a packed in row panels (packRows), b in column
 * panels (packPanels); with `scale` (≠ 0) each row i of the product becomes act(· scale[i] + shift[i])
 * before it is stored (float32 arrays; act as batchnorm.ts: 0 none, 1 SiLU, 2 Hardswish). For the row
 * panels [panelStart, panelEnd) (threads split row panels). Row panel by row panel: its K·16 bytes
 * stay in L1 while every column panel passes under it, and its finished rows of c are still in L1
 * when the activation runs over them.
 */
export function gemm(
  m: i32, n: i32, k: i32, aPanels: usize, bPanels: usize, c: usize, accumulate: bool, scale: usize, shift: usize, act: i32, panelStart: i32, panelEnd: i32,
): void {
  const cRowBytes = <usize>n << 2;
  const aStride = <usize>k * ROW_PANEL_BYTES;
  const bStride = <usize>k * PANEL_BYTES;
  for (let r = panelStart; r < panelEnd; r++) {
    const i = r * ROWS;
    const rows = min(ROWS, m - i);
    const ap = aPanels + <usize>r * aStride;
    const cRow = c + <usize>i * cRowBytes;
    for (let j = 0; j < n; j += PANEL) {
      tile4x8(ap, bPanels + <usize>(j / PANEL) * bStride, k, cRow + (<usize>j << 2), cRowBytes, rows, min(PANEL, n - j), accumulate, scale ? scale + (<usize>i << 2) : 0, shift + (<usize>i << 2));
    }
    if (scale && act) activateInPlace(cRow, rows * n, act);
  }
}

/** How many row panels an M-row operand has (the unit threads split a GEMM by). */
@inline export function rowPanels(m: i32): i32 {
  return (m + ROWS - 1) / ROWS;
}

