// Batch norm over [N, C, S] float32 (S = H·W), with an optional fused activation (1 = SiLU,
// 2 = Hardswish). Per-channel sums accumulate in float64 lanes (f64x2) for precision; each call
// handles whole channels, so results do not depend on how channels are split between threads.
import { hardswishGradv, hardswishv, siluGradv, siluv } from './activation';
import { addWidened, sumF64Lanes } from './simd';

@inline function plane(base: usize, img: i32, ch: i32, c: i32, s: i32): usize {
  return base + ((<usize>(img * c + ch) * <usize>s) << 2);
}

/**
 * mean[c] and biased variance[c] (float64 outputs) for channels [chStart, chEnd), in one pass that
 * sums x and x² in float64 lanes: a float32 square is exact in float64 and the sums carry 53 bits,
 * so Σx²/n − mean² loses nothing a float32 result could show unless the mean is ~10⁴ standard
 * deviations from 0 (a second pass over x − mean, as before, cost a second read of the whole
 * activation: the pass is memory-bound). The walk goes image by image, so memory is read in order;
 * each channel's running sums wait in `sums` (64 bytes per channel: two f64x2, two scalar tails)
 * between images.
 */
export function bnStats(x: usize, n: i32, c: i32, s: i32, mean: usize, variance: usize, sums: usize, chStart: i32, chEnd: i32): void {
  const count = <f64>n * <f64>s;
  for (let ch = chStart; ch < chEnd; ch++) memory.fill(sums + (<usize>ch << 6), 0, 48);
  for (let img = 0; img < n; img++) {
    for (let ch = chStart; ch < chEnd; ch++) {
      const at = sums + (<usize>ch << 6);
      let sum = v128.load(at);
      let sq = v128.load(at, 16);
      let tail = load<f64>(at, 32);
      let sqTail = load<f64>(at, 40);
      const p = plane(x, img, ch, c, s);
      let i = 0;
      for (; i + 4 <= s; i += 4) {
        const v = v128.load(p + (<usize>i << 2));
        const lo = f64x2.promote_low_f32x4(v);
        const hi = f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1));
        sum = f64x2.add(sum, f64x2.add(lo, hi));
        sq = f64x2.add(sq, f64x2.add(f64x2.mul(lo, lo), f64x2.mul(hi, hi)));
      }
      for (; i < s; i++) {
        const v = <f64>load<f32>(p + (<usize>i << 2));
        tail += v;
        sqTail += v * v;
      }
      v128.store(at, sum);
      v128.store(at, sq, 16);
      store<f64>(at, tail, 32);
      store<f64>(at, sqTail, 40);
    }
  }
  for (let ch = chStart; ch < chEnd; ch++) {
    const at = sums + (<usize>ch << 6);
    const m = (sumF64Lanes(v128.load(at)) + load<f64>(at, 32)) / count;
    const meanSquare = (sumF64Lanes(v128.load(at, 16)) + load<f64>(at, 40)) / count;
    store<f64>(mean + (<usize>ch << 3), m);
    // Rounding can take a constant channel's Σx²/n − mean² a hair below 0.
    store<f64>(variance + (<usize>ch << 3), max(meanSquare - m * m, 0));
  }
}

@inline export function activate(z: v128, act: i32): v128 {
  if (act == 1) return siluv(z);
  if (act == 2) return hardswishv(z);
  return z;
}

/**
 * act over `count` contiguous floats in place, vectors then a scalar tail: the conv kernels' epilogue
 * (GEMM rows, depthwise and Winograd planes) runs it over output they have just written, still in
 * L1, rather than vector by vector inside their own loops, where two activations could not share
 * the constant table's loads (activation.ts, expNegv) and their registers are taken.
 */
export function activateInPlace(at: usize, count: i32, act: i32): void {
  let i = 0;
  for (; i + 8 <= count; i += 8) {
    const p = at + (<usize>i << 2);
    const a = activate(v128.load(p), act), b = activate(v128.load(p, 16), act);
    v128.store(p, a);
    v128.store(p, b, 16);
  }
  for (; i + 4 <= count; i += 4) {
    const p = at + (<usize>i << 2);
    v128.store(p, activate(v128.load(p), act));
  }
  for (; i < count; i++) {
    const p = at + (<usize>i << 2);
    store<f32>(p, f32x4.extract_lane(activate(f32x4.splat(load<f32>(p)), act), 0));
  }
}

