import { registerKernel } from '../../registry.js';
import { Tensor } from '../../tensor.js';
import { gemmNN, gemmNT, gemmTN } from './gemm.js';
import { castContiguous, emptyLike, REFERENCE, rowMajorFloat } from './util.js';

// a: [Ba, M, K] (or [Ba, K, M] when transposeA), b: [Bb, K, N] (or [Bb, N, K]) → [max(Ba, Bb), M, N]
registerKernel({
  name: 'BatchMatMul',
  backend: REFERENCE,
  priority: 0,
  fn: (a, b, transposeA, transposeB) => {
    if (transposeA && transposeB) {
      // No loop order reads both transposed operands unit-stride: materialise bᵀ once.
      const [bb, n, k] = b.shape;
      const bT = castContiguous(new Tensor(b.storage, [bb, k, n], [b.strides[0], b.strides[2], b.strides[1]], b.offset), b.dtype);
      b = bT;
      transposeB = false;
    }
    const [ba, a1, a2] = a.shape;
    const [bb, b1, b2] = b.shape;
    const m = transposeA ? a2 : a1;
    const k = transposeA ? a1 : a2;
    const n = transposeB ? b1 : b2;
    const batch = Math.max(ba, bb);
    const av = rowMajorFloat('BatchMatMul', a);
    const bv = rowMajorFloat('BatchMatMul', b);
    const out = emptyLike(a, [batch, m, n]);
    const c = out.storage as Float32Array | Float64Array;
    const gemm = transposeA ? gemmTN : transposeB ? gemmNT : gemmNN;
    for (let i = 0; i < batch; i++) {
      gemm(m, n, k, av, (ba === 1 ? 0 : i) * m * k, bv, (bb === 1 ? 0 : i) * k * n, c, i * m * n);
    }
    return out;
  },
});
