import { registerKernel, Tensor, type FloatArray } from '@parcnet/tensor';
import type { ParcAxis } from '../../kernel-names.js';

/**
 * Reference ParC kernels. x: [B, C, H, W], kernel: [C, n] with n = H (axis H) or W (axis W).
 * The wrap (i + k) mod n is split into two unit-stride runs so that no modulo sits in an inner loop.
 */

function floatData(t: Tensor): FloatArray {
  return t.contiguous().toTypedArray() as FloatArray;
}

/**
 * Calls visit(c, out, outBase, src, srcBase, weight, length) for every tap so that the caller
 * adds weight · src[srcBase + t] into out[outBase + t] for t < length. It enumerates, per image
 * and channel, every output line i and tap k with its source line (i + k) mod n.
 */
function forEachTap(
  shape: readonly number[], axis: ParcAxis,
  visit: (plane: number, channel: number, i: number, k: number, source: number, n: number, lineLength: number, lineStride: number, step: number) => void,
): void {
  const [b, c, h, w] = shape;
  const n = axis === 'H' ? h : w;
  // Along H a "line" is a row of W elements (stride W between rows); along W it is a column.
  const lineLength = axis === 'H' ? w : h;
  const lineStride = axis === 'H' ? w : 1;
  const step = axis === 'H' ? 1 : w;
  for (let plane = 0; plane < b * c; plane++) {
    const channel = plane % c;
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < n; k++) {
        const source = i + k < n ? i + k : i + k - n;
        visit(plane, channel, i, k, source, n, lineLength, lineStride, step);
      }
    }
  }
}

registerKernel({
  name: 'ParcConv',
  backend: 'reference',
  priority: 0,
  fn: (x, kernel, axis, offset) => parcConvReference(x, kernel, axis, offset ?? null),
});

/** ParcConv by the book: each output from its offset (or 0), then every tap added in order. */
function parcConvReference(x: Tensor, kernel: Tensor, axis: ParcAxis, offset: Tensor | null): Tensor {
  const src = floatData(x);
  const weights = floatData(kernel);
  const out = Tensor.empty(x.shape, x.dtype);
  const dst = out.storage as FloatArray;
  const planeSize = x.shape[2] * x.shape[3];
  if (offset) {
    // Each output starts from its offset, as the sum of its taps does in the wasm kernel.
    const [b, c, h, w] = x.shape;
    const start = floatData(offset);
    for (let plane = 0; plane < b * c; plane++) {
      const row = (plane % c) * (axis === 'H' ? h : w);
      for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) dst[plane * planeSize + i * w + j] = start[row + (axis === 'H' ? i : j)];
    }
  }
  forEachTap(x.shape, axis, (plane, channel, i, k, source, n, length, lineStride, step) => {
    const wk = weights[channel * n + k];
    const o = plane * planeSize + i * lineStride;
    const s = plane * planeSize + source * lineStride;
    for (let t = 0; t < length; t++) dst[o + t * step] += wk * src[s + t * step];
  });
  return out;
}

registerKernel({
  name: 'ParcMixer',
  backend: 'reference',
  priority: 0,
  fn: (x, halves) => {
    const [b, c, h, w] = x.shape;
    const half = c / 2;
    const planeSize = h * w;
    const src = floatData(x);
    const out = Tensor.empty(x.shape, x.dtype);
    const dst = out.storage as FloatArray;
    halves.forEach(({ first, second }, which) => {
      // The half's channels as a tensor of their own, through its two convs, then added to it.
      const part = Tensor.empty([b, half, h, w], x.dtype);
      const data = part.storage as FloatArray;
      for (let i = 0; i < b; i++) data.set(src.subarray((i * c + which * half) * planeSize, (i * c + (which + 1) * half) * planeSize), i * half * planeSize);
      const axes: [ParcAxis, ParcAxis] = which === 0 ? ['H', 'W'] : ['W', 'H'];
      const mixed = floatData(parcConvReference(parcConvReference(part, first.kernel, axes[0], first.offset), second.kernel, axes[1], second.offset));
      for (let i = 0; i < b; i++) {
        for (let e = 0; e < half * planeSize; e++) dst[(i * c + which * half) * planeSize + e] = data[i * half * planeSize + e] + mixed[i * half * planeSize + e];
      }
    });
    return out;
  },
});

registerKernel({
  name: 'ParcConvBackpropInput',
  backend: 'reference',
  priority: 0,
  fn: (gradOutput, kernel, axis) => {
    const g = floatData(gradOutput);
    const weights = floatData(kernel);
    const out = Tensor.empty(gradOutput.shape, gradOutput.dtype);
    const dx = out.storage as FloatArray;
    const planeSize = gradOutput.shape[2] * gradOutput.shape[3];
    forEachTap(gradOutput.shape, axis, (plane, channel, i, k, source, n, length, lineStride, step) => {
      const wk = weights[channel * n + k];
      const o = plane * planeSize + i * lineStride;
      const s = plane * planeSize + source * lineStride;
      for (let t = 0; t < length; t++) dx[s + t * step] += wk * g[o + t * step];
    });
    return out;
  },
});

registerKernel({
  name: 'ParcConvBackpropKernel',
  backend: 'reference',
  priority: 0,
  fn: (x, gradOutput, axis) => {
    const src = floatData(x);
    const g = floatData(gradOutput);
    const [, c, h, w] = x.shape;
    const n = axis === 'H' ? h : w;
    const out = Tensor.empty([c, n], x.dtype);
    const dk = out.storage as FloatArray;
    const planeSize = h * w;
    forEachTap(x.shape, axis, (plane, channel, i, k, source, nn, length, lineStride, step) => {
      const o = plane * planeSize + i * lineStride;
      const s = plane * planeSize + source * lineStride;
      let acc = 0;
      for (let t = 0; t < length; t++) acc += g[o + t * step] * src[s + t * step];
      dk[channel * nn + k] += acc;
    });
    return out;
  },
});
