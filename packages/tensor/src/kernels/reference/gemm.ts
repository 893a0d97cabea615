import type { FloatArray } from '../../dtype.js';

/**
 * Row-major GEMM loops on raw arrays, the reference twin of the WASM GEMM. Each adds into `c`
 * (callers pass zeros for a plain product). Loop orders keep the innermost access unit-stride,
 * and four rows (or columns) of c are updated per pass over b: that halves the loads of b and
 * doubles the speed in V8 while keeping the loops plain.
 */

/** c[M,N] += a[M,K] · b[K,N] */
export function gemmNN(
  m: number, n: number, k: number,
  a: FloatArray, aOffset: number,
  b: FloatArray, bOffset: number,
  c: FloatArray, cOffset: number,
): void {
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const c0 = cOffset + i * n;
    const c1 = c0 + n;
    const c2 = c1 + n;
    const c3 = c2 + n;
    const aRow = aOffset + i * k;
    for (let p = 0; p < k; p++) {
      const a0 = a[aRow + p];
      const a1 = a[aRow + k + p];
      const a2 = a[aRow + 2 * k + p];
      const a3 = a[aRow + 3 * k + p];
      const bRow = bOffset + p * n;
      for (let j = 0; j < n; j++) {
        const bv = b[bRow + j];
        c[c0 + j] += a0 * bv;
        c[c1 + j] += a1 * bv;
        c[c2 + j] += a2 * bv;
        c[c3 + j] += a3 * bv;
      }
    }
  }
  for (; i < m; i++) {
    const cRow = cOffset + i * n;
    const aRow = aOffset + i * k;
    for (let p = 0; p < k; p++) {
      const aip = a[aRow + p];
      const bRow = bOffset + p * n;
      for (let j = 0; j < n; j++) c[cRow + j] += aip * b[bRow + j];
    }
  }
}

/** c[M,N] += a[M,K] · b[N,K]ᵀ */
export function gemmNT(
  m: number, n: number, k: number,
  a: FloatArray, aOffset: number,
  b: FloatArray, bOffset: number,
  c: FloatArray, cOffset: number,
): void {
  for (let i = 0; i < m; i++) {
    const aRow = aOffset + i * k;
    const cRow = cOffset + i * n;
    let j = 0;
    for (; j + 4 <= n; j += 4) {
      const b0 = bOffset + j * k;
      const b1 = b0 + k;
      const b2 = b1 + k;
      const b3 = b2 + k;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let p = 0; p < k; p++) {
        const av = a[aRow + p];
        s0 += av * b[b0 + p];
        s1 += av * b[b1 + p];
        s2 += av * b[b2 + p];
        s3 += av * b[b3 + p];
      }
      c[cRow + j] += s0;
      c[cRow + j + 1] += s1;
      c[cRow + j + 2] += s2;
      c[cRow + j + 3] += s3;
    }
    for (; j < n; j++) {
      const bRow = bOffset + j * k;
      let s = 0;
      for (let p = 0; p < k; p++) s += a[aRow + p] * b[bRow + p];
      c[cRow + j] += s;
    }
  }
}

/** c[M,N] += a[K,M]ᵀ · b[K,N] */
export function gemmTN(
  m: number, n: number, k: number,
  a: FloatArray, aOffset: number,
  b: FloatArray, bOffset: number,
  c: FloatArray, cOffset: number,
): void {
  let i = 0;
  for (; i + 4 <= m; i += 4) {
    const c0 = cOffset + i * n;
    const c1 = c0 + n;
    const c2 = c1 + n;
    const c3 = c2 + n;
    for (let p = 0; p < k; p++) {
      const aCol = aOffset + p * m + i;
      const a0 = a[aCol];
      const a1 = a[aCol + 1];
      const a2 = a[aCol + 2];
      const a3 = a[aCol + 3];
      const bRow = bOffset + p * n;
      for (let j = 0; j < n; j++) {
        const bv = b[bRow + j];
        c[c0 + j] += a0 * bv;
        c[c1 + j] += a1 * bv;
        c[c2 + j] += a2 * bv;
        c[c3 + j] += a3 * bv;
      }
    }
  }
  for (; i < m; i++) {
    const cRow = cOffset + i * n;
    for (let p = 0; p < k; p++) {
      const api = a[aOffset + p * m + i];
      const bRow = bOffset + p * n;
      for (let j = 0; j < n; j++) c[cRow + j] += api * b[bRow + j];
    }
  }
}
