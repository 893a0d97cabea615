// Winograd F(2×2, 3×3) for dense 3×3 convolutions with stride 1 and dilation 1 (Lavin and Gray,
// "Fast Algorithms for Convolutional Neural Networks", 2016). The output is cut into 2×2 tiles; tile
// t of channel c reads a 4×4 window d of the input, and
//
//   y_tile = Aᵀ [ Σ_c (G g Gᵀ)[o, c] ⊙ (Bᵀ d B)[c, t] ] A,
//
// so the 3×3 conv becomes 16 GEMMs (one per position ξ of the 4×4 transformed tile) over the whole
// batch: M[ξ] = U[ξ] · V[ξ] with U[ξ] = (G g Gᵀ)_ξ, [O, C], and V[ξ] = (Bᵀ d B)_ξ, [C, T], T the tiles
// of every image. That is 16 multiply-adds per tile where the direct conv does 36 (2.25× fewer),
// in GEMMs whose shapes do not shrink with the map. Both gradients are the exact adjoints of the
// same maps: with dM[ξ] = (A dY Aᵀ)_ξ, the input gradient is dV[ξ] = U[ξ]ᵀ · dM[ξ] taken back
// through B (dd = B dV Bᵀ, added into the tile's window), and the filter gradient dU[ξ] = dM[ξ] ·
// V[ξ]ᵀ taken back through G (dg = Gᵀ dU G).
//
// The transforms here write straight into the layouts gemm.ts reads (column panels of 8, or row
// panels of 4), so no packing pass follows them. Planes are the unit threads split by; each plane
// (image, channel) owns its tiles' entries, so every output is written by one thread and the
// results do not depend on the thread count. Each thread copies its plane into a zero-bordered
// scratch plane first (`scratch` + (start / chunk) · scratchBytes), so no tile load needs a check.
import { activateInPlace } from './batchnorm';
import { gemm, rowPanels } from './gemm';

// The layouts a transform can write its [R, T] result in (R channels, T tiles).
const COLUMN_PANELS = 0; // B operand [K = R, N = T]: panels of 8 columns (t)
const TRANSPOSED_PANELS = 1; // B operand [K = T, N = R]: panels of 8 columns (r)
const ROW_PANELS = 2; // A operand [M = R, K = T]: panels of 4 rows (r)

/** Where element (r, t) of a [R, T] operand goes in `layout`: its byte offset in ξ's block. */
@inline function offset(layout: i32, r: i32, t: i32, rows: i32, tiles: i32): usize {
  if (layout == COLUMN_PANELS) return ((<usize>(t >> 3) * <usize>rows + <usize>r) << 5) + (<usize>(t & 7) << 2);
  if (layout == TRANSPOSED_PANELS) return ((<usize>(r >> 3) * <usize>tiles + <usize>t) << 5) + (<usize>(r & 7) << 2);
  return ((<usize>(r >> 2) * <usize>tiles + <usize>t) << 4) + (<usize>(r & 3) << 2); // ROW_PANELS
}

/** Floats per row of the padded scratch plane: the tiles' windows (2·tw + 2 columns). */
@inline function paddedRow(tw: i32): i32 {
  return 2 * tw + 2;
}

/** Bytes of one thread's scratch plane. */
export function winogradScratchBytes(th: i32, tw: i32): i32 {
  return ((2 * th + 2) * paddedRow(tw) * 4 + 15) & ~15;
}

/** Zeroes the scratch plane and copies plane [h, w] into it at (ph, pw); rows and columns past the windows are left out. */
function padInto(src: usize, h: i32, w: i32, ph: i32, pw: i32, th: i32, tw: i32, dst: usize): void {
  const row = paddedRow(tw);
  const rows = 2 * th + 2;
  memory.fill(dst, 0, <usize>rows * <usize>row << 2);
  const first = max(0, -pw);
  const last = min(w, row - pw);
  for (let iy = max(0, -ph); iy < h && iy + ph < rows; iy++) {
    const from = src + (<usize>iy * <usize>w << 2);
    const to = dst + (<usize>(iy + ph) * <usize>row << 2) + (<usize>pw << 2);
    let ix = first;
    for (; ix + 4 <= last; ix += 4) v128.store(to + (<usize>ix << 2), v128.load(from + (<usize>ix << 2)));
    for (; ix < last; ix++) store<f32>(to + (<usize>ix << 2), load<f32>(from + (<usize>ix << 2)));
  }
}

