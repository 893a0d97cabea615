// Elementwise activations on float32 arrays in SIMD, with a vector exp.
import { madd } from './simd';

// V8 builds every v128 constant where it is used, inside the loop, with three instructions (a 64-bit
// immediate, a move to a vector register, an unpack), and does not hoist them: exp's twelve
// constants were two thirds of its instructions, and exp ran at 2.2 ns an element. A load from this
// table is one instruction (1.4 ns an element). Binaryen folds constants kept in locals back into
// the loop, but it cannot fold a load. Each entry is one constant in all four lanes.
const CONSTANTS: usize = memory.data<f32>([
  87.3, 87.3, 87.3, 87.3, -88.7, -88.7, -88.7, -88.7,
  -1.4426950408889634, -1.4426950408889634, -1.4426950408889634, -1.4426950408889634,
  12582912.0, 12582912.0, 12582912.0, 12582912.0, 0.693145751953125, 0.693145751953125, 0.693145751953125, 0.693145751953125,
  1.428606765330187e-6, 1.428606765330187e-6, 1.428606765330187e-6, 1.428606765330187e-6,
  -0.008290315046906471, -0.008290315046906471, -0.008290315046906471, -0.008290315046906471,
  0.04189793020486832, 0.04189793020486832, 0.04189793020486832, 0.04189793020486832,
  -0.1666763573884964, -0.1666763573884964, -0.1666763573884964, -0.1666763573884964,
  0.4999915063381195, 0.4999915063381195, 0.4999915063381195, 0.4999915063381195,
  -0.9999997019767761, -0.9999997019767761, -0.9999997019767761, -0.9999997019767761,
  0.5, 0.5, 0.5, 0.5, 1, 1, 1, 1, 3, 3, 3, 3, -3, -3, -3, -3, 6, 6, 6, 6, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0,
  1.0 / 6.0, 1.0 / 6.0, 1.0 / 6.0, 1.0 / 6.0,
], 16);
const X_HIGH = 0, X_LOW = 1, MINUS_LOG2E = 2, ROUNDER = 3, LN2_HIGH = 4, LN2_LOW = 5;
const Q5 = 6, Q4 = 7, Q3 = 8, Q2 = 9, Q1 = 10;
const HALF = 11, ONE = 12, THREE = 13, MINUS_THREE = 14, SIX = 15, THIRD = 16, SIXTH = 17;

/** Constant `index` of the table in all four lanes. */
@inline function k(index: i32): v128 {
  return v128.load(CONSTANTS + (<usize>index << 4));
}

/**
 * e^(−x) for 4 lanes (the sigmoid family's exp; expv is this of −x): −x = n·ln2 − r with |r| ≤
 * ln2/2 (ln2 split in two constants so r is exact), e^(−r) by a degree-5 polynomial fitted for
 * relative error with its constant term 1, so e^0 is exactly 1 (1.5e-7 in float32, a few ulps; the
 * degree-6 Taylor series it replaced was no closer and cost a multiply-add more), 2^n by adding n
 * to the exponent bits. x is clamped to [−88.7, 87.3] so the result stays a normal float. The
 * clamps (here and in hardswish) are pmin/pmax, one x64 instruction each; min/max must order ±0 and
 * propagate NaN from either operand, which V8 does in about eight, and that made SiLU a third
 * slower. pmin/pmax still carry a NaN input through (the comparison is false, x is kept). n is rounded by adding 1.5·2²³, whose low mantissa
 * bits then hold n as an integer: the exponent bits come from those with an integer subtract and
 * shift (a saturating float→int conversion costs V8 several instructions per vector).
 *
 * V8 does not hoist the table's loads out of a loop, but it does share them between two calls with
 * no store between them: the loops below compute two vectors before they store either, which made
 * SiLU about a fifth faster again.
 */
@inline export function expNegv(x: v128): v128 {
  return expNegPlus(x, false);
}

/**
 * e^(−x), or 1 + e^(−x) when `plusOne` (a constant at every call: the branch folds). The sum is one
 * multiply-add: 2^n · p is exact (a float times a power of two) unless it is subnormal, where 1 plus
 * it is 1 either way, so the fused add gives the bits the multiply then the add gave. SiLU, sigmoid
 * and SiLU's derivative lose an instruction: SiLU 0.91–0.93× the time.
 */
