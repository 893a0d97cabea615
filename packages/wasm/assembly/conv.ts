// Convolution helpers on float32 NCHW planes in linear memory (byte pointers, element counts).
import { bnApply } from './batchnorm';
import { gemm, packPanels, packPanelsTransposed, packRows, panelBytes, rowPanelBytes, rowPanels } from './gemm';
import { horizontalSum } from './simd';

/**
 * im2col for channels [c0, c0 + cg) of one image: cols[(ci·kh + ki)·kw + kj, oy·wo + ox] =
 * x[c0 + ci, oy·sh − ph + ki·dh, ox·sw − pw + kj·dw] (0 in the padding).
 */
export function im2col(x: usize, c0: i32, cg: i32, h: i32, w: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32, ho: i32, wo: i32, cols: usize): void {
  let dst = cols;
  for (let ci = 0; ci < cg; ci++) {
    const plane = x + (<usize>(c0 + ci) * <usize>h * <usize>w << 2);
    for (let ki = 0; ki < kh; ki++) {
      for (let kj = 0; kj < kw; kj++) {
        for (let oy = 0; oy < ho; oy++) {
          const iy = oy * sh - ph + ki * dh;
          if (iy < 0 || iy >= h) {
            memory.fill(dst, 0, <usize>wo << 2);
            dst += <usize>wo << 2;
            continue;
          }
          const row = plane + (<usize>iy * <usize>w << 2);
          const ix0 = kj * dw - pw;
          if (sw == 1 && ix0 >= 0 && ix0 + wo <= w) {
            memory.copy(dst, row + (<usize>ix0 << 2), <usize>wo << 2);
            dst += <usize>wo << 2;
            continue;
          }
          for (let ox = 0; ox < wo; ox++) {
            const ix = ox * sw + ix0;
            store<f32>(dst, ix >= 0 && ix < w ? load<f32>(row + (<usize>ix << 2)) : 0);
            dst += 4;
          }
        }
      }
    }
  }
}

/** The adjoint of im2col: adds the columns back into dx (channels [c0, c0 + cg) of one image). */
export function col2im(cols: usize, c0: i32, cg: i32, h: i32, w: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32, ho: i32, wo: i32, dx: usize): void {
  let src = cols;
  for (let ci = 0; ci < cg; ci++) {
    const plane = dx + (<usize>(c0 + ci) * <usize>h * <usize>w << 2);
    for (let ki = 0; ki < kh; ki++) {
      for (let kj = 0; kj < kw; kj++) {
        for (let oy = 0; oy < ho; oy++) {
          const iy = oy * sh - ph + ki * dh;
          if (iy < 0 || iy >= h) {
            src += <usize>wo << 2;
            continue;
          }
          const row = plane + (<usize>iy * <usize>w << 2);
          for (let ox = 0; ox < wo; ox++) {
            const ix = ox * sw - pw + kj * dw;
            if (ix >= 0 && ix < w) {
              const at = row + (<usize>ix << 2);
              store<f32>(at, load<f32>(at) + load<f32>(src));
            }
            src += 4;
          }
        }
      }
    }
  }
}

/** One output of a depthwise conv, all taps summed, with bounds checks (the border path). */
@inline function depthwisePoint(xin: usize, wk: usize, oy: i32, ox: i32, h: i32, w: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32): f32 {
  let s: f32 = 0;
  for (let ki = 0; ki < kh; ki++) {
    const iy = oy * sh - ph + ki * dh;
    if (iy < 0 || iy >= h) continue;
    for (let kj = 0; kj < kw; kj++) {
      const ix = ox * sw - pw + kj * dw;
      if (ix >= 0 && ix < w) s += load<f32>(wk + (<usize>(ki * kw + kj) << 2)) * load<f32>(xin + ((<usize>iy * <usize>w + <usize>ix) << 2));
    }
  }
  return s;
}

/**
 * Depthwise conv (one output per channel) for planes [planeStart, planeEnd) of [N·C] planes:
 * y[o] = Σ_taps x[i] · w[c, tap]. With stride 1, each group of 4 outputs whose taps all fall inside
 * the image sums every tap in one SIMD register and is stored once; the border outputs take the
 * checked scalar path.
 */