/** Lanes (a0 − a2, a1 + a2, a2 − a1, a1 − a3) of row vector a: one row of (Bᵀ d) · B. */
@inline function rowTimesB(a: v128): v128 {
  return f32x4.add(i32x4.shuffle(a, a, 0, 1, 2, 1), f32x4.mul(i32x4.shuffle(a, a, 2, 2, 1, 3), f32x4.replace_lane(f32x4.splat(-1), 1, 1)));
}

/** Stores lane j of `values` as element (r, t) of ξ = first + j's block, for j = 0 … 3. */
@inline function storeFour(dst: usize, block: usize, layout: i32, r: i32, t: i32, rows: i32, tiles: i32, values: v128, first: i32): void {
  const at = dst + <usize>first * block + offset(layout, r, t, rows, tiles);
  store<f32>(at, f32x4.extract_lane(values, 0));
  store<f32>(at + block, f32x4.extract_lane(values, 1));
  store<f32>(at + 2 * block, f32x4.extract_lane(values, 2));
  store<f32>(at + 3 * block, f32x4.extract_lane(values, 3));
}

/**
 * V = Bᵀ d B for every tile of planes [start, end) of x [N, C, H, W] (plane p is image p / C,
 * channel p % C; image n's tiles are n·th·tw … in row-major order, `tiles` in all), written in
 * `layout` (COLUMN_PANELS for the forward's B operand [C, T], TRANSPOSED_PANELS for the filter
 * gradient's [T, C]); ξ's block starts at v + ξ · block.
 */
export function winogradInput(
  x: usize, c: i32, h: i32, w: i32, ph: i32, pw: i32, th: i32, tw: i32, tiles: i32, v: usize, block: usize, layout: i32,
  scratch: usize, scratchBytes: usize, chunk: i32, start: i32, end: i32,
): void {
  const plane = scratch + <usize>(start / chunk) * scratchBytes;
  const row = <usize>paddedRow(tw) << 2;
  for (let p = start; p < end; p++) {
    const ch = p % c;
    padInto(x + (<usize>p * <usize>h * <usize>w << 2), h, w, ph, pw, th, tw, plane);
    let t = (p / c) * th * tw;
    for (let ty = 0; ty < th; ty++) {
      for (let tx = 0; tx < tw; tx++) {
        const at = plane + <usize>(2 * ty) * row + (<usize>(2 * tx) << 2);
        const d0 = v128.load(at), d1 = v128.load(at + row), d2 = v128.load(at + 2 * row), d3 = v128.load(at + 3 * row);
        // Rows of Bᵀ d: d0 − d2, d1 + d2, d2 − d1, d1 − d3; then each row times B.
        storeFour(v, block, layout, ch, t, c, tiles, rowTimesB(f32x4.sub(d0, d2)), 0);
        storeFour(v, block, layout, ch, t, c, tiles, rowTimesB(f32x4.add(d1, d2)), 4);
        storeFour(v, block, layout, ch, t, c, tiles, rowTimesB(f32x4.sub(d2, d1)), 8);
        storeFour(v, block, layout, ch, t, c, tiles, rowTimesB(f32x4.sub(d1, d3)), 12);
        t++;
      }
    }
  }
}

/** dy's 2×2 tile (a, b) at (oy, ox) of plane `src` [ho, wo], zero past the plane's edge. */
@inline function gradAt(src: usize, oy: i32, ox: i32, ho: i32, wo: i32): f32 {
  return oy < ho && ox < wo ? load<f32>(src + ((<usize>oy * <usize>wo + <usize>ox) << 2)) : 0;
}

/**
 * dM = A dY Aᵀ for every tile of planes [start, end) of dy [N, O, Ho, Wo], in `layout`
 * (COLUMN_PANELS for the input gradient's B operand [O, T], ROW_PANELS for the filter gradient's A
 * operand [O, T]); ξ's block starts at dm + ξ · block. A = [[1, 0], [1, 1], [1, −1], [0, −1]].
 */
