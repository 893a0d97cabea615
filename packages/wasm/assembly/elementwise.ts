// Elementwise arithmetic on two float32 arrays of the same length (no broadcasting: the caller's
// guard sends anything else to the reference kernels). op: 0 add, 1 subtract, 2 multiply. Threads
// take whole blocks of elements, as the activations (activation.ts).
import { BLOCK } from './activation';

export function binaryArrays(a: usize, b: usize, y: usize, count: i32, op: i32, blockStart: i32, blockEnd: i32): void {
  const end = min(blockEnd * BLOCK, count);
  let i = blockStart * BLOCK;
  for (; i + 4 <= end; i += 4) {
    const at = <usize>i << 2;
    const x = v128.load(a + at);
    const z = v128.load(b + at);
    v128.store(y + at, op == 0 ? f32x4.add(x, z) : op == 1 ? f32x4.sub(x, z) : f32x4.mul(x, z));
  }
  for (; i < end; i++) {
    const at = <usize>i << 2;
    const x = load<f32>(a + at);
    const z = load<f32>(b + at);
    store<f32>(y + at, op == 0 ? x + z : op == 1 ? x - z : x * z);
  }
}

/** op (as binaryArrays) on one float32 pair. */
@inline function apply(x: f32, z: f32, op: i32): f32 {
  return op == 0 ? x + z : op == 1 ? x - z : x * z;
}

@inline function applyv(x: v128, z: v128, op: i32): v128 {
  return op == 0 ? f32x4.add(x, z) : op == 1 ? f32x4.sub(x, z) : f32x4.mul(x, z);
}

/**
 * y = a op b over a [s0, s1, s2, s3] index space, a and b strided views (element strides, any sign;
 * 0 where an operand is broadcast) and y row-major: the expanded operands of a broadcast, or a
 * slice, read in place where a copy to row-major order would cost a pass of its own. Rows are the
 * s0·s1·s2 index triples, taken in blocks of `rowsPerBlock` ([blockStart, blockEnd)); along a row,
 * a unit or zero stride is read in vectors (a zero stride as one value in every lane).
 */
export function binaryStrided(
  a: usize, b: usize, y: usize, op: i32, s0: i32, s1: i32, s2: i32, s3: i32,
  a0: i32, a1: i32, a2: i32, a3: i32, b0: i32, b1: i32, b2: i32, b3: i32, rowsPerBlock: i32, blockStart: i32, blockEnd: i32,
): void {
  const rowStart = blockStart * rowsPerBlock;
  const rowEnd = min(blockEnd * rowsPerBlock, s0 * s1 * s2);
  let i2 = rowStart % s2, i1 = (rowStart / s2) % s1, i0 = rowStart / s2 / s1;
  for (let r = rowStart; r < rowEnd; r++) {
    // Element offsets may be negative (a flipped view); the pointer arithmetic wraps as it should.
    const ap = a + (<usize>(i0 * a0 + i1 * a1 + i2 * a2) << 2);
    const bp = b + (<usize>(i0 * b0 + i1 * b1 + i2 * b2) << 2);
    const yp = y + (<usize>(r * s3) << 2);
    let t = 0;
    if (a3 == 1 && b3 == 1) {
      for (; t + 4 <= s3; t += 4) v128.store(yp + (<usize>t << 2), applyv(v128.load(ap + (<usize>t << 2)), v128.load(bp + (<usize>t << 2)), op));
    } else if (a3 == 1 && b3 == 0) {
      const z = v128.load32_splat(bp);
      for (; t + 4 <= s3; t += 4) v128.store(yp + (<usize>t << 2), applyv(v128.load(ap + (<usize>t << 2)), z, op));
    } else if (a3 == 0 && b3 == 1) {
      const x = v128.load32_splat(ap);
      for (; t + 4 <= s3; t += 4) v128.store(yp + (<usize>t << 2), applyv(x, v128.load(bp + (<usize>t << 2)), op));
    }
    for (; t < s3; t++) store<f32>(yp + (<usize>t << 2), apply(load<f32>(ap + (<usize>(t * a3) << 2)), load<f32>(bp + (<usize>(t * b3) << 2)), op));
    if (++i2 == s2) {
      i2 = 0;
      if (++i1 == s1) {
        i1 = 0;
        i0++;
      }
    }
  }
}

