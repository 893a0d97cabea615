// Softmax and log-softmax along one axis of a float32 tensor seen as [outer, length, inner], and
// their backward passes. With inner = 1 each line is contiguous and runs in SIMD along its length;
// otherwise four neighbouring lines (consecutive inner positions) run side by side in the lanes.
// Threads split `outer`; every line is computed whole by one call, so the thread count does not
// change results. mode: 0 softmax, 1 log-softmax.
import { expv } from './activation';
import { horizontalSum, storeLanes } from './simd';

@inline function lane0(v: v128): f32 {
  return f32x4.extract_lane(v, 0);
}

@inline function horizontalMax(v: v128): f32 {
  return max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}

/** One contiguous line of `length`: y = softmax(x) or log-softmax(x). */
@inline function contiguousLine(x: usize, y: usize, length: i32, mode: i32): void {
  let mv = f32x4.splat(-Infinity);
  let k = 0;
  for (; k + 4 <= length; k += 4) mv = f32x4.max(mv, v128.load(x + (<usize>k << 2)));
  let m = horizontalMax(mv);
  for (; k < length; k++) m = max(m, load<f32>(x + (<usize>k << 2)));
  const msv = f32x4.splat(m);
  let sv = f32x4.splat(0);
  let total: f32 = 0;
  k = 0;
  for (; k + 4 <= length; k += 4) {
    const e = expv(f32x4.sub(v128.load(x + (<usize>k << 2)), msv));
    if (mode == 0) v128.store(y + (<usize>k << 2), e);
    sv = f32x4.add(sv, e);
  }
  for (; k < length; k++) {
    const e = lane0(expv(f32x4.splat(load<f32>(x + (<usize>k << 2)) - m)));
    if (mode == 0) store<f32>(y + (<usize>k << 2), e);
    total += e;
  }
  total += horizontalSum(sv);
  if (mode == 0) {
    const inv = f32x4.splat(<f32>1 / total);
    k = 0;
    for (; k + 4 <= length; k += 4) v128.store(y + (<usize>k << 2), f32x4.mul(v128.load(y + (<usize>k << 2)), inv));
    for (; k < length; k++) store<f32>(y + (<usize>k << 2), load<f32>(y + (<usize>k << 2)) / total);
    return;
  }
  const shift = f32x4.splat(m + <f32>Math.log(<f64>total));
  k = 0;
  for (; k + 4 <= length; k += 4) v128.store(y + (<usize>k << 2), f32x4.sub(v128.load(x + (<usize>k << 2)), shift));
  for (; k < length; k++) store<f32>(y + (<usize>k << 2), load<f32>(x + (<usize>k << 2)) - lane0(shift));
}

/**
 * Lines at inner positions i … i + lanes − 1 (lanes ≤ 4) of one outer block: element k of line i at
 * base + (k·inner + i)·4. Partial groups load and store lane by lane.
 */
@inline function loadLanes(at: usize, lanes: i32, fill: f32): v128 {
  if (lanes == 4) return v128.load(at);
  let v = f32x4.splat(fill);
  v = f32x4.replace_lane(v, 0, load<f32>(at));
  if (lanes > 1) v = f32x4.replace_lane(v, 1, load<f32>(at, 4));
  if (lanes > 2) v = f32x4.replace_lane(v, 2, load<f32>(at, 8));
  return v;
}

@inline function strideLines(x: usize, y: usize, length: i32, inner: i32, lanes: i32, mode: i32): void {
  const step = <usize>inner << 2;
  let mv = f32x4.splat(-Infinity);
  for (let k = 0; k < length; k++) mv = f32x4.max(mv, loadLanes(x + <usize>k * step, lanes, -Infinity));
  let sv = f32x4.splat(0);
  for (let k = 0; k < length; k++) {
    const e = expv(f32x4.sub(loadLanes(x + <usize>k * step, lanes, 0), mv));
    if (mode == 0) storeLanes(y + <usize>k * step, e, lanes);
    sv = f32x4.add(sv, e);
  }
  if (mode == 0) {
    const inv = f32x4.div(f32x4.splat(1), sv);
    for (let k = 0; k < length; k++) storeLanes(y + <usize>k * step, f32x4.mul(loadLanes(y + <usize>k * step, lanes, 0), inv), lanes);
    return;
  }
  const shift = f32x4.add(mv, logv(sv));
  for (let k = 0; k < length; k++) storeLanes(y + <usize>k * step, f32x4.sub(loadLanes(x + <usize>k * step, lanes, 0), shift), lanes);
}