export function depthwise(x: usize, wgt: usize, y: usize, c: i32, h: i32, w: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32, ho: i32, wo: i32, planeStart: i32, planeEnd: i32): void {
  const taps = kh * kw;
  // Output columns [lo, hi) have every tap inside the row: ox − pw ≥ 0 and ox − pw + (kw − 1)·dw < w.
  const lo = pw;
  const hi = w + pw - (kw - 1) * dw;
  for (let plane = planeStart; plane < planeEnd; plane++) {
    const ch = plane % c;
    const wk = wgt + (<usize>(ch * taps) << 2);
    const xin = x + (<usize>plane * <usize>h * <usize>w << 2);
    const yout = y + (<usize>plane * <usize>ho * <usize>wo << 2);
    for (let oy = 0; oy < ho; oy++) {
      const dst = yout + (<usize>oy * <usize>wo << 2);
      let ox = 0;
      if (sh == 1 && sw == 1) {
        for (; ox < lo && ox < wo; ox++) store<f32>(dst + (<usize>ox << 2), depthwisePoint(xin, wk, oy, ox, h, w, kh, kw, sh, sw, ph, pw, dh, dw));
        for (; ox + 4 <= hi && ox + 4 <= wo; ox += 4) {
          let acc = f32x4.splat(0);
          for (let ki = 0; ki < kh; ki++) {
            const iy = oy - ph + ki * dh;
            if (iy < 0 || iy >= h) continue;
            const row = xin + ((<usize>iy * <usize>w + <usize>(ox - pw)) << 2);
            for (let kj = 0; kj < kw; kj++) {
              acc = f32x4.add(acc, f32x4.mul(f32x4.splat(load<f32>(wk + (<usize>(ki * kw + kj) << 2))), v128.load(row + (<usize>(kj * dw) << 2))));
            }
          }
          v128.store(dst + (<usize>ox << 2), acc);
        }
      }
      for (; ox < wo; ox++) store<f32>(dst + (<usize>ox << 2), depthwisePoint(xin, wk, oy, ox, h, w, kh, kw, sh, sw, ph, pw, dh, dw));
    }
  }
}

/** Depthwise backward w.r.t. the input: dx[i] += dy[o] · w[c, tap] over the same taps. */
export function depthwiseBackpropInput(dy: usize, wgt: usize, dx: usize, c: i32, h: i32, w: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32, ho: i32, wo: i32, planeStart: i32, planeEnd: i32): void {
  for (let plane = planeStart; plane < planeEnd; plane++) {
    const ch = plane % c;
    const dxp = dx + (<usize>plane * <usize>h * <usize>w << 2);
    const dyp = dy + (<usize>plane * <usize>ho * <usize>wo << 2);
    for (let ki = 0; ki < kh; ki++) {
      for (let kj = 0; kj < kw; kj++) {
        const wk = load<f32>(wgt + ((<usize>(ch * kh + ki) * <usize>kw + <usize>kj) << 2));
        const wv = f32x4.splat(wk);
        const ix0 = kj * dw - pw;
        let lo = ix0 >= 0 ? 0 : (-ix0 + sw - 1) / sw;
        let hi = (w - 1 - ix0) >= 0 ? (w - 1 - ix0) / sw + 1 : 0;
        if (hi > wo) hi = wo;
        for (let oy = 0; oy < ho; oy++) {
          const iy = oy * sh - ph + ki * dh;
          if (iy < 0 || iy >= h) continue;
          const dst = dxp + (<usize>iy * <usize>w << 2);
          const src = dyp + (<usize>oy * <usize>wo << 2);
          let ox = lo;
          if (sw == 1) {
            for (; ox + 4 <= hi; ox += 4) {
              const at = dst + (<usize>(ox + ix0) << 2);
              v128.store(at, f32x4.add(v128.load(at), f32x4.mul(wv, v128.load(src + (<usize>ox << 2)))));
            }
          }
          for (; ox < hi; ox++) {
            const at = dst + (<usize>(ox * sw + ix0) << 2);
            store<f32>(at, load<f32>(at) + wk * load<f32>(src + (<usize>ox << 2)));
          }
        }
      }
    }
  }
}

/**
 * Depthwise backward w.r.t. the weight for channels [chStart, chEnd): dw[c, tap] = Σ_{n, o} dy[o] · x[i].
 * Each channel's taps are summed over every image by this call alone (a fixed order: results do
 * not depend on how channels are split between threads).
 */
