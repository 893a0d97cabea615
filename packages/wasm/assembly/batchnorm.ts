// Batch norm over [N, C, S] float32 (S = H·W), with an optional fused activation (1 = SiLU,
// 2 = Hardswish). Each pass covers a block of images or of channels (`byImages`, then [start, end)):
// the kernels split a batch by images where it feeds every thread, so that each core reads the planes
// its conv wrote (a line the other core wrote costs 60–90 ns, threads.ts), else by channels. Sums are
// float64 (the backward's first in float32 over blocks of 64 floats): one per (image, channel) plane,
// then added image by image in a second, serial step, so no result depends on the split or the number
// of threads.
import { hardswishGradv, hardswishv, siluGradv, siluv } from './activation';
import { addWidened, madd, sumF64Lanes } from './simd';

/**
 * Plane (img, ch) of S floats, images `imageFloats` apart: C·S for a contiguous tensor, more for an
 * input that is a block of a wider tensor's channels (a ParC block's halves), read where it lies.
 */
@inline function plane(base: usize, imageFloats: i32, img: i32, ch: i32, s: i32): usize {
  return base + ((<usize>img * <usize>imageFloats + <usize>ch * <usize>s) << 2);
}

// The images [img0, img1) and channels [ch0, ch1) of a pass: [start, end) is of the images when
// `byImages`, else of the channels.
@inline function firstImage(byImages: i32, start: i32): i32 { return byImages ? start : 0; }
@inline function endImage(byImages: i32, end: i32, n: i32): i32 { return byImages ? end : n; }
@inline function firstChannel(byImages: i32, start: i32): i32 { return byImages ? 0 : start; }
@inline function endChannel(byImages: i32, end: i32, c: i32): i32 { return byImages ? c : end; }

/**
 * Σx and Σx² of each plane in the block (float64, at planeSums + 16·(img·C + ch)): a float32 square is
 * exact in float64 and the sums carry 53 bits, so Σx²/n − mean² (bnStatsTotal) loses nothing a float32
 * result could show unless the mean is ~10⁴ standard deviations from 0; a second pass over x − mean
 * would cost a second read of the whole activation, and the pass is memory-bound.
 */
export function bnStats(x: usize, xImage: i32, n: i32, c: i32, s: i32, planeSums: usize, byImages: i32, start: i32, end: i32): void {
  const img1 = endImage(byImages, end, n), ch1 = endChannel(byImages, end, c);
  for (let img = firstImage(byImages, start); img < img1; img++) {
    for (let ch = firstChannel(byImages, start); ch < ch1; ch++) {
      let sum = f64x2.splat(0);
      let sq = f64x2.splat(0);
      let tail: f64 = 0;
      let sqTail: f64 = 0;
      const p = plane(x, xImage, img, ch, s);
      let i = 0;
      // Each half as its own 8-byte load: a shuffle for the high half would share the port the two
      // conversions use (about 1.05x the kernel's time).
      for (; i + 4 <= s; i += 4) {
        const lo = f64x2.promote_low_f32x4(v128.load64_zero(p + (<usize>i << 2)));
        const hi = f64x2.promote_low_f32x4(v128.load64_zero(p + (<usize>i << 2), 8));
        sum = f64x2.add(sum, f64x2.add(lo, hi));
        sq = f64x2.add(sq, f64x2.add(f64x2.mul(lo, lo), f64x2.mul(hi, hi)));
      }
      for (; i < s; i++) {
        const v = <f64>load<f32>(p + (<usize>i << 2));
        tail += v;
        sqTail += v * v;
      }
      const at = planeSums + (<usize>(img * c + ch) << 4);
      store<f64>(at, sumF64Lanes(sum) + tail);
      store<f64>(at, sumF64Lanes(sq) + sqTail, 8);
    }
  }
}

/** Channel ch's two float64 plane sums (at planeSums + 16·(img·C + ch)) added image by image, as one f64x2. */
@inline function channelTotals(planeSums: usize, n: i32, c: i32, ch: i32): v128 {
  let total = f64x2.splat(0);
  for (let img = 0; img < n; img++) total = f64x2.add(total, v128.load(planeSums + (<usize>(img * c + ch) << 4)));
  return total;
}

