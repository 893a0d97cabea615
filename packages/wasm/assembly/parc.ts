// The ParC circular convolution (spec §2.1 step 3) on float32 [N·C] planes of H × W, kernel [C, n]
// (n = H for axis H, W for axis W), not centred: tap k reads position (i + k) mod n.
// Every inner loop runs over a contiguous segment in SIMD: along H whole rows, along W the two
// pieces of a row split at the wrap.

@inline function axpy(dst: usize, src: usize, a: f32, length: i32): void {
  const av = f32x4.splat(a);
  let t = 0;
  for (; t + 4 <= length; t += 4) {
    const at = dst + (<usize>t << 2);
    v128.store(at, f32x4.add(v128.load(at), f32x4.mul(av, v128.load(src + (<usize>t << 2)))));
  }
  for (; t < length; t++) {
    const at = dst + (<usize>t << 2);
    store<f32>(at, load<f32>(at) + a * load<f32>(src + (<usize>t << 2)));
  }
}

@inline function dot(a: usize, b: usize, length: i32): f32 {
  let acc = f32x4.splat(0);
  let t = 0;
  for (; t + 4 <= length; t += 4) acc = f32x4.add(acc, f32x4.mul(v128.load(a + (<usize>t << 2)), v128.load(b + (<usize>t << 2))));
  let s = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
  for (; t < length; t++) s += load<f32>(a + (<usize>t << 2)) * load<f32>(b + (<usize>t << 2));
  return s;
}

/** y (zeroed) = ParC(x) for planes [planeStart, planeEnd). */
export function parcConv(x: usize, kernel: usize, y: usize, c: i32, h: i32, w: i32, axisH: i32, planeStart: i32, planeEnd: i32): void {
  const planeBytes = <usize>h * <usize>w << 2;
  for (let plane = planeStart; plane < planeEnd; plane++) {
    const ch = plane % c;
    const xp = x + <usize>plane * planeBytes;
    const yp = y + <usize>plane * planeBytes;
    if (axisH) {
      const kp = kernel + (<usize>ch * <usize>h << 2);
      for (let i = 0; i < h; i++) {
        for (let k = 0; k < h; k++) {
          const src = i + k < h ? i + k : i + k - h;
          axpy(yp + (<usize>i * <usize>w << 2), xp + (<usize>src * <usize>w << 2), load<f32>(kp + (<usize>k << 2)), w);
        }
      }
    } else {
      const kp = kernel + (<usize>ch * <usize>w << 2);
      for (let i = 0; i < h; i++) {
        const yr = yp + (<usize>i * <usize>w << 2);
        const xr = xp + (<usize>i * <usize>w << 2);
        for (let k = 0; k < w; k++) {
          const wk = load<f32>(kp + (<usize>k << 2));
          axpy(yr, xr + (<usize>k << 2), wk, w - k);
          axpy(yr + (<usize>(w - k) << 2), xr, wk, k);
        }
      }
    }
  }
}

/** dx (zeroed) = the transposed ParC of dy, for planes [planeStart, planeEnd). */
export function parcConvBackpropInput(dy: usize, kernel: usize, dx: usize, c: i32, h: i32, w: i32, axisH: i32, planeStart: i32, planeEnd: i32): void {
  const planeBytes = <usize>h * <usize>w << 2;
  for (let plane = planeStart; plane < planeEnd; plane++) {
    const ch = plane % c;
    const gp = dy + <usize>plane * planeBytes;
    const dp = dx + <usize>plane * planeBytes;
    if (axisH) {
      const kp = kernel + (<usize>ch * <usize>h << 2);
      for (let i = 0; i < h; i++) {
        for (let k = 0; k < h; k++) {
          const src = i + k < h ? i + k : i + k - h;
          axpy(dp + (<usize>src * <usize>w << 2), gp + (<usize>i * <usize>w << 2), load<f32>(kp + (<usize>k << 2)), w);
        }
      }
    } else {
      const kp = kernel + (<usize>ch * <usize>w << 2);
      for (let i = 0; i < h; i++) {
        const gr = gp + (<usize>i * <usize>w << 2);
        const dr = dp + (<usize>i * <usize>w << 2);
        for (let k = 0; k < w; k++) {
          const wk = load<f32>(kp + (<usize>k << 2));
          axpy(dr + (<usize>k << 2), gr, wk, w - k);
          axpy(dr, gr + (<usize>(w - k) << 2), wk, k);
        }
      }
    }
  }
}

/** dk[c, k] = Σ_{images, i, j} dy · x shifted by k, for channels [chStart, chEnd) (each channel summed here alone). */
export function parcConvBackpropKernel(x: usize, dy: usize, dk: usize, n: i32, c: i32, h: i32, w: i32, axisH: i32, chStart: i32, chEnd: i32): void {
  const planeBytes = <usize>h * <usize>w << 2;
  const len = axisH ? h : w;
  for (let ch = chStart; ch < chEnd; ch++) {
    for (let k = 0; k < len; k++) {
      let s: f32 = 0;
      for (let img = 0; img < n; img++) {
        const plane = <usize>(img * c + ch);
        const xp = x + plane * planeBytes;
        const gp = dy + plane * planeBytes;
        if (axisH) {
          for (let i = 0; i < h; i++) {
            const src = i + k < h ? i + k : i + k - h;
            s += dot(gp + (<usize>i * <usize>w << 2), xp + (<usize>src * <usize>w << 2), w);
          }
        } else {
          for (let i = 0; i < h; i++) {
            const gr = gp + (<usize>i * <usize>w << 2);
            const xr = xp + (<usize>i * <usize>w << 2);
            s += dot(gr, xr + (<usize>k << 2), w - k) + dot(gr + (<usize>(w - k) << 2), xr, k);
          }
        }
      }
      store<f32>(dk + ((<usize>ch * <usize>len + <usize>k) << 2), s);
    }
  }
}
