import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { gemmNN, gemmNT, gemmTN } from '../src/kernels/reference/gemm';

// The blocked loops against the textbook triple loop, for every remainder of the 4-blocking.
describe('reference GEMM loops', () => {
  it('NN, NT and TN equal the triple loop, with offsets, accumulating into c', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), (m, n, k) => {
        const rand = (len: number, seed: number): Float64Array => Float64Array.from({ length: len }, (_, i) => Math.sin(seed * 97 + i * 13.1));
        const a = rand(m * k + 2, 1);
        const b = rand(k * n + 3, 2);
        const expected = rand(m * n, 3);
        const start = expected.slice();
        for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) for (let p = 0; p < k; p++) expected[i * n + j] += a[2 + i * k + p] * b[3 + p * n + j];
        const nn = start.slice();
        gemmNN(m, n, k, a, 2, b, 3, nn, 0);
        // The same products with transposed storage.
        const aT = new Float64Array(k * m);
        const bT = new Float64Array(n * k);
        for (let i = 0; i < m; i++) for (let p = 0; p < k; p++) aT[p * m + i] = a[2 + i * k + p];
        for (let p = 0; p < k; p++) for (let j = 0; j < n; j++) bT[j * k + p] = b[3 + p * n + j];
        const nt = start.slice();
        gemmNT(m, n, k, a, 2, bT, 0, nt, 0);
        const tn = start.slice();
        gemmTN(m, n, k, aT, 0, b, 3, tn, 0);
        for (const got of [nn, nt, tn]) got.forEach((v, i) => expect(v).toBeCloseTo(expected[i], 12));
      }),
      { seed: 1, numRuns: 100 },
    );
  });
});
