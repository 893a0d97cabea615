// Random masks drawn from the Generator's xoshiro128** stream (packages/tensor/src/random.ts),
// bit for bit: the state words come in at `state` and the advanced ones go back there. One stream is
// one sequence of draws, so these kernels run on the calling thread only.

/**
 * Dropout's mask: y[i] = scale if the i-th draw (u32) is below keepBelow, else 0. keepBelow is an
 * integer in [0, 2³²] (an f64: 2³² keeps everything and has no u32); `state`: 4 × u32, s0…s3.
 *
 * Speed: the state transition is a serial chain, about 1.3 ns a draw on a 2.1 GHz Xeon (2.8 cycles),
 * and a plain loop with a select per element took 3.5 ns; so the draws are taken four at a time
 * and compared, masked and stored as one vector, which brings the whole kernel to the chain's pace.
 */
export function dropoutMask(y: usize, count: i32, keepBelow: f64, scale: f32, state: usize): void {
  let s0 = load<u32>(state);
  let s1 = load<u32>(state, 4);
  let s2 = load<u32>(state, 8);
  let s3 = load<u32>(state, 12);
  const below = <u32>min<f64>(keepBelow, 4294967295);
  const all: u32 = keepBelow > 4294967295 ? 0xffffffff : 0;
  const bits = reinterpret<u32>(scale);
  const belowV = i32x4.splat(below);
  const allV = i32x4.splat(all);
  const bitsV = i32x4.splat(bits);
  let i = 0;
  // Each step is Generator.nextUint32: draw = rotl(s1 · 5, 7) · 9, then the xoshiro128 transition.
  for (; i + 4 <= count; i += 4) {
    const d0 = rotl<u32>(s1 * 5, 7) * 9;
    let t = s1 << 9;
    s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = rotl<u32>(s3, 11);
    const d1 = rotl<u32>(s1 * 5, 7) * 9;
    t = s1 << 9;
    s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = rotl<u32>(s3, 11);
    const d2 = rotl<u32>(s1 * 5, 7) * 9;
    t = s1 << 9;
    s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = rotl<u32>(s3, 11);
    const d3 = rotl<u32>(s1 * 5, 7) * 9;
    t = s1 << 9;
    s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = rotl<u32>(s3, 11);
    const keep = v128.or(i32x4.lt_u(i32x4(d0, d1, d2, d3), belowV), allV);
    v128.store(y + (<usize>i << 2), v128.and(keep, bitsV));
  }
  for (; i < count; i++) {
    const draw = rotl<u32>(s1 * 5, 7) * 9;
    const t = s1 << 9;
    s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = rotl<u32>(s3, 11);
    store<u32>(y + (<usize>i << 2), bits & ((draw < below ? 0xffffffff : 0) | all));
  }
  store<u32>(state, s0);
  store<u32>(state, s1, 4);
  store<u32>(state, s2, 8);
  store<u32>(state, s3, 12);
}
