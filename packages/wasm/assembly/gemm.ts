// GEMM on float32 in linear memory: c[M,N] += a · b, where b is row-major [K, N] and a is read
// through strides: a(i, p) = a[i·aRow + p·aCol] (aRow = K, aCol = 1 for row-major A; aRow = 1,
// aCol = M for Aᵀ stored [K, M]). The 4×8 register tile keeps 8 SIMD accumulators: each b row
// segment is loaded once per 4 rows of c. Pointers are byte addresses; strides count elements.

@inline function tile4x8(p0: usize, p1: usize, p2: usize, p3: usize, k: i32, aCol: usize, b: usize, nBytes: usize, c: usize, cRowBytes: usize): void {
  const c1 = c + cRowBytes;
  const c2 = c1 + cRowBytes;
  const c3 = c2 + cRowBytes;
  let acc00 = v128.load(c), acc01 = v128.load(c, 16);
  let acc10 = v128.load(c1), acc11 = v128.load(c1, 16);
  let acc20 = v128.load(c2), acc21 = v128.load(c2, 16);
  let acc30 = v128.load(c3), acc31 = v128.load(c3, 16);
  let bp = b;
  const step = aCol << 2;
  for (let p = 0; p < k; p++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    const a0 = f32x4.splat(load<f32>(p0));
    const a1 = f32x4.splat(load<f32>(p1));
    const a2 = f32x4.splat(load<f32>(p2));
    const a3 = f32x4.splat(load<f32>(p3));
    acc00 = f32x4.add(acc00, f32x4.mul(a0, b0)); acc01 = f32x4.add(acc01, f32x4.mul(a0, b1));
    acc10 = f32x4.add(acc10, f32x4.mul(a1, b0)); acc11 = f32x4.add(acc11, f32x4.mul(a1, b1));
    acc20 = f32x4.add(acc20, f32x4.mul(a2, b0)); acc21 = f32x4.add(acc21, f32x4.mul(a2, b1));
    acc30 = f32x4.add(acc30, f32x4.mul(a3, b0)); acc31 = f32x4.add(acc31, f32x4.mul(a3, b1));
    p0 += step; p1 += step; p2 += step; p3 += step;
    bp += nBytes;
  }
  v128.store(c, acc00); v128.store(c, acc01, 16);
  v128.store(c1, acc10); v128.store(c1, acc11, 16);
  v128.store(c2, acc20); v128.store(c2, acc21, 16);
  v128.store(c3, acc30); v128.store(c3, acc31, 16);
}

/** c[M,N] += a(M×K, strided) · b[K,N] for rows [rowStart, rowEnd) of c (threads split rows). */
export function gemm(m: i32, n: i32, k: i32, a: usize, aRow: i32, aCol: i32, b: usize, c: usize, rowStart: i32, rowEnd: i32): void {
  const nBytes = <usize>n << 2;
  const rowStep = <usize>aRow << 2;
  let i = rowStart;
  for (; i + 4 <= rowEnd; i += 4) {
    const aBase = a + (<usize>i * <usize>aRow << 2);
    let j = 0;
    for (; j + 8 <= n; j += 8) {
      tile4x8(aBase, aBase + rowStep, aBase + 2 * rowStep, aBase + 3 * rowStep, k, <usize>aCol, b + (<usize>j << 2), nBytes,
        c + ((<usize>i * <usize>n + <usize>j) << 2), nBytes);
    }
    for (; j < n; j++) {
      for (let r = 0; r < 4; r++) scalarDot(i + r, j, n, k, a, aRow, aCol, b, c);
    }
  }
  for (; i < rowEnd; i++) {
    // One row: SIMD over 4 columns, scalar tail.
    const aBase = a + (<usize>i * <usize>aRow << 2);
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const cp = c + ((<usize>i * <usize>n + <usize>j) << 2);
      let acc = v128.load(cp);
      let ap = aBase;
      let bp = b + (<usize>j << 2);
      for (let p = 0; p < k; p++) {
        acc = f32x4.add(acc, f32x4.mul(f32x4.splat(load<f32>(ap)), v128.load(bp)));
        ap += <usize>aCol << 2;
        bp += nBytes;
      }
      v128.store(cp, acc);
    }
    for (; j < n; j++) scalarDot(i, j, n, k, a, aRow, aCol, b, c);
  }
}

@inline function scalarDot(i: i32, j: i32, n: i32, k: i32, a: usize, aRow: i32, aCol: i32, b: usize, c: usize): void {
  let s: f32 = 0;
  for (let p = 0; p < k; p++) {
    s += load<f32>(a + ((<usize>i * <usize>aRow + <usize>p * <usize>aCol) << 2)) * load<f32>(b + ((<usize>p * <usize>n + <usize>j) << 2));
  }
  const at = c + ((<usize>i * <usize>n + <usize>j) << 2);
  store<f32>(at, load<f32>(at) + s);
}

/** dst[cols, rows] = src[rows, cols]ᵀ (packs an operand so the GEMM reads it row-major). */
export function transpose(src: usize, rows: i32, cols: i32, dst: usize): void {
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      store<f32>(dst + ((<usize>c * <usize>rows + <usize>r) << 2), load<f32>(src + ((<usize>r * <usize>cols + <usize>c) << 2)));
    }
  }
}
