// 2-D pooling on float32 [N·C] planes of H × W → Ho × Wo, forward and backward, windows as PyTorch
// (floor mode). Every function handles planes [planeStart, planeEnd) and writes only those planes,
// so threads split the planes and results do not depend on how many there are.
import { runSum } from './reduce';

/** Where output o's window starts along an axis, before clipping (it may lie in the padding). */
@inline function windowStart(o: i32, stride: i32, pad: i32): i32 {
  return o * stride - pad;
}

/**
 * One window [y0, y1) × [x0, x1) of an image W wide: its sum (float64) over `divisor` stored at
 * `pooled`, or (`adjoint`) the value at `pooled` over `divisor` added to each of its elements.
 */
@inline function averageWindow(image: usize, w: i32, y0: i32, y1: i32, x0: i32, x1: i32, divisor: f64, pooled: usize, adjoint: bool): void {
  const share = adjoint ? <f32>(<f64>load<f32>(pooled) / divisor) : 0;
  let total: f64 = 0;
  for (let iy = y0; iy < y1; iy++) {
    const row = image + (<usize>iy * <usize>w << 2);
    for (let ix = x0; ix < x1; ix++) {
      const at = row + (<usize>ix << 2);
      if (adjoint) store<f32>(at, load<f32>(at) + share);
      else total += <f64>load<f32>(at);
    }
  }
  if (!adjoint) store<f32>(pooled, <f32>(total / divisor));
}

/**
 * Average pooling (`adjoint` 0: y from x) and its adjoint (`adjoint` 1: each output's gradient shared
 * over its window, added into dx, zeroed), one walk over the windows for both. PyTorch counts the
 * window clipped to the padded image (countIncludePad) or to the image itself. Sums run in float64,
 * as the reference kernel's.
 */
function avgPoolWalk(
  x: usize, y: usize, h: i32, w: i32, ho: i32, wo: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, includePad: i32,
  adjoint: bool, planeStart: i32, planeEnd: i32,
): void {
  for (let plane = planeStart; plane < planeEnd; plane++) {
    const image = x + (<usize>plane * <usize>h * <usize>w << 2);
    let pooled = y + (<usize>plane * <usize>ho * <usize>wo << 2);
    for (let oy = 0; oy < ho; oy++) {
      const ys = windowStart(oy, sh, ph);
      const yPad = min(ys + kh, h + ph);
      const y0 = max(ys, 0);
      const y1 = min(yPad, h);
      for (let ox = 0; ox < wo; ox++) {
        const xs = windowStart(ox, sw, pw);
        const xPad = min(xs + kw, w + pw);
        const x0 = max(xs, 0);
        const x1 = min(xPad, w);
        averageWindow(image, w, y0, y1, x0, x1, <f64>(includePad ? (yPad - ys) * (xPad - xs) : (y1 - y0) * (x1 - x0)), pooled, adjoint);
        pooled += 4;
      }
    }
  }
}

export function avgPool(
  x: usize, y: usize, h: i32, w: i32, ho: i32, wo: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, includePad: i32,
  planeStart: i32, planeEnd: i32,
): void {
  avgPoolWalk(x, y, h, w, ho, wo, kh, kw, sh, sw, ph, pw, includePad, false, planeStart, planeEnd);
}

export function avgPoolGrad(
  g: usize, dx: usize, h: i32, w: i32, ho: i32, wo: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32, includePad: i32,
  planeStart: i32, planeEnd: i32,
): void {
  avgPoolWalk(dx, g, h, w, ho, wo, kh, kw, sh, sw, ph, pw, includePad, true, planeStart, planeEnd);
}

/**
 * Max pooling: the value and the flat index (iy·W + ix) of the first largest element of each window
 * (padding never wins). A NaN wins and ends the scan of its row, as in the reference kernel.
 */