export function winogradGradOutput(
  dy: usize, o: i32, ho: i32, wo: i32, th: i32, tw: i32, tiles: i32, dm: usize, block: usize, layout: i32, start: i32, end: i32,
): void {
  for (let p = start; p < end; p++) {
    const ch = p % o;
    const src = dy + (<usize>p * <usize>ho * <usize>wo << 2);
    let t = (p / o) * th * tw;
    for (let ty = 0; ty < th; ty++) {
      for (let tx = 0; tx < tw; tx++) {
        const oy = 2 * ty, ox = 2 * tx;
        const g00 = gradAt(src, oy, ox, ho, wo), g01 = gradAt(src, oy, ox + 1, ho, wo);
        const g10 = gradAt(src, oy + 1, ox, ho, wo), g11 = gradAt(src, oy + 1, ox + 1, ho, wo);
        // Rows of A dY (2 columns each), then each row times Aᵀ: (q0, q0 + q1, q0 − q1, −q1).
        const q = f32x4(g00, g00 + g10, g00 - g10, -g10);
        const s = f32x4(g01, g01 + g11, g01 - g11, -g11);
        // Row r of dM is (q_r, q_r + s_r, q_r − s_r, −s_r): built column by column over the four rows.
        const c0 = q, c1 = f32x4.add(q, s), c2 = f32x4.sub(q, s), c3 = f32x4.neg(s);
        storeRowOfColumns(dm, block, layout, ch, t, o, tiles, c0, c1, c2, c3);
        t++;
      }
    }
  }
}

/** Stores the 4×4 tile whose column j is vector cj (lane r = row r): element (r, j) is ξ = 4r + j. */
@inline function storeRowOfColumns(dst: usize, block: usize, layout: i32, r: i32, t: i32, rows: i32, tiles: i32, c0: v128, c1: v128, c2: v128, c3: v128): void {
  storeFour(dst, block, layout, r, t, rows, tiles, f32x4(f32x4.extract_lane(c0, 0), f32x4.extract_lane(c1, 0), f32x4.extract_lane(c2, 0), f32x4.extract_lane(c3, 0)), 0);
  storeFour(dst, block, layout, r, t, rows, tiles, f32x4(f32x4.extract_lane(c0, 1), f32x4.extract_lane(c1, 1), f32x4.extract_lane(c2, 1), f32x4.extract_lane(c3, 1)), 4);
  storeFour(dst, block, layout, r, t, rows, tiles, f32x4(f32x4.extract_lane(c0, 2), f32x4.extract_lane(c1, 2), f32x4.extract_lane(c2, 2), f32x4.extract_lane(c3, 2)), 8);
  storeFour(dst, block, layout, r, t, rows, tiles, f32x4(f32x4.extract_lane(c0, 3), f32x4.extract_lane(c1, 3), f32x4.extract_lane(c2, 3), f32x4.extract_lane(c3, 3)), 12);
}

/**
 * The 16 GEMMs at once: units [start, end) of 16 · rowPanels(m), unit u being row panel
 * u % rowPanels(m) of ξ = u / rowPanels(m): c[ξ] = a[ξ] · b[ξ] (a in row panels, b in column panels,
 * c row-major [m, n]), each ξ's operands `aBlock`, `bBlock`, `cBlock` bytes apart.
 */
export function winogradGemms(
  m: i32, n: i32, k: i32, a: usize, aBlock: usize, b: usize, bBlock: usize, c: usize, cBlock: usize, start: i32, end: i32,
): void {
  const panels = rowPanels(m);
  for (let u = start; u < end; u++) {
    const xi = u / panels;
    const r = u % panels;
    gemm(m, n, k, a + <usize>xi * aBlock, b + <usize>xi * bBlock, c + <usize>xi * cBlock, false, 0, 0, 0, r, r + 1);
  }
}

/**
 * y = Aᵀ M A for every tile of planes [start, end) of y [N, O, Ho, Wo], M row-major [O, T] per ξ, ξ's block at mm + ξ · block; with
 * `scale` ≠ 0 conv2dNormAct's epilogue y = act(y · scale[o] + shift[o]). Aᵀ = [[1, 1, 1, 0], [0, 1, −1, −1]].
 */