@inline function activationGrad(z: v128, act: i32): v128 {
  if (act == 1) return siluGradv(z);
  if (act == 2) return hardswishGradv(z);
  return f32x4.splat(1);
}

/**
 * y = act(x · scale[c] + shift[c]) for channels [chStart, chEnd), image by image, so memory is read
 * and written in order (channel by channel it would jump C·S·4 bytes between planes).
 */
export function bnApply(x: usize, y: usize, n: i32, c: i32, s: i32, scale: usize, shift: usize, act: i32, chStart: i32, chEnd: i32): void {
  for (let img = 0; img < n; img++) {
    for (let ch = chStart; ch < chEnd; ch++) {
      const a = load<f32>(scale + (<usize>ch << 2));
      const b = load<f32>(shift + (<usize>ch << 2));
      const av = f32x4.splat(a);
      const bv = f32x4.splat(b);
      const src = plane(x, img, ch, c, s);
      const dst = plane(y, img, ch, c, s);
      let i = 0;
      // Two vectors before either store (activation.ts, expNegv).
      for (; i + 8 <= s; i += 8) {
        const o = <usize>i << 2;
        const y0 = activate(f32x4.add(f32x4.mul(v128.load(src + o), av), bv), act);
        const y1 = activate(f32x4.add(f32x4.mul(v128.load(src + o, 16), av), bv), act);
        v128.store(dst + o, y0);
        v128.store(dst + o, y1, 16);
      }
      for (; i + 4 <= s; i += 4) v128.store(dst + (<usize>i << 2), activate(f32x4.add(f32x4.mul(v128.load(src + (<usize>i << 2)), av), bv), act));
      for (; i < s; i++) {
        const z = f32x4.splat(load<f32>(src + (<usize>i << 2)) * a + b);
        store<f32>(dst + (<usize>i << 2), f32x4.extract_lane(activate(z, act), 0));
      }
    }
  }
}

/**
 * Backward of y = act((x − mean)·invstd·w + b) for channels [chStart, chEnd): first dz = g·act'(z)
 * into dx with the sums Σ dz and Σ dz·x̂ (float64, written to dweight/dbias), then dx in place. Both
 * passes walk image by image (memory in order); each channel's running sums wait in `sums` (64 bytes
 * per channel: two f64x2, two scalar tails) between images.
 */