/**
 * Copies between a strided float32 view and a row-major array: array[i0…i5] = view[Σ ik·tk]
 * (gather), or with `intoView` the other way (element strides, possibly negative, shapes padded to
 * 6 dimensions with size 1). A unit innermost stride is one memory.copy per row.
 */
export function copyView(view: usize, array: usize, s0: i32, s1: i32, s2: i32, s3: i32, s4: i32, s5: i32, t0: i32, t1: i32, t2: i32, t3: i32, t4: i32, t5: i32, intoView: bool): void {
  let packed = array;
  const rowBytes = <usize>s5 << 2;
  for (let i0 = 0; i0 < s0; i0++) {
    for (let i1 = 0; i1 < s1; i1++) {
      for (let i2 = 0; i2 < s2; i2++) {
        for (let i3 = 0; i3 < s3; i3++) {
          for (let i4 = 0; i4 < s4; i4++) {
            const row = view + (<usize>(i0 * t0 + i1 * t1 + i2 * t2 + i3 * t3 + i4 * t4) << 2);
            if (t5 == 1) {
              if (intoView) memory.copy(row, packed, rowBytes);
              else memory.copy(packed, row, rowBytes);
              packed += rowBytes;
              continue;
            }
            for (let i5 = 0; i5 < s5; i5++) {
              const at = row + (<usize>(i5 * t5) << 2);
              if (intoView) store<f32>(at, load<f32>(packed));
              else store<f32>(packed, load<f32>(at));
              packed += 4;
            }
          }
        }
      }
    }
  }
}

// A slice's gradient and a concatenation, over [outer, ·, inner] (the dims before the axis, the axis,
// the dims after it, all row-major): threads take blocks of the outer index, which for an NCHW
// tensor cut along its channels is the image, so each core writes the images it will read next.

/**
 * out [outer, size, inner] = zeros, with g [outer, length, inner] at positions start, start + step, …
 * of the middle axis, for outer indices [outerStart, outerEnd). With step 1 the slice is one block
 * of each outer row, copied whole between two fills.
 */
export function sliceGrad(g: usize, out: usize, size: i32, inner: i32, start: i32, step: i32, length: i32, outerStart: i32, outerEnd: i32): void {
  const rowBytes = <usize>inner << 2;
  for (let o = outerStart; o < outerEnd; o++) {
    const dst = out + <usize>o * <usize>size * rowBytes;
    const src = g + <usize>o * <usize>length * rowBytes;
    if (step == 1) {
      memory.fill(dst, 0, <usize>start * rowBytes);
      memory.copy(dst + <usize>start * rowBytes, src, <usize>length * rowBytes);
      memory.fill(dst + <usize>(start + length) * rowBytes, 0, <usize>(size - start - length) * rowBytes);
      continue;
    }
    for (let a = 0; a < size; a++) {
      const rel = a - start;
      const row = dst + <usize>a * rowBytes;
      if (rel >= 0 && rel % step == 0 && rel / step < length) memory.copy(row, src + <usize>(rel / step) * rowBytes, rowBytes);
      else memory.fill(row, 0, rowBytes);
    }
  }
}

/**
 * out [outer, total, inner] = the inputs [outer, size_k, inner] one after the other along the middle
 * axis, for outer indices [outerStart, outerEnd); `table` holds `count` rows of (address, size_k) as
 * i32 pairs.
 */
export function concatRows(table: usize, count: i32, out: usize, total: i32, inner: i32, outerStart: i32, outerEnd: i32): void {
  const rowBytes = <usize>inner << 2;
  for (let o = outerStart; o < outerEnd; o++) {
    let dst = out + <usize>o * <usize>total * rowBytes;
    for (let k = 0; k < count; k++) {
      const bytes = <usize>load<i32>(table + (<usize>k << 3), 4) * rowBytes;
      memory.copy(dst, <usize>load<u32>(table + (<usize>k << 3)) + <usize>o * bytes, bytes);
      dst += bytes;
    }
  }
}

/**
 * Zeros `bytes` bytes at `at`. The host's TypedArray fill on the shared memory stores element by
 * element (a relaxed atomic each): 0.51 ms for 8 MB, where this takes 0.07.
 */
export function zeroBytes(at: usize, bytes: usize): void {
  memory.fill(at, 0, bytes);
}
