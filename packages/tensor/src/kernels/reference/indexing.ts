import { contiguousStrides } from '../../shape.js';
import { registerKernel } from '../../registry.js';
import { splitAtAxis } from '../../kernel-geometry.js';
import { emptyLike, REFERENCE, rowMajor } from './util.js';

// IndexSelect: out[o, j, i] = x[o, indices[j], i] (or `fill` where indices[j] = -1), for the
// row-major split of x into (outer, axis, inner). Pad and roll are built on it.
registerKernel({
  name: 'IndexSelect',
  backend: REFERENCE,
  priority: 0,
  fn: (x, axis, indices, fill) => {
    const src = rowMajor(x);
    const { outer, length, inner } = splitAtAxis(x.shape, axis);
    const out = emptyLike(x, x.shape.map((d, i) => (i === axis ? indices.length : d)));
    const dst = out.storage;
    const picked = indices.length;
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < picked; j++) {
        const dstBase = (o * picked + j) * inner;
        const k = indices[j];
        if (k < 0) {
          dst.fill(fill, dstBase, dstBase + inner);
          continue;
        }
        const srcBase = (o * length + k) * inner;
        for (let i = 0; i < inner; i++) dst[dstBase + i] = src[srcBase + i];
      }
    }
    return out;
  },
});

registerKernel({
  name: 'IndexAdd',
  backend: REFERENCE,
  priority: 0,
  fn: (gradOutput, axis, indices, size) => {
    const g = rowMajor(gradOutput);
    const { outer, inner } = splitAtAxis(gradOutput.shape, axis);
    const out = emptyLike(gradOutput, gradOutput.shape.map((d, i) => (i === axis ? size : d)));
    const dst = out.storage;
    const picked = indices.length;
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < picked; j++) {
        const k = indices[j];
        if (k < 0) continue;
        const srcBase = (o * picked + j) * inner;
        const dstBase = (o * size + k) * inner;
        for (let i = 0; i < inner; i++) dst[dstBase + i] += g[srcBase + i];
      }
    }
    return out;
  },
});

/**
 * Walks every element of `index` (row-major) and calls visit(flat position in index, flat
 * position in a row-major tensor of `targetShape` with the `axis` coordinate replaced by the index).
 */
function walkGather(
  indexShape: readonly number[], index: Int32Array | Float32Array | Float64Array, axis: number,
  targetShape: readonly number[], visit: (position: number, target: number) => void,
): void {
  const targetStrides = contiguousStrides(targetShape);
  const ndim = indexShape.length;
  const coord = new Array<number>(ndim).fill(0);
  for (let p = 0; p < index.length; p++) {
    let target = 0;
    for (let d = 0; d < ndim; d++) target += (d === axis ? index[p] : coord[d]) * targetStrides[d];
    visit(p, target);
    for (let d = ndim - 1; d >= 0; d--) {
      if (++coord[d] < indexShape[d]) break;
      coord[d] = 0;
    }
  }
}

registerKernel({
  name: 'Gather',
  backend: REFERENCE,
  priority: 0,
  fn: (x, axis, index) => {
    const src = rowMajor(x);
    const out = emptyLike(x, index.shape);
    const dst = out.storage;
    walkGather(index.shape, rowMajor(index), axis, x.shape, (p, t) => {
      dst[p] = src[t];
    });
    return out;
  },
});

registerKernel({
  name: 'ScatterAdd',
  backend: REFERENCE,
  priority: 0,
  fn: (gradOutput, axis, index, shape) => {
    const g = rowMajor(gradOutput);
    const out = emptyLike(gradOutput, shape);
    const dst = out.storage;
    walkGather(index.shape, rowMajor(index), axis, shape, (p, t) => {
      dst[t] += g[p];
    });
    return out;
  },
});

registerKernel({
  name: 'Concat',
  backend: REFERENCE,
  priority: 0,
  fn: (tensors, axis) => {
    const first = tensors[0];
    const total = tensors.reduce((n, t) => n + t.shape[axis], 0);
    const out = emptyLike(first, first.shape.map((d, i) => (i === axis ? total : d)));
    const dst = out.storage;
    const { outer, inner } = splitAtAxis(first.shape, axis);
    let at = 0;
    for (const t of tensors) {
      const src = rowMajor(t);
      const run = t.shape[axis] * inner;
      for (let o = 0; o < outer; o++) dst.set(src.subarray(o * run, (o + 1) * run), (o * total + at) * inner);
      at += t.shape[axis];
    }
    return out;
  },
});