export function bnBackward(
  x: usize, g: usize, dx: usize, n: i32, c: i32, s: i32, mean: usize, invstd: usize, weight: usize, bias: usize,
  batchStats: i32, act: i32, dweight: usize, dbias: usize, sums: usize, chStart: i32, chEnd: i32,
): void {
  const count = <f64>n * <f64>s;
  for (let ch = chStart; ch < chEnd; ch++) memory.fill(sums + (<usize>ch << 6), 0, 48);
  for (let img = 0; img < n; img++) {
    for (let ch = chStart; ch < chEnd; ch++) {
      const m = load<f32>(mean + (<usize>ch << 2));
      const k = load<f32>(invstd + (<usize>ch << 2));
      const w = load<f32>(weight + (<usize>ch << 2));
      const b = load<f32>(bias + (<usize>ch << 2));
      const mv = f32x4.splat(m);
      const kv = f32x4.splat(k);
      const wv = f32x4.splat(w);
      const bv = f32x4.splat(b);
      const at = sums + (<usize>ch << 6);
      let sumDz = v128.load(at);
      let sumDzX = v128.load(at, 16);
      let tailDz = load<f64>(at, 32);
      let tailDzX = load<f64>(at, 40);
      const xp = plane(x, img, ch, c, s);
      const gp = plane(g, img, ch, c, s);
      const dp = plane(dx, img, ch, c, s);
      let i = 0;
      for (; i + 8 <= s; i += 8) {
        const o = <usize>i << 2;
        const xhat0 = f32x4.mul(f32x4.sub(v128.load(xp + o), mv), kv);
        const xhat1 = f32x4.mul(f32x4.sub(v128.load(xp + o, 16), mv), kv);
        // Both derivatives before either store (activation.ts, expNegv).
        const dz0 = f32x4.mul(v128.load(gp + o), activationGrad(f32x4.add(f32x4.mul(xhat0, wv), bv), act));
        const dz1 = f32x4.mul(v128.load(gp + o, 16), activationGrad(f32x4.add(f32x4.mul(xhat1, wv), bv), act));
        v128.store(dp + o, dz0);
        v128.store(dp + o, dz1, 16);
        sumDz = addWidened(sumDz, dz0);
        sumDzX = addWidened(sumDzX, f32x4.mul(dz0, xhat0));
        sumDz = addWidened(sumDz, dz1);
        sumDzX = addWidened(sumDzX, f32x4.mul(dz1, xhat1));
      }
      for (; i + 4 <= s; i += 4) {
        const o = <usize>i << 2;
        const xhat = f32x4.mul(f32x4.sub(v128.load(xp + o), mv), kv);
        const dz = f32x4.mul(v128.load(gp + o), activationGrad(f32x4.add(f32x4.mul(xhat, wv), bv), act));
        v128.store(dp + o, dz);
        const dzx = f32x4.mul(dz, xhat);
        sumDz = addWidened(sumDz, dz);
        sumDzX = addWidened(sumDzX, dzx);
      }
      for (; i < s; i++) {
        const o = <usize>i << 2;
        const xhat = (load<f32>(xp + o) - m) * k;
        const dz = load<f32>(gp + o) * f32x4.extract_lane(activationGrad(f32x4.splat(xhat * w + b), act), 0);
        store<f32>(dp + o, dz);
        tailDz += <f64>dz;
        tailDzX += <f64>dz * <f64>xhat;
      }
      v128.store(at, sumDz);
      v128.store(at, sumDzX, 16);
      store<f64>(at, tailDz, 32);
      store<f64>(at, tailDzX, 40);
    }
  }
  // Per channel: the totals, then the two correction terms as float32 for the second pass (kept in
  // `sums` at +48 and +52).
  for (let ch = chStart; ch < chEnd; ch++) {
    const at = sums + (<usize>ch << 6);
    const totalDz = sumF64Lanes(v128.load(at)) + load<f64>(at, 32);
    const totalDzX = sumF64Lanes(v128.load(at, 16)) + load<f64>(at, 40);
    store<f64>(dweight + (<usize>ch << 3), totalDzX);
    store<f64>(dbias + (<usize>ch << 3), totalDz);
    store<f32>(at, batchStats ? <f32>(totalDz / count) : <f32>0, 48);
    store<f32>(at, batchStats ? <f32>(totalDzX / count) : <f32>0, 52);
  }
  for (let img = 0; img < n; img++) {
    for (let ch = chStart; ch < chEnd; ch++) {
      const at = sums + (<usize>ch << 6);
      const meanDz = load<f32>(at, 48);
      const meanDzX = load<f32>(at, 52);
      const m = load<f32>(mean + (<usize>ch << 2));
      const k = load<f32>(invstd + (<usize>ch << 2));
      const w = load<f32>(weight + (<usize>ch << 2));
      const mv = f32x4.splat(m);
      const kv = f32x4.splat(k);
      const scale = f32x4.splat(w * k);
      const meanDzV = f32x4.splat(meanDz);
      const meanDzXV = f32x4.splat(meanDzX);
      const xp = plane(x, img, ch, c, s);
      const dp = plane(dx, img, ch, c, s);
      let i = 0;
      for (; i + 4 <= s; i += 4) {
        const o = <usize>i << 2;
        const xhat = f32x4.mul(f32x4.sub(v128.load(xp + o), mv), kv);
        const dz = v128.load(dp + o);
        v128.store(dp + o, f32x4.mul(scale, f32x4.sub(f32x4.sub(dz, meanDzV), f32x4.mul(xhat, meanDzXV))));
      }
      for (; i < s; i++) {
        const o = <usize>i << 2;
        const xhat = (load<f32>(xp + o) - m) * k;
        store<f32>(dp + o, w * k * (load<f32>(dp + o) - meanDz - xhat * meanDzX));
      }
    }
  }
}