export function depthwiseBackpropFilter(x: usize, dy: usize, dwgt: usize, n: i32, c: i32, h: i32, w: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32, ho: i32, wo: i32, chStart: i32, chEnd: i32): void {
  for (let ch = chStart; ch < chEnd; ch++) {
    for (let ki = 0; ki < kh; ki++) {
      for (let kj = 0; kj < kw; kj++) {
        const ix0 = kj * dw - pw;
        let lo = ix0 >= 0 ? 0 : (-ix0 + sw - 1) / sw;
        let hi = (w - 1 - ix0) >= 0 ? (w - 1 - ix0) / sw + 1 : 0;
        if (hi > wo) hi = wo;
        let acc = f32x4.splat(0);
        let tail: f32 = 0;
        for (let img = 0; img < n; img++) {
          const plane = img * c + ch;
          const xin = x + (<usize>plane * <usize>h * <usize>w << 2);
          const dyp = dy + (<usize>plane * <usize>ho * <usize>wo << 2);
          for (let oy = 0; oy < ho; oy++) {
            const iy = oy * sh - ph + ki * dh;
            if (iy < 0 || iy >= h) continue;
            const src = xin + (<usize>iy * <usize>w << 2);
            const g = dyp + (<usize>oy * <usize>wo << 2);
            let ox = lo;
            if (sw == 1) {
              for (; ox + 4 <= hi; ox += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(g + (<usize>ox << 2)), v128.load(src + (<usize>(ox + ix0) << 2))));
            }
            for (; ox < hi; ox++) tail += load<f32>(g + (<usize>ox << 2)) * load<f32>(src + (<usize>(ox * sw + ix0) << 2));
          }
        }
        const total = horizontalSum(acc) + tail;
        store<f32>(dwgt + ((<usize>(ch * kh + ki) * <usize>kw + <usize>kj) << 2), total);
      }
    }
  }
}

/** A 1×1 conv with stride 1 and no padding: its im2col columns are the input planes themselves. */
@inline function isPointwise(kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32): bool {
  return kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0;
}

/**
 * conv2d for images [imageStart, imageEnd), each group as one GEMM: y = W · cols, with W already in
 * row panels (`wPanels`, group after group), and with `scale` ≠ 0 the epilogue of conv2dNormAct
 * (gemm). This call's scratch (`scratchBytes` per chunk of `chunk` images) holds the columns (none
 * for a 1×1 conv, whose columns are the input planes) and then their packed panels.
 */
export function convImages(
  x: usize, wPanels: usize, y: usize, scratch: usize, scratchBytes: usize, chunk: i32,
  c: i32, o: i32, groups: i32, h: i32, w: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32, ho: i32, wo: i32,
  scale: usize, shift: usize, act: i32, imageStart: i32, imageEnd: i32,
): void {
  const cg = c / groups;
  const og = o / groups;
  const rows = cg * kh * kw;
  const pixels = ho * wo;
  const direct = isPointwise(kh, kw, sh, sw, ph, pw);
  const cols = scratch + <usize>(imageStart / chunk) * scratchBytes;
  const panels = direct ? cols : cols + columnBytes(rows, pixels);
  for (let image = imageStart; image < imageEnd; image++) {
    const xi = x + (<usize>image * <usize>c * <usize>h * <usize>w << 2);
    for (let group = 0; group < groups; group++) {
      if (direct) {
        packPanels(xi + (<usize>(group * cg) * <usize>pixels << 2), rows, pixels, panels);
      } else {
        im2col(xi, group * cg, cg, h, w, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, cols);
        packPanels(cols, rows, pixels, panels);
      }
      const at = <usize>(group * og) << 2;
      gemm(og, pixels, rows, wPanels + <usize>group * rowPanelBytes(og, rows), panels, y + ((<usize>(image * o + group * og) * <usize>pixels) << 2), false, scale ? scale + at : 0, shift + at, act, 0, rowPanels(og));
    }
  }
}

/** Bytes of one image-group's columns, rounded to 16. */
@inline function columnBytes(rows: i32, pixels: i32): usize {
  return (<usize>rows * <usize>pixels * 4 + 15) & ~15;
}

/**
 * conv2d backprop input for images [imageStart, imageEnd): Wᵀ·dy into this call's columns, then
 * col2im into dx, zeroed by the caller (a 1×1 conv writes Wᵀ·dy straight into dx). Wᵀ comes in row
 * panels (`wtPanels`, group after group). Scratch per chunk: the columns, then dy's packed panels.
 */