export function maxPool(
  x: usize, y: usize, indices: usize, h: i32, w: i32, ho: i32, wo: i32, kh: i32, kw: i32, sh: i32, sw: i32, ph: i32, pw: i32,
  planeStart: i32, planeEnd: i32,
): void {
  for (let plane = planeStart; plane < planeEnd; plane++) {
    const src = x + (<usize>plane * <usize>h * <usize>w << 2);
    const first = <usize>plane * <usize>ho * <usize>wo << 2;
    let dst = y + first;
    let idx = indices + first;
    for (let oy = 0; oy < ho; oy++) {
      const ys = windowStart(oy, sh, ph);
      const y0 = max(ys, 0);
      const y1 = min(min(ys + kh, h + ph), h);
      for (let ox = 0; ox < wo; ox++) {
        const xs = windowStart(ox, sw, pw);
        const x0 = max(xs, 0);
        const x1 = min(min(xs + kw, w + pw), w);
        let best = -Infinity;
        let bestIndex = y0 * w + x0;
        for (let iy = y0; iy < y1; iy++) {
          const row = src + (<usize>iy * <usize>w << 2);
          for (let ix = x0; ix < x1; ix++) {
            const v = <f64>load<f32>(row + (<usize>ix << 2));
            if (v > best || isNaN(v)) {
              best = v;
              bestIndex = iy * w + ix;
              if (isNaN(v)) break;
            }
          }
        }
        store<f32>(dst, <f32>best);
        store<i32>(idx, bestIndex);
        dst += 4;
        idx += 4;
      }
    }
  }
}

/** The adjoint of maxPool: each output's gradient added at its chosen input, into dx (zeroed). */
export function maxPoolGrad(g: usize, indices: usize, dx: usize, hw: i32, outPixels: i32, planeStart: i32, planeEnd: i32): void {
  for (let plane = planeStart; plane < planeEnd; plane++) {
    const dst = dx + (<usize>plane * <usize>hw << 2);
    const first = <usize>plane * <usize>outPixels << 2;
    for (let o = 0; o < outPixels; o++) {
      const at = dst + (<usize>load<i32>(indices + first + (<usize>o << 2)) << 2);
      store<f32>(at, load<f32>(at) + load<f32>(g + first + (<usize>o << 2)));
    }
  }
}

/** PyTorch's adaptive bins along one axis: [⌊i·In/Out⌋, ⌈(i+1)·In/Out⌉). */
@inline function binStart(i: i32, inSize: i32, outSize: i32): i32 {
  return (i * inSize) / outSize;
}

@inline function binEnd(i: i32, inSize: i32, outSize: i32): i32 {
  return ((i + 1) * inSize + outSize - 1) / outSize;
}

/**
 * Adaptive average pooling to ho × wo (`adjoint` 0: y from x) and its adjoint (`adjoint` 1: each
 * output's gradient, in y, shared over its bin and added into dx, in x, zeroed), one walk over the
 * bins for both. A 1 × 1 output (the classifier's global pool) sums, or spreads over, the plane in
 * SIMD.
 */
function adaptiveWalk(x: usize, y: usize, h: i32, w: i32, ho: i32, wo: i32, adjoint: bool, planeStart: i32, planeEnd: i32): void {
  for (let plane = planeStart; plane < planeEnd; plane++) {
    const image = x + (<usize>plane * <usize>h * <usize>w << 2);
    let pooled = y + (<usize>plane * <usize>ho * <usize>wo << 2);
    if (ho == 1 && wo == 1) {
      const count = h * w;
      if (!adjoint) {
        store<f32>(pooled, <f32>(runSum(image, count) / <f64>count));
        continue;
      }
      const share = <f32>(<f64>load<f32>(pooled) / <f64>count);
      const sv = f32x4.splat(share);
      let i = 0;
      for (; i + 4 <= count; i += 4) v128.store(image + (<usize>i << 2), f32x4.add(v128.load(image + (<usize>i << 2)), sv));
      for (; i < count; i++) store<f32>(image + (<usize>i << 2), load<f32>(image + (<usize>i << 2)) + share);
      continue;
    }
    for (let oy = 0; oy < ho; oy++) {
      const y0 = binStart(oy, h, ho);
      const y1 = binEnd(oy, h, ho);
      for (let ox = 0; ox < wo; ox++) {
        const x0 = binStart(ox, w, wo);
        const x1 = binEnd(ox, w, wo);
        averageWindow(image, w, y0, y1, x0, x1, <f64>((y1 - y0) * (x1 - x0)), pooled, adjoint);
        pooled += 4;
      }
    }
  }
}

export function adaptiveAvgPool(x: usize, y: usize, h: i32, w: i32, ho: i32, wo: i32, planeStart: i32, planeEnd: i32): void {
  adaptiveWalk(x, y, h, w, ho, wo, false, planeStart, planeEnd);
}

export function adaptiveAvgPoolGrad(g: usize, dx: usize, h: i32, w: i32, ho: i32, wo: i32, planeStart: i32, planeEnd: i32): void {
  adaptiveWalk(dx, g, h, w, ho, wo, true, planeStart, planeEnd);
}
