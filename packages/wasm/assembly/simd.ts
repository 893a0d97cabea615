// Vector helpers the kernels share. madd / nmadd: fused multiply-adds where the engine has relaxed
// SIMD (the -relaxed builds: build.mjs; Node 20 enables it behind a V8 flag, see platform.node.ts),
// a multiply then an add elsewhere; the fused form rounds once instead of twice, so the two builds
// differ in the last bits.

/** a·b + c per lane. */
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

/** c − a·b per lane. */
@inline export function nmadd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_nmadd(a, b, c);
  return f32x4.sub(c, f32x4.mul(a, b));
}


/** Lanes 0 + 1 + 2 + 3 of a float32 vector, in that order. */
@inline export function horizontalSum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

/** acc (two float64 lanes) + the four float32 lanes of v widened: lanes 0 + 2 and 1 + 3. */
@inline export function addWidened(acc: v128, v: v128): v128 {
  return f64x2.add(acc, f64x2.add(f64x2.promote_low_f32x4(v), f64x2.promote_low_f32x4(i32x4.shuffle(v, v, 2, 3, 0, 1))));
}

/** Lane 0 + lane 1 of a float64 vector. */
@inline export function sumF64Lanes(a: v128): f64 {
  return f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1);
}

/** Stores lanes 0 … count − 1 of v (count ≥ 1; 4 or more stores the whole vector). */
@inline export function storeLanes(at: usize, v: v128, count: i32): void {
  if (count >= 4) {
    v128.store(at, v);
    return;
  }
  store<f32>(at, f32x4.extract_lane(v, 0));
  if (count > 1) store<f32>(at, f32x4.extract_lane(v, 1), 4);
  if (count > 2) store<f32>(at, f32x4.extract_lane(v, 2), 8);
}

/**
 * Copies `count` floats, four at a time then one by one: for the short rows and planes the depthwise
 * and ParC kernels copy into scratch (8 to 256 bytes), where memory.copy is a call into the engine
 * each time.
 */
@inline export function copyFloats(dst: usize, src: usize, count: i32): void {
  let i = 0;
  for (; i + 4 <= count; i += 4) v128.store(dst + (<usize>i << 2), v128.load(src + (<usize>i << 2)));
  for (; i < count; i++) store<f32>(dst + (<usize>i << 2), load<f32>(src + (<usize>i << 2)));
}