export function convBackpropInputImages(
  dy: usize, wtPanels: usize, dx: usize, scratch: usize, scratchBytes: usize, chunk: i32,
  c: i32, o: i32, groups: i32, h: i32, w: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32, ho: i32, wo: i32,
  imageStart: i32, imageEnd: i32,
): void {
  const cg = c / groups;
  const og = o / groups;
  const rows = cg * kh * kw;
  const pixels = ho * wo;
  const direct = isPointwise(kh, kw, sh, sw, ph, pw);
  const cols = scratch + <usize>(imageStart / chunk) * scratchBytes;
  const panels = direct ? cols : cols + columnBytes(rows, pixels);
  for (let image = imageStart; image < imageEnd; image++) {
    const dxi = dx + (<usize>image * <usize>c * <usize>h * <usize>w << 2);
    for (let group = 0; group < groups; group++) {
      const wg = wtPanels + <usize>group * rowPanelBytes(rows, og);
      packPanels(dy + ((<usize>(image * o + group * og) * <usize>pixels) << 2), og, pixels, panels);
      if (direct) {
        gemm(rows, pixels, og, wg, panels, dxi + (<usize>(group * cg) * <usize>pixels << 2), false, 0, 0, 0, 0, rowPanels(rows));
        continue;
      }
      gemm(rows, pixels, og, wg, panels, cols, false, 0, 0, 0, 0, rowPanels(rows));
      col2im(cols, group * cg, cg, h, w, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, dxi);
    }
  }
}

/**
 * The filter gradient of slices [sliceStart, sliceEnd) of the batch (slice s holds images
 * s·slice … s·slice + slice − 1), each into its own partial sum: partial (zeroed) += dy · colsᵀ per
 * image and group, colsᵀ packed into panels as it is transposed. The caller cuts the batch into
 * slices that do not depend on the thread count and adds the partials in slice order, so dW is the
 * same on any number of threads. Scratch per chunk of slices: the columns (none for a 1×1 conv),
 * then their panels, then dy's row panels.
 */
export function convBackpropFilterImages(
  x: usize, dy: usize, partials: usize, partialBytes: usize, scratch: usize, scratchBytes: usize, chunk: i32, slice: i32, imageCount: i32,
  c: i32, o: i32, groups: i32, h: i32, w: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, dh: i32, dw: i32, ho: i32, wo: i32,
  sliceStart: i32, sliceEnd: i32,
): void {
  const cg = c / groups;
  const og = o / groups;
  const rows = cg * kh * kw;
  const pixels = ho * wo;
  const direct = isPointwise(kh, kw, sh, sw, ph, pw);
  const cols = scratch + <usize>(sliceStart / chunk) * scratchBytes;
  const panels = direct ? cols : cols + columnBytes(rows, pixels);
  const dyPanels = panels + panelBytes(pixels, rows);
  for (let s = sliceStart; s < sliceEnd; s++) {
    const partial = partials + <usize>s * partialBytes;
    const end = min(imageCount, (s + 1) * slice);
    for (let image = s * slice; image < end; image++) {
      const xi = x + (<usize>image * <usize>c * <usize>h * <usize>w << 2);
      for (let group = 0; group < groups; group++) {
        if (direct) {
          packPanelsTransposed(xi + (<usize>(group * cg) * <usize>pixels << 2), rows, pixels, panels);
        } else {
          im2col(xi, group * cg, cg, h, w, kh, kw, sh, sw, ph, pw, dh, dw, ho, wo, cols);
          packPanelsTransposed(cols, rows, pixels, panels);
        }
        packRows(dy + ((<usize>(image * o + group * og) * <usize>pixels) << 2), pixels, 1, og, pixels, dyPanels);
        gemm(og, rows, pixels, dyPanels, panels, partial + (<usize>(group * og * rows) << 2), true, 0, 0, 0, 0, rowPanels(og));
      }
    }
  }
}

// A 1×1 conv on maps of fewer than 8 pixels runs as one GEMM over the whole batch: one GEMM per
// image would fill 4 of a column panel's 8 lanes at 2×2, and 1 at 1×1. The operands below gather
// the batch's columns (column n·pixels + p is pixel p of image n) into the GEMM's packed layouts.

/** Element (r, n·pixels + p) of the batch's columns: plane r of image n of src [images, rows, pixels]. */
@inline function batchColumn(src: usize, r: i32, col: i32, rows: i32, pixels: i32): f32 {
  const n = col / pixels;
  return load<f32>(src + ((<usize>(n * rows + r) * <usize>pixels + <usize>(col - n * pixels)) << 2));
}

