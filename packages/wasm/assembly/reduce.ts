// Sums of a float32 tensor seen as [A, K, M, J, B] over A, M and B, keeping K and J (a bias gradient
// [N, C, H, W] → [C], a broadcast's gradient [N, C, H, W] → [N, C, 1, 1] or [1, C, 1, W], a total).
// Sums run in float64, as the reference kernel's. Threads split K; each output is summed whole by
// one call in a fixed order.
import { addWidened, horizontalSum, sumF64Lanes } from './simd';

/** A contiguous run's sum in float64, four float32 lanes at a time. */
@inline export function runSum(src: usize, count: i32): f64 {
  let acc = f64x2.splat(0);
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const v = v128.load(src + (<usize>i << 2));
    acc = addWidened(acc, v);
  }
  let total = sumF64Lanes(acc);
  for (; i < count; i++) total += <f64>load<f32>(src + (<usize>i << 2));
  return total;
}

/**
 * y[k] = Σ_a Σ_b x[a, k, b] for k in [kStart, kEnd). With B = 1 the rows of x are walked in order
 * (k innermost), accumulating in the float64 scratch `acc` (K entries), so memory is read straight
 * through rather than K floats apart.
 */
export function sumReduce(x: usize, y: usize, acc: usize, a: i32, k: i32, b: i32, kStart: i32, kEnd: i32): void {
  if (b == 1) {
    for (let j = kStart; j < kEnd; j++) store<f64>(acc + (<usize>j << 3), 0);
    for (let i = 0; i < a; i++) {
      const row = x + (<usize>i * <usize>k << 2);
      for (let j = kStart; j < kEnd; j++) {
        const at = acc + (<usize>j << 3);
        store<f64>(at, load<f64>(at) + <f64>load<f32>(row + (<usize>j << 2)));
      }
    }
    for (let j = kStart; j < kEnd; j++) store<f32>(y + (<usize>j << 2), <f32>load<f64>(acc + (<usize>j << 3)));
    return;
  }
  for (let j = kStart; j < kEnd; j++) {
    let total: f64 = 0;
    for (let i = 0; i < a; i++) total += runSum(x + ((<usize>i * <usize>k + <usize>j) * <usize>b << 2), b);
    store<f32>(y + (<usize>j << 2), <f32>total);
  }
}

/**
 * y[k, j] = Σ_a Σ_m Σ_b x[a, k, m, j, b] for k in [kStart, kEnd): two kept blocks with a reduced one
 * between them (sumReduce is the case M = J = 1). With B = 1 each (a, k, m) row of J floats is added
 * into the float64 scratch `acc` (K·J entries), so memory is read straight through.
 */
export function sumReduceSplit(x: usize, y: usize, acc: usize, a: i32, k: i32, m: i32, j: i32, b: i32, kStart: i32, kEnd: i32): void {
  for (let kk = kStart; kk < kEnd; kk++) {
    const out = acc + (<usize>kk * <usize>j << 3);
    if (b == 1) {
      for (let jj = 0; jj < j; jj++) store<f64>(out + (<usize>jj << 3), 0);
      for (let i = 0; i < a; i++) {
        for (let mm = 0; mm < m; mm++) {
          const row = x + ((<usize>(i * k + kk) * <usize>m + <usize>mm) * <usize>j << 2);
          for (let jj = 0; jj < j; jj++) {
            const at = out + (<usize>jj << 3);
            store<f64>(at, load<f64>(at) + <f64>load<f32>(row + (<usize>jj << 2)));
          }
        }
      }
    } else {
      for (let jj = 0; jj < j; jj++) {
        let total: f64 = 0;
        for (let i = 0; i < a; i++) {
          for (let mm = 0; mm < m; mm++) total += runSum(x + ((((<usize>(i * k + kk) * <usize>m + <usize>mm) * <usize>j + <usize>jj) * <usize>b) << 2), b);
        }
        store<f64>(out + (<usize>jj << 3), total);
      }
    }
    for (let jj = 0; jj < j; jj++) store<f32>(y + ((<usize>kk * <usize>j + <usize>jj) << 2), <f32>load<f64>(out + (<usize>jj << 3)));
  }
}

/**
 * dst[e] = the horizontal sum of partials[slice][e] added in slice order, for e < count: partials
 * holds `slices` rows of `count` f32x4 sums (16 bytes each). The second step of the kernel
 * gradients summed over fixed slices of the batch (depthwise3x3BackpropFilterSlices,
 * parcConvBackpropKernelSlices): the order is the slices', whichever threads ran them.
 */
export function sliceTotals(partials: usize, slices: i32, count: i32, dst: usize): void {
  const perSlice = <usize>count << 4;
  for (let e = 0; e < count; e++) {
    let v = v128.load(partials + (<usize>e << 4));
    for (let slice = 1; slice < slices; slice++) v = f32x4.add(v, v128.load(partials + <usize>slice * perSlice + (<usize>e << 4)));
    store<f32>(dst + (<usize>e << 2), horizontalSum(v));
  }
}