export function winogradOutput(
  mm: usize, block: usize, o: i32, ho: i32, wo: i32, th: i32, tw: i32, tiles: i32, y: usize, scale: usize, shift: usize, act: i32, start: i32, end: i32,
): void {
  for (let p = start; p < end; p++) {
    const ch = p % o;
    const dst = y + (<usize>p * <usize>ho * <usize>wo << 2);
    const sv = scale ? v128.load32_splat(scale + (<usize>ch << 2)) : f32x4.splat(1);
    const bv = scale ? v128.load32_splat(shift + (<usize>ch << 2)) : f32x4.splat(0);
    let t = (p / o) * th * tw;
    for (let ty = 0; ty < th; ty++) {
      for (let tx = 0; tx < tw; tx++) {
        const at = mm + ((<usize>ch * <usize>tiles + <usize>t) << 2);
        // Column j of M as a vector over its rows r (element ξ = 4r + j).
        const m0 = f32x4(load<f32>(at), load<f32>(at + 4 * block), load<f32>(at + 8 * block), load<f32>(at + 12 * block));
        const m1 = f32x4(load<f32>(at + block), load<f32>(at + 5 * block), load<f32>(at + 9 * block), load<f32>(at + 13 * block));
        const m2 = f32x4(load<f32>(at + 2 * block), load<f32>(at + 6 * block), load<f32>(at + 10 * block), load<f32>(at + 14 * block));
        const m3 = f32x4(load<f32>(at + 3 * block), load<f32>(at + 7 * block), load<f32>(at + 11 * block), load<f32>(at + 15 * block));
        // M A: columns (m0 + m1 + m2) and (m1 − m2 − m3), each over rows r; then Aᵀ over the rows.
        const left = f32x4.add(f32x4.add(m0, m1), m2);
        const right = f32x4.sub(f32x4.sub(m1, m2), m3);
        const l = rowsTimesAt(left);
        const rr = rowsTimesAt(right);
        // l = (y00, y10), rr = (y01, y11): out is the tile row by row.
        let out = f32x4(f32x4.extract_lane(l, 0), f32x4.extract_lane(rr, 0), f32x4.extract_lane(l, 1), f32x4.extract_lane(rr, 1));
        out = f32x4.add(f32x4.mul(out, sv), bv);
        const oy = 2 * ty, ox = 2 * tx;
        const row0 = dst + ((<usize>oy * <usize>wo + <usize>ox) << 2);
        store<f32>(row0, f32x4.extract_lane(out, 0));
        if (ox + 1 < wo) store<f32>(row0 + 4, f32x4.extract_lane(out, 1));
        if (oy + 1 < ho) {
          const row1 = row0 + (<usize>wo << 2);
          store<f32>(row1, f32x4.extract_lane(out, 2));
          if (ox + 1 < wo) store<f32>(row1 + 4, f32x4.extract_lane(out, 3));
        }
        t++;
      }
    }
    if (scale && act) activateInPlace(dst, ho * wo, act);
  }
}

/** Aᵀ times a column v over rows 0 … 3: lanes (v0 + v1 + v2, v1 − v2 − v3, –, –). */
@inline function rowsTimesAt(v: v128): v128 {
  const a = f32x4.extract_lane(v, 0), b = f32x4.extract_lane(v, 1), c = f32x4.extract_lane(v, 2), d = f32x4.extract_lane(v, 3);
  return f32x4(a + b + c, b - c - d, 0, 0);
}

/**
 * dx = Σ over tiles of B dV Bᵀ added into each tile's window, for planes [start, end) of dx [N, C,
 * H, W] (each plane written whole), dV row-major [C, T] per ξ (ξ's block at dv + ξ · block). The windows overlap, so each plane is
 * summed in a zeroed scratch plane in tile order and its interior copied out.
 */