/** The batch's columns of src [images, rows, pixels] as a B operand [K = rows, N = images·pixels], in column panels of 8. */
export function packBatchPanels(src: usize, rows: i32, pixels: i32, images: i32, dst: usize): void {
  const cols = images * pixels;
  let out = dst;
  for (let j = 0; j < cols; j += 8) {
    for (let r = 0; r < rows; r++) {
      for (let t = 0; t < 8; t++) store<f32>(out + (<usize>t << 2), j + t < cols ? batchColumn(src, r, j + t, rows, pixels) : 0);
      out += 32;
    }
  }
}

/**
 * The batch's columns transposed, in panels of `width` rows, element (r, k) at [r / width][k][r % width]:
 * width 8 gives the B operand [K = images·pixels, N = rows] (column panels of 8), width 4 the A
 * operand [M = rows, K = images·pixels] (row panels of 4). Rows past the last are zeros.
 */
export function packBatchTransposed(src: usize, rows: i32, pixels: i32, images: i32, width: i32, dst: usize): void {
  const cols = images * pixels;
  let out = dst;
  for (let q = 0; q < rows; q += width) {
    for (let k = 0; k < cols; k++) {
      for (let t = 0; t < width; t++) store<f32>(out + (<usize>t << 2), q + t < rows ? batchColumn(src, q + t, k, rows, pixels) : 0);
      out += <usize>width << 2;
    }
  }
}

/** c [rows, images·pixels] (row-major) back to dst [images, rows, pixels]. */
export function unbatchColumns(c: usize, rows: i32, pixels: i32, images: i32, dst: usize): void {
  const cols = images * pixels;
  for (let r = 0; r < rows; r++) {
    for (let col = 0; col < cols; col++) {
      const n = col / pixels;
      store<f32>(dst + ((<usize>(n * rows + r) * <usize>pixels + <usize>(col - n * pixels)) << 2), load<f32>(c + ((<usize>r * <usize>cols + <usize>col) << 2)));
    }
  }
}

/** Bytes of one thread's scratch for feedForward: the normalised input, its panels, the hidden image, its panels. */
export function feedForwardScratchBytes(c: i32, f: i32, pixels: i32): i32 {
  return <i32>((<usize>c * <usize>pixels << 2) + panelBytes(c, pixels) + (<usize>f * <usize>pixels << 2) + panelBytes(f, pixels));
}

/**
 * Inference's feed-forward pair of 1×1 convs, image by image for images [imageStart, imageEnd):
 * with `inScale` ≠ 0 the input's per-channel affine first (a batch norm before the first conv, as
 * bnApply computes it), then the c → f conv with its epilogue (scale, shift, activation: gemm's), then
 * the f → o conv with its own. The normalised input, the hidden activation and their panels stay in
 * this thread's scratch (L2). The results are those of bnApply and the two convs run apart, bit for bit.
 */
export function feedForward(
  x: usize, inScale: usize, inShift: usize, w1Panels: usize, scale1: usize, shift1: usize, act1: i32,
  w2Panels: usize, scale2: usize, shift2: usize, act2: i32, y: usize, c: i32, f: i32, o: i32, pixels: i32,
  scratch: usize, scratchBytes: usize, chunk: i32, imageStart: i32, imageEnd: i32,
): void {
  const normalised = scratch + <usize>(imageStart / chunk) * scratchBytes;
  const inputPanels = normalised + (<usize>c * <usize>pixels << 2);
  const hidden = inputPanels + panelBytes(c, pixels);
  const hiddenPanels = hidden + (<usize>f * <usize>pixels << 2);
  for (let image = imageStart; image < imageEnd; image++) {
    let src = x + (<usize>image * <usize>c * <usize>pixels << 2);
    if (inScale) {
      bnApply(src, c * pixels, normalised, 1, c, pixels, inScale, inShift, 0, 1, 0, 1);
      src = normalised;
    }
    packPanels(src, c, pixels, inputPanels);
    gemm(f, pixels, c, w1Panels, inputPanels, hidden, false, scale1, shift1, act1, 0, rowPanels(f));
    packPanels(hidden, f, pixels, hiddenPanels);
    gemm(o, pixels, f, w2Panels, hiddenPanels, y + (<usize>image * <usize>o * <usize>pixels << 2), false, scale2, shift2, act2, 0, rowPanels(o));
  }
}
