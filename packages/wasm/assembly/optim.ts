// The optimisers' update rules over float32 parameters (src/optim.ts registers them).

/**
 * One Adam / AdamW step of `count` float32 weights, in place: p (the parameter), g (its gradient),
 * m and v (its moments). The AdamStep kernel's rule in its order of operations (packages/tensor's
 * kernel-names.ts; the reference is kernels/reference/optim.ts), computed in float32 as PyTorch does
 * for float32 tensors: every operation rounds, where the reference rounds only what it stores, so
 * the two differ by float32 rounding. The scalars are rounded to float32 once, here. Plain
 * multiplies and adds, no fused multiply-add (so the relaxed build gives the same bits), and the
 * tail's scalar operations are the lanes' own, so an element's result does not depend on where it
 * falls.
 *
 * Speed: one square root and two divisions per vector bound it (the divider is the busiest unit):
 * about 1 ns a weight on a 2.1 GHz Xeon, 1.5 ms for ParC-Net-XS's 1.55 M. The same rule in float64
 * lanes, which would give the reference's bits, took 3 ns (4.7 ms): two lanes per division, not four.
 */
export function adamStep(
  p: usize, g: usize, m: usize, v: usize, count: i32,
  beta1: f64, beta2: f64, eps: f64, stepSize: f64, biasCorrection2Sqrt: f64, decay: f64, l2: f64,
): void {
  const b1 = <f32>beta1;
  const b2 = <f32>beta2;
  const gain1 = <f32>(1 - beta1);
  const gain2 = <f32>(1 - beta2);
  const epsilon = <f32>eps;
  const size = <f32>stepSize;
  const correction = <f32>biasCorrection2Sqrt;
  const factor = <f32>decay;
  const penalty = <f32>l2;
  const b1V = f32x4.splat(b1);
  const b2V = f32x4.splat(b2);
  const gain1V = f32x4.splat(gain1);
  const gain2V = f32x4.splat(gain2);
  const epsilonV = f32x4.splat(epsilon);
  const sizeV = f32x4.splat(size);
  const correctionV = f32x4.splat(correction);
  const factorV = f32x4.splat(factor);
  const penaltyV = f32x4.splat(penalty);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const at = <usize>i << 2;
    const pi = f32x4.mul(v128.load(p + at), factorV);
    const gi = f32x4.add(v128.load(g + at), f32x4.mul(penaltyV, pi));
    const mi = f32x4.add(f32x4.mul(b1V, v128.load(m + at)), f32x4.mul(gain1V, gi));
    const vi = f32x4.add(f32x4.mul(b2V, v128.load(v + at)), f32x4.mul(f32x4.mul(gain2V, gi), gi));
    v128.store(m + at, mi);
    v128.store(v + at, vi);
    const denominator = f32x4.add(f32x4.div(f32x4.sqrt(vi), correctionV), epsilonV);
    v128.store(p + at, f32x4.sub(pi, f32x4.div(f32x4.mul(sizeV, mi), denominator)));
  }
  for (; i < count; i++) {
    const at = <usize>i << 2;
    const pi = load<f32>(p + at) * factor;
    const gi = load<f32>(g + at) + penalty * pi;
    const mi = b1 * load<f32>(m + at) + gain1 * gi;
    const vi = b2 * load<f32>(v + at) + gain2 * gi * gi;
    store<f32>(m + at, mi);
    store<f32>(v + at, vi);
    store<f32>(p + at, pi - (size * mi) / (Mathf.sqrt(vi) / correction + epsilon));
  }
}
