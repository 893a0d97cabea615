import type { ResizeAttrs } from '../../kernel-names.js';
import { registerKernel } from '../../registry.js';
import { bilinearTaps, type Tap } from '../../kernel-geometry.js';
import { emptyLike, REFERENCE, rowMajorFloat } from './util.js';

// x: [N, C, H, W] → y: [N, C, outH, outW], with PyTorch's source-coordinate rules.

/** Nearest source index along one axis: floor(o · scale), clipped (PyTorch's 'nearest'). */
function nearestIndices(outSize: number, inSize: number, scale: number): number[] {
  return Array.from({ length: outSize }, (_, o) => Math.min(Math.floor(o * scale), inSize - 1));
}

function axisTaps(inputShape: readonly number[], attrs: ResizeAttrs): [Tap[], Tap[]] {
  return [
    bilinearTaps(attrs.outSize[0], inputShape[2], attrs.alignCorners, attrs.scale[0]),
    bilinearTaps(attrs.outSize[1], inputShape[3], attrs.alignCorners, attrs.scale[1]),
  ];
}

registerKernel({
  name: 'ResizeBilinear',
  backend: REFERENCE,
  priority: 0,
  fn: (x, attrs) => {
    const [n, c, h, w] = x.shape;
    const [ho, wo] = attrs.outSize;
    const src = rowMajorFloat('ResizeBilinear', x);
    const out = emptyLike(x, [n, c, ho, wo]);
    const dst = out.storage;
    const [rows, cols] = axisTaps(x.shape, attrs);
    for (let plane = 0; plane < n * c; plane++) {
      const base = plane * h * w;
      for (let oy = 0; oy < ho; oy++) {
        const r = rows[oy];
        for (let ox = 0; ox < wo; ox++) {
          const q = cols[ox];
          dst[(plane * ho + oy) * wo + ox] =
            r.w0 * (q.w0 * src[base + r.i0 * w + q.i0] + q.w1 * src[base + r.i0 * w + q.i1]) +
            r.w1 * (q.w0 * src[base + r.i1 * w + q.i0] + q.w1 * src[base + r.i1 * w + q.i1]);
        }
      }
    }
    return out;
  },
});

registerKernel({
  name: 'ResizeBilinearGrad',
  backend: REFERENCE,
  priority: 0,
  fn: (gradOutput, inputShape, attrs) => {
    const [n, c, h, w] = inputShape;
    const [ho, wo] = attrs.outSize;
    const g = rowMajorFloat('ResizeBilinearGrad', gradOutput);
    const out = emptyLike(gradOutput, inputShape);
    const dx = out.storage;
    const [rows, cols] = axisTaps(inputShape, attrs);
    for (let plane = 0; plane < n * c; plane++) {
      const base = plane * h * w;
      for (let oy = 0; oy < ho; oy++) {
        const r = rows[oy];
        for (let ox = 0; ox < wo; ox++) {
          const q = cols[ox];
          const v = g[(plane * ho + oy) * wo + ox];
          dx[base + r.i0 * w + q.i0] += r.w0 * q.w0 * v;
          dx[base + r.i0 * w + q.i1] += r.w0 * q.w1 * v;
          dx[base + r.i1 * w + q.i0] += r.w1 * q.w0 * v;
          dx[base + r.i1 * w + q.i1] += r.w1 * q.w1 * v;
        }
      }
    }
    return out;
  },
});

registerKernel({
  name: 'ResizeNearest',
  backend: REFERENCE,
  priority: 0,
  fn: (x, attrs) => {
    const [n, c, h, w] = x.shape;
    const [ho, wo] = attrs.outSize;
    const src = rowMajorFloat('ResizeNearest', x);
    const out = emptyLike(x, [n, c, ho, wo]);
    const dst = out.storage;
    const rows = nearestIndices(ho, h, attrs.scale[0]);
    const cols = nearestIndices(wo, w, attrs.scale[1]);
    for (let plane = 0; plane < n * c; plane++) {
      for (let oy = 0; oy < ho; oy++) {
        for (let ox = 0; ox < wo; ox++) dst[(plane * ho + oy) * wo + ox] = src[(plane * h + rows[oy]) * w + cols[ox]];
      }
    }
    return out;
  },
});

registerKernel({
  name: 'ResizeNearestGrad',
  backend: REFERENCE,
  priority: 0,
  fn: (gradOutput, inputShape, attrs) => {
    const [n, c, h, w] = inputShape;
    const [ho, wo] = attrs.outSize;
    const g = rowMajorFloat('ResizeNearestGrad', gradOutput);
    const out = emptyLike(gradOutput, inputShape);
    const dx = out.storage;
    const rows = nearestIndices(ho, h, attrs.scale[0]);
    const cols = nearestIndices(wo, w, attrs.scale[1]);
    for (let plane = 0; plane < n * c; plane++) {
      for (let oy = 0; oy < ho; oy++) {
        for (let ox = 0; ox < wo; ox++) dx[(plane * h + rows[oy]) * w + cols[ox]] += g[(plane * ho + oy) * wo + ox];
      }
    }
    return out;
  },
});