/** Adds bnStats' plane sums image by image: mean[c] and biased variance[c] (float64). */
export function bnStatsTotal(n: i32, c: i32, s: i32, planeSums: usize, mean: usize, variance: usize): void {
  const count = <f64>n * <f64>s;
  for (let ch = 0; ch < c; ch++) {
    const total = channelTotals(planeSums, n, c, ch);
    const sum = f64x2.extract_lane(total, 0);
    const sq = f64x2.extract_lane(total, 1);
    const m = sum / count;
    store<f64>(mean + (<usize>ch << 3), m);
    // Rounding can take a constant channel's Σx²/n − mean² a hair below 0.
    store<f64>(variance + (<usize>ch << 3), max(sq / count - m * m, 0));
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
 * y = act(x · scale[c] + shift[c]) over the block, plane by plane in memory order (a block of channels
 * still walks image by image: channel by channel it would jump C·S·4 bytes between planes).
 */
export function bnApply(x: usize, xImage: i32, y: usize, n: i32, c: i32, s: i32, scale: usize, shift: usize, act: i32, byImages: i32, start: i32, end: i32): void {
  const img1 = endImage(byImages, end, n), ch1 = endChannel(byImages, end, c);
  for (let img = firstImage(byImages, start); img < img1; img++) {
    for (let ch = firstChannel(byImages, start); ch < ch1; ch++) {
      const a = load<f32>(scale + (<usize>ch << 2));
      const b = load<f32>(shift + (<usize>ch << 2));
      const av = f32x4.splat(a);
      const bv = f32x4.splat(b);
      const src = plane(x, xImage, img, ch, s);
      const dst = plane(y, c * s, img, ch, s);
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
 * The backward of y = act((x − mean)·invstd·w + b), first of three steps: over the block, each
 * plane's Σ dz and Σ dz·x̂ (float64, at planeSums + 16·(img·C + ch)) for dz = g·act'(z), and dz
 * into dx when there is an activation. Without one dz is g: the third step reads it there, and this
 * pass writes nothing (a write pass over a fresh output also reads each line first).
 */
export function bnBackwardSums(
  x: usize, xImage: i32, g: usize, gImage: i32, dx: usize, n: i32, c: i32, s: i32, mean: usize, invstd: usize, weight: usize, bias: usize, act: i32,
  planeSums: usize, byImages: i32, start: i32, end: i32,
): void {
  const img1 = endImage(byImages, end, n), ch1 = endChannel(byImages, end, c);
  for (let img = firstImage(byImages, start); img < img1; img++) {
    for (let ch = firstChannel(byImages, start); ch < ch1; ch++) {
      const m = load<f32>(mean + (<usize>ch << 2));
      const k = load<f32>(invstd + (<usize>ch << 2));
      const w = load<f32>(weight + (<usize>ch << 2));
      const b = load<f32>(bias + (<usize>ch << 2));
      const mv = f32x4.splat(m);
      const kv = f32x4.splat(k);
      const wv = f32x4.splat(w);
      const bv = f32x4.splat(b);
      let sumDz = f64x2.splat(0);
      let sumDzX = f64x2.splat(0);
      let tailDz: f64 = 0;
      let tailDzX: f64 = 0;
      const xp = plane(x, xImage, img, ch, s);
      const gp = plane(g, gImage, img, ch, s);
      const dp = plane(dx, c * s, img, ch, s);
      let i = 0;
      // Blocks of up to 64 floats: the sums in float32 lanes over the block (at most 16 terms a
      // lane), then into the float64 lanes. Widening every vector cost five instructions a sum, most
      // on the port the conversions share: the kernel ran 1.22x as long on one thread.
      while (i + 8 <= s) {
        const blockEnd = min(i + 64, s & ~7);
        let f0 = f32x4.splat(0), f1 = f32x4.splat(0), q0 = f32x4.splat(0), q1 = f32x4.splat(0);
        for (; i < blockEnd; i += 8) {
          const o = <usize>i << 2;
          const xhat0 = f32x4.mul(f32x4.sub(v128.load(xp + o), mv), kv);
          const xhat1 = f32x4.mul(f32x4.sub(v128.load(xp + o, 16), mv), kv);
          // Both derivatives before either store (activation.ts, expNegv).
          const dz0 = f32x4.mul(v128.load(gp + o), activationGrad(f32x4.add(f32x4.mul(xhat0, wv), bv), act));
          const dz1 = f32x4.mul(v128.load(gp + o, 16), activationGrad(f32x4.add(f32x4.mul(xhat1, wv), bv), act));
          if (act != 0) {
            v128.store(dp + o, dz0);
            v128.store(dp + o, dz1, 16);
          }
          f0 = f32x4.add(f0, dz0);
          f1 = f32x4.add(f1, dz1);
          q0 = madd(dz0, xhat0, q0);
          q1 = madd(dz1, xhat1, q1);
        }
        sumDz = addWidened(sumDz, f32x4.add(f0, f1));
        sumDzX = addWidened(sumDzX, f32x4.add(q0, q1));
      }
      for (; i + 4 <= s; i += 4) {
        const o = <usize>i << 2;
        const xhat = f32x4.mul(f32x4.sub(v128.load(xp + o), mv), kv);
        const dz = f32x4.mul(v128.load(gp + o), activationGrad(f32x4.add(f32x4.mul(xhat, wv), bv), act));
        if (act != 0) v128.store(dp + o, dz);
        sumDz = addWidened(sumDz, dz);
        sumDzX = addWidened(sumDzX, f32x4.mul(dz, xhat));
      }
      for (; i < s; i++) {
        const o = <usize>i << 2;
        const xhat = (load<f32>(xp + o) - m) * k;
        const dz = load<f32>(gp + o) * f32x4.extract_lane(activationGrad(f32x4.splat(xhat * w + b), act), 0);
        if (act != 0) store<f32>(dp + o, dz);
        tailDz += <f64>dz;
        tailDzX += <f64>dz * <f64>xhat;
      }
      const at = planeSums + (<usize>(img * c + ch) << 4);
      store<f64>(at, sumF64Lanes(sumDz) + tailDz);
      store<f64>(at, sumF64Lanes(sumDzX) + tailDzX, 8);
    }
  }
}

/**
 * Second step: the plane sums added image by image into dbias[c] = Σ dz and dweight[c] = Σ dz·x̂
 * (float64), and the two correction terms of the third step as float32 (`corrections`: the means of
 * dz and of dz·x̂ per channel, zeros without batch statistics).
 */
export function bnBackwardTotal(n: i32, c: i32, s: i32, planeSums: usize, batchStats: i32, dweight: usize, dbias: usize, corrections: usize): void {
  const count = <f64>n * <f64>s;
  for (let ch = 0; ch < c; ch++) {
    const total = channelTotals(planeSums, n, c, ch);
    const totalDz = f64x2.extract_lane(total, 0);
    const totalDzX = f64x2.extract_lane(total, 1);
    store<f64>(dweight + (<usize>ch << 3), totalDzX);
    store<f64>(dbias + (<usize>ch << 3), totalDz);
    store<f32>(corrections + (<usize>ch << 3), batchStats ? <f32>(totalDz / count) : <f32>0);
    store<f32>(corrections + (<usize>ch << 3), batchStats ? <f32>(totalDzX / count) : <f32>0, 4);
  }
}

/** Third step, over the block: dx = w·invstd·(dz − mean(dz) − x̂·mean(dz·x̂)), dz read at dz (dx itself, or g without an activation). */
export function bnBackwardApply(
  x: usize, xImage: i32, dz: usize, dzImage: i32, dx: usize, n: i32, c: i32, s: i32, mean: usize, invstd: usize, weight: usize, corrections: usize, byImages: i32, start: i32, end: i32,
): void {
  const img1 = endImage(byImages, end, n), ch1 = endChannel(byImages, end, c);
  for (let img = firstImage(byImages, start); img < img1; img++) {
    for (let ch = firstChannel(byImages, start); ch < ch1; ch++) {
      const meanDz = load<f32>(corrections + (<usize>ch << 3));
      const meanDzX = load<f32>(corrections + (<usize>ch << 3), 4);
      const m = load<f32>(mean + (<usize>ch << 2));
      const k = load<f32>(invstd + (<usize>ch << 2));
      const w = load<f32>(weight + (<usize>ch << 2));
      const mv = f32x4.splat(m);
      const kv = f32x4.splat(k);
      const scale = f32x4.splat(w * k);
      const meanDzV = f32x4.splat(meanDz);
      const meanDzXV = f32x4.splat(meanDzX);
      const xp = plane(x, xImage, img, ch, s);
      const zp = plane(dz, dzImage, img, ch, s);
      const dp = plane(dx, c * s, img, ch, s);
      let i = 0;
      for (; i + 4 <= s; i += 4) {
        const o = <usize>i << 2;
        const xhat = f32x4.mul(f32x4.sub(v128.load(xp + o), mv), kv);
        const dzv = v128.load(zp + o);
        v128.store(dp + o, f32x4.mul(scale, f32x4.sub(f32x4.sub(dzv, meanDzV), f32x4.mul(xhat, meanDzXV))));
      }
      for (; i < s; i++) {
        const o = <usize>i << 2;
        const xhat = (load<f32>(xp + o) - m) * k;
        store<f32>(dp + o, w * k * (load<f32>(zp + o) - meanDz - xhat * meanDzX));
      }
    }
  }
}
