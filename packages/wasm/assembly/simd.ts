// Fused multiply-adds where the engine has relaxed SIMD (the -relaxed builds: build.mjs; Node 20
// enables it behind a V8 flag, see platform.node.ts), a multiply then an add elsewhere. The fused
// form rounds once instead of twice, so the two builds differ in the last bits.

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