export function winogradInputAdjoint(
  dv: usize, block: usize, c: i32, h: i32, w: i32, ph: i32, pw: i32, th: i32, tw: i32, tiles: i32, dx: usize,
  scratch: usize, scratchBytes: usize, chunk: i32, start: i32, end: i32,
): void {
  const plane = scratch + <usize>(start / chunk) * scratchBytes;
  const rowFloats = paddedRow(tw);
  const row = <usize>rowFloats << 2;
  const rows = 2 * th + 2;
  for (let p = start; p < end; p++) {
    const ch = p % c;
    memory.fill(plane, 0, <usize>rows * row);
    let t = (p / c) * th * tw;
    for (let ty = 0; ty < th; ty++) {
      for (let tx = 0; tx < tw; tx++) {
        const at = dv + ((<usize>ch * <usize>tiles + <usize>t) << 2);
        // Row r of dV as a vector over its columns j (element ξ = 4r + j).
        const v0 = f32x4(load<f32>(at), load<f32>(at + block), load<f32>(at + 2 * block), load<f32>(at + 3 * block));
        const v1 = f32x4(load<f32>(at + 4 * block), load<f32>(at + 5 * block), load<f32>(at + 6 * block), load<f32>(at + 7 * block));
        const v2 = f32x4(load<f32>(at + 8 * block), load<f32>(at + 9 * block), load<f32>(at + 10 * block), load<f32>(at + 11 * block));
        const v3 = f32x4(load<f32>(at + 12 * block), load<f32>(at + 13 * block), load<f32>(at + 14 * block), load<f32>(at + 15 * block));
        // B dV: rows (v0, v1 − v2 + v3, v1 + v2 − v0, −v3); then each row times Bᵀ.
        const e0 = v0;
        const e1 = f32x4.add(f32x4.sub(v1, v2), v3);
        const e2 = f32x4.sub(f32x4.add(v1, v2), v0);
        const e3 = f32x4.neg(v3);
        const to = plane + <usize>(2 * ty) * row + (<usize>(2 * tx) << 2);
        v128.store(to, f32x4.add(v128.load(to), rowTimesBt(e0)));
        v128.store(to + row, f32x4.add(v128.load(to + row), rowTimesBt(e1)));
        v128.store(to + 2 * row, f32x4.add(v128.load(to + 2 * row), rowTimesBt(e2)));
        v128.store(to + 3 * row, f32x4.add(v128.load(to + 3 * row), rowTimesBt(e3)));
        t++;
      }
    }
    // The window's rows and columns −ph … and −pw … hold padding: only the plane's interior goes out.
    const out = dx + (<usize>p * <usize>h * <usize>w << 2);
    for (let iy = 0; iy < h; iy++) {
      const to = out + (<usize>iy * <usize>w << 2);
      const py = iy + ph;
      for (let ix = 0; ix < w; ix++) {
        const px = ix + pw;
        store<f32>(to + (<usize>ix << 2), py < rows && px < rowFloats ? load<f32>(plane + <usize>py * row + (<usize>px << 2)) : 0);
      }
    }
  }
}

/** Lanes (e0, e1 − e2 + e3, e1 + e2 − e0, −e3) of row vector e: one row of (B dV) · Bᵀ. */
@inline function rowTimesBt(e: v128): v128 {
  const a = f32x4.extract_lane(e, 0), b = f32x4.extract_lane(e, 1), c = f32x4.extract_lane(e, 2), d = f32x4.extract_lane(e, 3);
  return f32x4(a, b - c + d, b + c - a, -d);
}

/** (a, ½(a + b + c), ½(a − b + c), c): G times the column (a, b, c). */
@inline function timesG(a: f32, b: f32, c: f32): v128 {
  return f32x4(a, 0.5 * (a + b + c), 0.5 * (a - b + c), c);
}

/**
 * U[ξ] = (G g Gᵀ)_ξ from g [O, C, 3, 3], for output channels [start, end), written straight into
 * the GEMMs' A operand (row panels, ξ's block at u + ξ · block): [O, C] for the forward, or
 * transposed, [C, O], for the input gradient. Packing a row-major U afterwards was a serial pass
 * over all of it on the calling thread, as long as the transform itself at ParC-Net-XS's 2×2 maps.
 * G = [[1, 0, 0], [½, ½, ½], [½, −½, ½], [0, 0, 1]].
 */
