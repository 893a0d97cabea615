// Elementwise activations on float32 arrays in SIMD, with a vector exp.
import { madd, nmadd } from './simd';

/**
 * e^x for 4 lanes: x = n·ln2 + r with |r| ≤ ln2/2 (ln2 split in two constants so r is exact),
 * e^r by a degree-6 polynomial, 2^n by adding n to the exponent bits. Relative error ≈ 2e-7 (a few
 * float32 ulps); inputs are clamped to [−87.3, 88.7] so the result stays a normal float. The clamps
 * (here and in hardswish) are pmin/pmax, one x64 instruction each; min/max must order ±0 and
 * propagate NaN from either operand, which V8 does in about eight, and that made SiLU a third
 * slower. pmin/pmax still carry a NaN input through (the comparison is false, x is kept). n is
 * rounded by adding 1.5·2²³, whose low mantissa bits then hold n as an integer: the exponent bits
 * come from those with an integer subtract and shift (a saturating float→int conversion costs V8
 * several instructions per vector).
 */
@inline export function expv(x: v128): v128 {
  x = f32x4.pmax(f32x4.pmin(x, f32x4.splat(88.7)), f32x4.splat(-87.3));
  const rounded = f32x4.add(f32x4.mul(x, f32x4.splat(1.4426950408889634)), f32x4.splat(12582912.0));
  const n = f32x4.sub(rounded, f32x4.splat(12582912.0));
  let r = nmadd(n, f32x4.splat(0.693145751953125), x);
  r = nmadd(n, f32x4.splat(1.428606765330187e-6), r);
  let p = f32x4.splat(1.0 / 720.0);
  p = madd(p, r, f32x4.splat(1.0 / 120.0));
  p = madd(p, r, f32x4.splat(1.0 / 24.0));
  p = madd(p, r, f32x4.splat(1.0 / 6.0));
  p = madd(p, r, f32x4.splat(0.5));
  p = madd(p, r, f32x4.splat(1.0));
  p = madd(p, r, f32x4.splat(1.0));
  // bits(rounded) = 0x4B400000 + n, so (bits − 0x4B400000 + 127) << 23 is 2^n.
  const scale = i32x4.shl(i32x4.sub(rounded, i32x4.splat(0x4B400000 - 127)), 23);
  return f32x4.mul(p, scale);
}

@inline export function sigmoidv(x: v128): v128 {
  const one = f32x4.splat(1);
  return f32x4.div(one, f32x4.add(one, expv(f32x4.neg(x))));
}

// The activations and their derivatives on one vector; the array kernels below and the fused
// batch norm (batchnorm.ts) both use these.

@inline export function siluv(x: v128): v128 {
  return f32x4.mul(x, sigmoidv(x));
}

/** d silu / dx = s · (1 + x · (1 − s)), s = sigmoid(x). */
@inline export function siluGradv(x: v128): v128 {
  const one = f32x4.splat(1);
  const s = sigmoidv(x);
  return f32x4.mul(s, f32x4.add(one, f32x4.mul(x, f32x4.sub(one, s))));
}

/** x · relu6(x + 3) / 6. */
@inline export function hardswishv(x: v128): v128 {
  const r = f32x4.pmin(f32x4.pmax(f32x4.add(x, f32x4.splat(3)), f32x4.splat(0)), f32x4.splat(6));
  return f32x4.mul(f32x4.mul(x, r), f32x4.splat(1.0 / 6.0));
}

/** PyTorch's rule: 0 below −3, x/3 + 1/2 on [−3, 3], 1 above. */
@inline export function hardswishGradv(x: v128): v128 {
  const middle = f32x4.add(f32x4.mul(x, f32x4.splat(1.0 / 3.0)), f32x4.splat(0.5));
  const d = v128.bitselect(f32x4.splat(0), middle, f32x4.lt(x, f32x4.splat(-3)));
  return v128.bitselect(f32x4.splat(1), d, f32x4.gt(x, f32x4.splat(3)));
}

