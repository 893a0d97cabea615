import type { FloatArray } from '../../dtype';

/**
 * Row-major GEMM loops on raw arrays, the reference twin of the WASM GEMM. Each adds into `c`
 * (callers pass zeros for a plain product). Loop orders keep the innermost access unit-stride.
 */

/** c[M,N] += a[M,K] · b[K,N] */
export function gemmNN(
  m: number, n: number, k: number,
  a: FloatArray, aOffset: number,
  b: FloatArray, bOffset: number,
  c: FloatArray, cOffset: number,
): void {
  for (let i = 0; i < m; i++) {
    const cRow = cOffset + i * n;
    const aRow = aOffset + i * k;
    for (let p = 0; p < k; p++) {
      const aip = a[aRow + p];
      if (aip === 0) continue;
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
    for (let j = 0; j < n; j++) {
      const bRow = bOffset + j * k;
      let acc = 0;
      for (let p = 0; p < k; p++) acc += a[aRow + p] * b[bRow + p];
      c[cOffset + i * n + j] += acc;
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
  for (let p = 0; p < k; p++) {
    const aRow = aOffset + p * m;
    const bRow = bOffset + p * n;
    for (let i = 0; i < m; i++) {
      const api = a[aRow + i];
      if (api === 0) continue;
      const cRow = cOffset + i * n;
      for (let j = 0; j < n; j++) c[cRow + j] += api * b[bRow + j];
    }
  }
}
