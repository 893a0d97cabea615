// Bilinear resize of float32 [N·C] planes H × W → Ho × Wo and its adjoint. The taps (two source
// positions and two weights per output row and column) come from the caller, computed by the same
// function as the reference kernel's (bilinearTaps in @parcnet/tensor): rows at `rowTaps`, columns
// at `colTaps`, each tap 24 bytes: i0, i1 (i32), w0, w1 (f64). Arithmetic in float64, as the reference's.

const TAP_BYTES: usize = 24;

@inline function tapIndex(taps: usize, o: i32, which: i32): i32 {
  return load<i32>(taps + <usize>o * TAP_BYTES + (<usize>which << 2));
}

@inline function tapWeight(taps: usize, o: i32, which: i32): f64 {
  return load<f64>(taps + <usize>o * TAP_BYTES + 8 + (<usize>which << 3));
}

/**
 * One walk over the outputs and their taps for both directions: `adjoint` 0 computes the resized
 * image y from x; `adjoint` 1 adds each output gradient (in y) to its four source positions in dx
 * (in x, zeroed). Planes [planeStart, planeEnd).
 */
function resizeWalk(x: usize, y: usize, h: i32, w: i32, ho: i32, wo: i32, rowTaps: usize, colTaps: usize, adjoint: bool, planeStart: i32, planeEnd: i32): void {
  for (let plane = planeStart; plane < planeEnd; plane++) {
    const image = x + (<usize>plane * <usize>h * <usize>w << 2);
    let resized = y + (<usize>plane * <usize>ho * <usize>wo << 2);
    for (let oy = 0; oy < ho; oy++) {
      const top = image + (<usize>tapIndex(rowTaps, oy, 0) * <usize>w << 2);
      const bottom = image + (<usize>tapIndex(rowTaps, oy, 1) * <usize>w << 2);
      const r0 = tapWeight(rowTaps, oy, 0);
      const r1 = tapWeight(rowTaps, oy, 1);
      for (let ox = 0; ox < wo; ox++) {
        const left = <usize>tapIndex(colTaps, ox, 0) << 2;
        const right = <usize>tapIndex(colTaps, ox, 1) << 2;
        const q0 = tapWeight(colTaps, ox, 0);
        const q1 = tapWeight(colTaps, ox, 1);
        if (adjoint) {
          const v = <f64>load<f32>(resized);
          addAt(top + left, r0 * q0 * v);
          addAt(top + right, r0 * q1 * v);
          addAt(bottom + left, r1 * q0 * v);
          addAt(bottom + right, r1 * q1 * v);
        } else {
          const v = r0 * (q0 * <f64>load<f32>(top + left) + q1 * <f64>load<f32>(top + right)) +
            r1 * (q0 * <f64>load<f32>(bottom + left) + q1 * <f64>load<f32>(bottom + right));
          store<f32>(resized, <f32>v);
        }
        resized += 4;
      }
    }
  }
}

@inline function addAt(at: usize, v: f64): void {
  store<f32>(at, <f32>(<f64>load<f32>(at) + v));
}

export function resizeBilinear(x: usize, y: usize, h: i32, w: i32, ho: i32, wo: i32, rowTaps: usize, colTaps: usize, planeStart: i32, planeEnd: i32): void {
  resizeWalk(x, y, h, w, ho, wo, rowTaps, colTaps, false, planeStart, planeEnd);
}

export function resizeBilinearGrad(g: usize, dx: usize, h: i32, w: i32, ho: i32, wo: i32, rowTaps: usize, colTaps: usize, planeStart: i32, planeEnd: i32): void {
  resizeWalk(dx, g, h, w, ho, wo, rowTaps, colTaps, true, planeStart, planeEnd);
}