@inline function expNegPlus(x: v128, plusOne: bool): v128 {
  x = f32x4.pmax(f32x4.pmin(x, k(X_HIGH)), k(X_LOW));
  const rounded = madd(x, k(MINUS_LOG2E), k(ROUNDER));
  const n = f32x4.sub(rounded, k(ROUNDER));
  // r = x + n·ln2, so e^(−x) = 2^n · e^(−r); the polynomial's coefficients alternate in sign.
  let r = madd(n, k(LN2_HIGH), x);
  r = madd(n, k(LN2_LOW), r);
  let p = k(Q5);
  p = madd(p, r, k(Q4));
  p = madd(p, r, k(Q3));
  p = madd(p, r, k(Q2));
  p = madd(p, r, k(Q1));
  p = madd(p, r, k(ONE));
  // bits(rounded) = 0x4B400000 + n, so (bits − 0x4B400000 + 127) << 23 is 2^n.
  const scale = i32x4.shl(i32x4.sub(rounded, i32x4.splat(0x4B400000 - 127)), 23);
  return plusOne ? madd(p, scale, k(ONE)) : f32x4.mul(p, scale);
}

/** e^x for 4 lanes (softmax), within a few float32 ulps: see expNegv. */
@inline export function expv(x: v128): v128 {
  return expNegv(f32x4.neg(x));
}

@inline export function sigmoidv(x: v128): v128 {
  return f32x4.div(k(ONE), expNegPlus(x, true));
}

// The activations and their derivatives on one vector; the array kernels below and the fused
// batch norm (batchnorm.ts) both use these.

/** x / (1 + e^(−x)): a division instead of sigmoid's and a multiply. */
@inline export function siluv(x: v128): v128 {
  return f32x4.div(x, expNegPlus(x, true));
}

/** d silu / dx = s · (1 + x · (1 − s)), s = sigmoid(x). */
@inline export function siluGradv(x: v128): v128 {
  const one = k(ONE);
  const s = sigmoidv(x);
  return f32x4.mul(s, f32x4.add(one, f32x4.mul(x, f32x4.sub(one, s))));
}

/** x · relu6(x + 3) / 6. */
@inline export function hardswishv(x: v128): v128 {
  const r = f32x4.pmin(f32x4.pmax(f32x4.add(x, k(THREE)), f32x4.splat(0)), k(SIX));
  return f32x4.mul(f32x4.mul(x, r), k(SIXTH));
}

/** PyTorch's rule: 0 below −3, x/3 + 1/2 on [−3, 3], 1 above. */
@inline export function hardswishGradv(x: v128): v128 {
  const middle = f32x4.add(f32x4.mul(x, k(THIRD)), k(HALF));
  const d = v128.bitselect(f32x4.splat(0), middle, f32x4.lt(x, k(MINUS_THREE)));
  return v128.bitselect(k(ONE), d, f32x4.gt(x, k(THREE)));
}

// Each function handles elements [blockStart·BLOCK, min(blockEnd·BLOCK, count)) of arrays of
// `count` elements, 4 at a time (callers pad buffers to a multiple of 4); threads take whole blocks.
export const BLOCK = 4096;

export function silu(x: usize, y: usize, count: i32, blockStart: i32, blockEnd: i32): void {
  let i = blockStart * BLOCK;
  const end = min(blockEnd * BLOCK, count);
  // Two vectors before either store (see expNegv).
  for (; i + 8 <= end; i += 8) {
    const at = <usize>i << 2;
    const a = siluv(v128.load(x + at)), b = siluv(v128.load(x + at, 16));
    v128.store(y + at, a);
    v128.store(y + at, b, 16);
  }
  for (; i < end; i += 4) v128.store(y + (<usize>i << 2), siluv(v128.load(x + (<usize>i << 2))));
}

export function siluGrad(x: usize, g: usize, dx: usize, count: i32, blockStart: i32, blockEnd: i32): void {
  let i = blockStart * BLOCK;
  const end = min(blockEnd * BLOCK, count);
  for (; i + 8 <= end; i += 8) {
    const at = <usize>i << 2;
    const a = siluGradv(v128.load(x + at)), b = siluGradv(v128.load(x + at, 16));
    v128.store(dx + at, f32x4.mul(v128.load(g + at), a));
    v128.store(dx + at, f32x4.mul(v128.load(g + at, 16), b), 16);
  }
  for (; i < end; i += 4) v128.store(dx + (<usize>i << 2), f32x4.mul(v128.load(g + (<usize>i << 2)), siluGradv(v128.load(x + (<usize>i << 2)))));
}

export function sigmoid(x: usize, y: usize, count: i32, blockStart: i32, blockEnd: i32): void {
  let i = blockStart * BLOCK;
  const end = min(blockEnd * BLOCK, count);
  for (; i + 8 <= end; i += 8) {
    const at = <usize>i << 2;
    const a = sigmoidv(v128.load(x + at)), b = sigmoidv(v128.load(x + at, 16));
    v128.store(y + at, a);
    v128.store(y + at, b, 16);
  }
  for (; i < end; i += 4) v128.store(y + (<usize>i << 2), sigmoidv(v128.load(x + (<usize>i << 2))));
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