/** Natural log lane by lane (four calls; it runs once per line). */
@inline function logv(v: v128): v128 {
  let r = f32x4.splat(<f32>Math.log(<f64>f32x4.extract_lane(v, 0)));
  r = f32x4.replace_lane(r, 1, <f32>Math.log(<f64>f32x4.extract_lane(v, 1)));
  r = f32x4.replace_lane(r, 2, <f32>Math.log(<f64>f32x4.extract_lane(v, 2)));
  return f32x4.replace_lane(r, 3, <f32>Math.log(<f64>f32x4.extract_lane(v, 3)));
}

export function softmax(x: usize, y: usize, length: i32, inner: i32, mode: i32, outerStart: i32, outerEnd: i32): void {
  const blockBytes = <usize>length * <usize>inner << 2;
  for (let o = outerStart; o < outerEnd; o++) {
    const xb = x + <usize>o * blockBytes;
    const yb = y + <usize>o * blockBytes;
    if (inner == 1) {
      contiguousLine(xb, yb, length, mode);
      continue;
    }
    for (let i = 0; i < inner; i += 4) strideLines(xb + (<usize>i << 2), yb + (<usize>i << 2), length, inner, min(4, inner - i), mode);
  }
}

/** One contiguous line's backward (see softmaxGrad). */
@inline function contiguousGrad(y: usize, g: usize, dx: usize, length: i32, mode: i32): void {
  let dv = f32x4.splat(0);
  let k = 0;
  for (; k + 4 <= length; k += 4) {
    const gv = v128.load(g + (<usize>k << 2));
    dv = f32x4.add(dv, mode == 0 ? f32x4.mul(gv, v128.load(y + (<usize>k << 2))) : gv);
  }
  let dot = horizontalSum(dv);
  for (; k < length; k++) {
    const gk = load<f32>(g + (<usize>k << 2));
    dot += mode == 0 ? gk * load<f32>(y + (<usize>k << 2)) : gk;
  }
  const dotv = f32x4.splat(dot);
  k = 0;
  for (; k + 4 <= length; k += 4) {
    const at = <usize>k << 2;
    v128.store(dx + at, gradient(v128.load(y + at), v128.load(g + at), dotv, mode));
  }
  for (; k < length; k++) {
    const at = <usize>k << 2;
    store<f32>(dx + at, lane0(gradient(f32x4.splat(load<f32>(y + at)), f32x4.splat(load<f32>(g + at)), dotv, mode)));
  }
}

/** softmax: y·(g − Σ g·y); log-softmax: g − exp(y)·Σ g. */
@inline function gradient(yv: v128, gv: v128, dot: v128, mode: i32): v128 {
  return mode == 0 ? f32x4.mul(yv, f32x4.sub(gv, dot)) : f32x4.sub(gv, f32x4.mul(expv(yv), dot));
}

/** Backward, from the forward's output y and the gradient g (see `gradient`). */
export function softmaxGrad(y: usize, g: usize, dx: usize, length: i32, inner: i32, mode: i32, outerStart: i32, outerEnd: i32): void {
  const blockBytes = <usize>length * <usize>inner << 2;
  const step = <usize>inner << 2;
  for (let o = outerStart; o < outerEnd; o++) {
    const base = <usize>o * blockBytes;
    if (inner == 1) {
      contiguousGrad(y + base, g + base, dx + base, length, mode);
      continue;
    }
    for (let i = 0; i < inner; i += 4) {
      const lanes = min(4, inner - i);
      const at = base + (<usize>i << 2);
      let dot = f32x4.splat(0);
      for (let k = 0; k < length; k++) {
        const off = at + <usize>k * step;
        const gv = loadLanes(g + off, lanes, 0);
        dot = f32x4.add(dot, mode == 0 ? f32x4.mul(gv, loadLanes(y + off, lanes, 0)) : gv);
      }
      for (let k = 0; k < length; k++) {
        const off = at + <usize>k * step;
        storeLanes(dx + off, gradient(loadLanes(y + off, lanes, 0), loadLanes(g + off, lanes, 0), dot, mode), lanes);
      }
    }
  }
}
