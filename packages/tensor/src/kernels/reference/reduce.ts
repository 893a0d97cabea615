import { reduceKernelNames } from '../../kernel-names.js';
import { registerKernel } from '../../registry.js';
import { Tensor } from '../../tensor.js';
import { splitAtAxis } from '../../kernel-geometry.js';
import { castContiguous, emptyLike, REFERENCE, rowMajor, rowMajorFloat } from './util.js';

/**
 * Reductions over any set of axes: the reduced axes are permuted to the end and made contiguous,
 * so each output element reduces one contiguous run. Sums accumulate in double precision.
 */
function reduceRuns(x: Tensor, axes: readonly number[], init: number, step: (acc: number, v: number) => number): Tensor {
  const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
  const order = [...kept, ...axes];
  const permuted = new Tensor(x.storage, order.map((i) => x.shape[i]), order.map((i) => x.strides[i]), x.offset);
  const data = rowMajor(castContiguous(permuted, x.dtype));
  const outShape = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const out = emptyLike(x, outShape);
  const dst = out.storage;
  const run = axes.reduce((n, a) => n * x.shape[a], 1);
  for (let o = 0; o < dst.length; o++) {
    let acc = init;
    for (let r = o * run, end = r + run; r < end; r++) acc = step(acc, data[r]);
    dst[o] = acc;
  }
  return out;
}

const reducers = {
  Sum: { init: 0, step: (acc: number, v: number) => acc + v },
  // NaN propagates, as in PyTorch.
  Max: { init: -Infinity, step: (acc: number, v: number) => (v > acc || Number.isNaN(v) ? v : acc) },
  Min: { init: Infinity, step: (acc: number, v: number) => (v < acc || Number.isNaN(v) ? v : acc) },
};

for (const name of reduceKernelNames) {
  const { init, step } = reducers[name];
  registerKernel({ name, backend: REFERENCE, priority: 0, fn: (x, axes) => reduceRuns(x, axes, init, step) });
}

registerKernel({
  name: 'Argmax',
  backend: REFERENCE,
  priority: 0,
  fn: (x, axis) => {
    const data = rowMajor(x);
    const { outer, length, inner } = splitAtAxis(x.shape, axis);
    const out = Tensor.empty(x.shape.map((d, i) => (i === axis ? 1 : d)), 'int32');
    const dst = out.storage;
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        let best = 0;
        let bestValue = data[o * length * inner + i];
        for (let k = 1; k < length; k++) {
          const v = data[(o * length + k) * inner + i];
          if (v > bestValue) {
            best = k;
            bestValue = v;
          }
        }
        dst[o * inner + i] = best;
      }
    }
    return out;
  },
});

/** Calls `row(base, inner)` for each line along `axis`: element k of a line is at base + k * inner. */
function forEachLine(shape: readonly number[], axis: number, row: (base: number, inner: number, length: number) => void): void {
  const { outer, length, inner } = splitAtAxis(shape, axis);
  for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) row(o * length * inner + i, inner, length);
}

registerKernel({
  name: 'Softmax',
  backend: REFERENCE,
  priority: 0,
  fn: (x, axis) => {
    const src = rowMajorFloat('Softmax', x);
    const out = emptyLike(x);
    const dst = out.storage;
    forEachLine(x.shape, axis, (base, inner, length) => {
      let m = -Infinity;
      for (let k = 0; k < length; k++) m = Math.max(m, src[base + k * inner]);
      let total = 0;
      for (let k = 0; k < length; k++) {
        const e = Math.exp(src[base + k * inner] - m);
        dst[base + k * inner] = e;
        total += e;
      }
      for (let k = 0; k < length; k++) dst[base + k * inner] /= total;
    });
    return out;
  },
});

registerKernel({
  name: 'LogSoftmax',
  backend: REFERENCE,
  priority: 0,
  fn: (x, axis) => {
    const src = rowMajorFloat('LogSoftmax', x);
    const out = emptyLike(x);
    const dst = out.storage;
    forEachLine(x.shape, axis, (base, inner, length) => {
      let m = -Infinity;
      for (let k = 0; k < length; k++) m = Math.max(m, src[base + k * inner]);
      let total = 0;
      for (let k = 0; k < length; k++) total += Math.exp(src[base + k * inner] - m);
      const logTotal = m + Math.log(total);
      for (let k = 0; k < length; k++) dst[base + k * inner] = src[base + k * inner] - logTotal;
    });
    return out;
  },
});

// softmax backward: dx = y · (g − Σ g·y)
registerKernel({
  name: 'SoftmaxGrad',
  backend: REFERENCE,
  priority: 0,
  fn: (y, gradOutput, axis) => {
    const yv = rowMajorFloat('SoftmaxGrad', y);
    const g = rowMajorFloat('SoftmaxGrad', gradOutput);
    const out = emptyLike(y);
    const dst = out.storage;
    forEachLine(y.shape, axis, (base, inner, length) => {
      let dot = 0;
      for (let k = 0; k < length; k++) dot += g[base + k * inner] * yv[base + k * inner];
      for (let k = 0; k < length; k++) dst[base + k * inner] = yv[base + k * inner] * (g[base + k * inner] - dot);
    });
    return out;
  },
});

// log-softmax backward: dx = g − exp(y) · Σ g
registerKernel({
  name: 'LogSoftmaxGrad',
  backend: REFERENCE,
  priority: 0,
  fn: (y, gradOutput, axis) => {
    const yv = rowMajorFloat('LogSoftmaxGrad', y);
    const g = rowMajorFloat('LogSoftmaxGrad', gradOutput);
    const out = emptyLike(y);
    const dst = out.storage;
    forEachLine(y.shape, axis, (base, inner, length) => {
      let total = 0;
      for (let k = 0; k < length; k++) total += g[base + k * inner];
      for (let k = 0; k < length; k++) dst[base + k * inner] = g[base + k * inner] - Math.exp(yv[base + k * inner]) * total;
    });
    return out;
  },
});
