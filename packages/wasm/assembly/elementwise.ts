// Elementwise arithmetic on two float32 arrays of the same length (no broadcasting: the caller's
// guard sends anything else to the reference kernels). op: 0 add, 1 subtract, 2 multiply.

export function binaryArrays(a: usize, b: usize, y: usize, count: i32, op: i32): void {
  let i = 0;
  for (; i + 4 <= count; i += 4) {
    const at = <usize>i << 2;
    const x = v128.load(a + at);
    const z = v128.load(b + at);
    v128.store(y + at, op == 0 ? f32x4.add(x, z) : op == 1 ? f32x4.sub(x, z) : f32x4.mul(x, z));
  }
  for (; i < count; i++) {
    const at = <usize>i << 2;
    const x = load<f32>(a + at);
    const z = load<f32>(b + at);
    store<f32>(y + at, op == 0 ? x + z : op == 1 ? x - z : x * z);
  }
}
