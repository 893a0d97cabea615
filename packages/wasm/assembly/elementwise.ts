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

/**
 * Copies a strided float32 view into a row-major array: dst[i0…i5] = src[Σ ik·tk] (element strides,
 * possibly negative, shapes padded to 6 dimensions with size 1). A unit innermost stride is one
 * memory.copy per row.
 */
export function gather(src: usize, dst: usize, s0: i32, s1: i32, s2: i32, s3: i32, s4: i32, s5: i32, t0: i32, t1: i32, t2: i32, t3: i32, t4: i32, t5: i32): void {
  let out = dst;
  const rowBytes = <usize>s5 << 2;
  for (let i0 = 0; i0 < s0; i0++) {
    for (let i1 = 0; i1 < s1; i1++) {
      for (let i2 = 0; i2 < s2; i2++) {
        for (let i3 = 0; i3 < s3; i3++) {
          for (let i4 = 0; i4 < s4; i4++) {
            const row = i0 * t0 + i1 * t1 + i2 * t2 + i3 * t3 + i4 * t4;
            if (t5 == 1) {
              memory.copy(out, src + (<usize>row << 2), rowBytes);
              out += rowBytes;
            } else {
              for (let i5 = 0; i5 < s5; i5++) {
                store<f32>(out, load<f32>(src + (<usize>(row + i5 * t5) << 2)));
                out += 4;
              }
            }
          }
        }
      }
    }
  }
}