// Each function handles elements [blockStart·BLOCK, min(blockEnd·BLOCK, count)) of arrays of
// `count` elements, 4 at a time (callers pad buffers to a multiple of 4); threads take whole blocks.
export const BLOCK = 4096;

export function silu(x: usize, y: usize, count: i32, blockStart: i32, blockEnd: i32): void {
  for (let i = blockStart * BLOCK, end = min(blockEnd * BLOCK, count); i < end; i += 4) {
    const at = <usize>i << 2;
    v128.store(y + at, siluv(v128.load(x + at)));
  }
}

export function siluGrad(x: usize, g: usize, dx: usize, count: i32, blockStart: i32, blockEnd: i32): void {
  for (let i = blockStart * BLOCK, end = min(blockEnd * BLOCK, count); i < end; i += 4) {
    const at = <usize>i << 2;
    v128.store(dx + at, f32x4.mul(v128.load(g + at), siluGradv(v128.load(x + at))));
  }
}

export function sigmoid(x: usize, y: usize, count: i32, blockStart: i32, blockEnd: i32): void {
  for (let i = blockStart * BLOCK, end = min(blockEnd * BLOCK, count); i < end; i += 4) {
    const at = <usize>i << 2;
    v128.store(y + at, sigmoidv(v128.load(x + at)));
  }
}

/** d sigmoid / dx written in the output: y · (1 − y). */
export function sigmoidGrad(y: usize, g: usize, dx: usize, count: i32, blockStart: i32, blockEnd: i32): void {
  const one = f32x4.splat(1);
  for (let i = blockStart * BLOCK, end = min(blockEnd * BLOCK, count); i < end; i += 4) {
    const at = <usize>i << 2;
    const s = v128.load(y + at);
    v128.store(dx + at, f32x4.mul(v128.load(g + at), f32x4.mul(s, f32x4.sub(one, s))));
  }
}

export function hardswish(x: usize, y: usize, count: i32, blockStart: i32, blockEnd: i32): void {
  for (let i = blockStart * BLOCK, end = min(blockEnd * BLOCK, count); i < end; i += 4) {
    const at = <usize>i << 2;
    v128.store(y + at, hardswishv(v128.load(x + at)));
  }
}

export function hardswishGrad(x: usize, g: usize, dx: usize, count: i32, blockStart: i32, blockEnd: i32): void {
  for (let i = blockStart * BLOCK, end = min(blockEnd * BLOCK, count); i < end; i += 4) {
    const at = <usize>i << 2;
    v128.store(dx + at, f32x4.mul(v128.load(g + at), hardswishGradv(v128.load(x + at))));
  }
}

/** relu6(x + 3) / 6. */
export function hardsigmoid(x: usize, y: usize, count: i32, blockStart: i32, blockEnd: i32): void {
  const three = f32x4.splat(3);
  const six = f32x4.splat(6);
  const zero = f32x4.splat(0);
  const sixth = f32x4.splat(1.0 / 6.0);
  for (let i = blockStart * BLOCK, end = min(blockEnd * BLOCK, count); i < end; i += 4) {
    const at = <usize>i << 2;
    const v = v128.load(x + at);
    v128.store(y + at, f32x4.mul(f32x4.pmin(f32x4.pmax(f32x4.add(v, three), zero), six), sixth));
  }
}

/** 1/6 strictly inside (−3, 3), else 0 (PyTorch's float32 1/6). */
export function hardsigmoidGrad(x: usize, g: usize, dx: usize, count: i32, blockStart: i32, blockEnd: i32): void {
  const sixth = f32x4.splat(<f32>(1.0 / 6.0));
  const zero = f32x4.splat(0);
  for (let i = blockStart * BLOCK, end = min(blockEnd * BLOCK, count); i < end; i += 4) {
    const at = <usize>i << 2;
    const v = v128.load(x + at);
    const inside = v128.and(f32x4.gt(v, f32x4.splat(-3)), f32x4.lt(v, f32x4.splat(3)));
    v128.store(dx + at, f32x4.mul(v128.load(g + at), v128.bitselect(sixth, zero, inside)));
  }
}