export function winogradFilter(g: usize, o: i32, c: i32, u: usize, block: usize, transposed: bool, start: i32, end: i32): void {
  for (let oc = start * c; oc < end * c; oc++) {
    const src = g + (<usize>oc * 9 << 2);
    const oi = oc / c, ci = oc % c;
    const r = transposed ? ci : oi, t = transposed ? oi : ci, k = transposed ? o : c;
    // Columns j of h = G g (over its rows r), then row r of U = h Gᵀ is G times h's row r.
    const h0 = timesG(load<f32>(src), load<f32>(src, 12), load<f32>(src, 24));
    const h1 = timesG(load<f32>(src, 4), load<f32>(src, 16), load<f32>(src, 28));
    const h2 = timesG(load<f32>(src, 8), load<f32>(src, 20), load<f32>(src, 32));
    storeFour(u, block, ROW_PANELS, r, t, 0, k, timesG(f32x4.extract_lane(h0, 0), f32x4.extract_lane(h1, 0), f32x4.extract_lane(h2, 0)), 0);
    storeFour(u, block, ROW_PANELS, r, t, 0, k, timesG(f32x4.extract_lane(h0, 1), f32x4.extract_lane(h1, 1), f32x4.extract_lane(h2, 1)), 4);
    storeFour(u, block, ROW_PANELS, r, t, 0, k, timesG(f32x4.extract_lane(h0, 2), f32x4.extract_lane(h1, 2), f32x4.extract_lane(h2, 2)), 8);
    storeFour(u, block, ROW_PANELS, r, t, 0, k, timesG(f32x4.extract_lane(h0, 3), f32x4.extract_lane(h1, 3), f32x4.extract_lane(h2, 3)), 12);
  }
}

/** (a + ½(b + c), ½(b − c), ½(b + c) + d): Gᵀ times the column (a, b, c, d). */
@inline function timesGt(v: v128): v128 {
  const a = f32x4.extract_lane(v, 0), b = f32x4.extract_lane(v, 1), c = f32x4.extract_lane(v, 2), d = f32x4.extract_lane(v, 3);
  return f32x4(a + 0.5 * (b + c), 0.5 * (b - c), 0.5 * (b + c) + d, 0);
}

/** dg = Gᵀ dU G into dw [O, C, 3, 3] from dU row-major [O, C] per ξ (ξ's block at du + ξ · block), for output channels [start, end). */
export function winogradFilterAdjoint(du: usize, block: usize, o: i32, c: i32, dw: usize, start: i32, end: i32): void {
  for (let oc = start * c; oc < end * c; oc++) {
    const src = du + (<usize>oc << 2);
    const dst = dw + (<usize>oc * 9 << 2);
    // Column j of dU (over rows r) → column j of k = Gᵀ dU (3 rows); then row a of dg is Gᵀ times k's row a.
    const k0 = timesGt(f32x4(load<f32>(src), load<f32>(src + 4 * block), load<f32>(src + 8 * block), load<f32>(src + 12 * block)));
    const k1 = timesGt(f32x4(load<f32>(src + block), load<f32>(src + 5 * block), load<f32>(src + 9 * block), load<f32>(src + 13 * block)));
    const k2 = timesGt(f32x4(load<f32>(src + 2 * block), load<f32>(src + 6 * block), load<f32>(src + 10 * block), load<f32>(src + 14 * block)));
    const k3 = timesGt(f32x4(load<f32>(src + 3 * block), load<f32>(src + 7 * block), load<f32>(src + 11 * block), load<f32>(src + 15 * block)));
    for (let a = 0; a < 3; a++) {
      const row = timesGt(f32x4(lane(k0, a), lane(k1, a), lane(k2, a), lane(k3, a)));
      store<f32>(dst + (<usize>(3 * a) << 2), f32x4.extract_lane(row, 0));
      store<f32>(dst + (<usize>(3 * a + 1) << 2), f32x4.extract_lane(row, 1));
      store<f32>(dst + (<usize>(3 * a + 2) << 2), f32x4.extract_lane(row, 2));
    }
  }
}

@inline function lane(v: v128, i: i32): f32 {
  return i == 0 ? f32x4.extract_lane(v, 0) : i == 1 ? f32x4.extract_lane(v, 1) : f32x4.extract_lane(v, 2);
}
