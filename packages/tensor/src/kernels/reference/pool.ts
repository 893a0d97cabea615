import type { Pool2DAttrs } from '../../kernel-names.js';
import type { FloatArray } from '../../dtype.js';
import { registerKernel } from '../../registry.js';
import { Tensor } from '../../tensor.js';
import { pooledShape } from '../../kernel-geometry.js';
import { emptyLike, REFERENCE, rowMajor, rowMajorFloat } from './util.js';

// x: [N, C, H, W] → y: [N, C, Ho, Wo]; windows follow PyTorch (floor mode).

interface Window { y0: number; y1: number; x0: number; x1: number; divisor: number }

function poolWindow(oy: number, ox: number, h: number, w: number, attrs: Pool2DAttrs): Window {
  let y0 = oy * attrs.stride[0] - attrs.padding[0];
  let x0 = ox * attrs.stride[1] - attrs.padding[1];
  let y1 = Math.min(y0 + attrs.kernelSize[0], h + attrs.padding[0]);
  let x1 = Math.min(x0 + attrs.kernelSize[1], w + attrs.padding[1]);
  // PyTorch counts the window as clipped to the padded image, before clipping to the image itself.
  const padded = (y1 - y0) * (x1 - x0);
  y0 = Math.max(y0, 0);
  x0 = Math.max(x0, 0);
  y1 = Math.min(y1, h);
  x1 = Math.min(x1, w);
  return { y0, y1, x0, x1, divisor: attrs.countIncludePad ? padded : (y1 - y0) * (x1 - x0) };
}

registerKernel({
  name: 'AvgPool2D',
  backend: REFERENCE,
  priority: 0,
  fn: (x, attrs) => {
    const [n, c, h, w] = x.shape;
    const src = rowMajorFloat('AvgPool2D', x);
    const out = emptyLike(x, pooledShape(x.shape, attrs));
    const [, , ho, wo] = out.shape;
    const dst = out.storage;
    for (let plane = 0; plane < n * c; plane++) {
      for (let oy = 0; oy < ho; oy++) {
        for (let ox = 0; ox < wo; ox++) {
          const win = poolWindow(oy, ox, h, w, attrs);
          let total = 0;
          for (let iy = win.y0; iy < win.y1; iy++) for (let ix = win.x0; ix < win.x1; ix++) total += src[(plane * h + iy) * w + ix];
          dst[(plane * ho + oy) * wo + ox] = total / win.divisor;
        }
      }
    }
    return out;
  },
});

registerKernel({
  name: 'AvgPool2DGrad',
  backend: REFERENCE,
  priority: 0,
  fn: (gradOutput, inputShape, attrs) => {
    const [n, c, h, w] = inputShape;
    const [, , ho, wo] = gradOutput.shape;
    const g = rowMajorFloat('AvgPool2DGrad', gradOutput);
    const out = emptyLike(gradOutput, inputShape);
    const dx = out.storage;
    for (let plane = 0; plane < n * c; plane++) {
      for (let oy = 0; oy < ho; oy++) {
        for (let ox = 0; ox < wo; ox++) {
          const win = poolWindow(oy, ox, h, w, attrs);
          const share = g[(plane * ho + oy) * wo + ox] / win.divisor;
          for (let iy = win.y0; iy < win.y1; iy++) for (let ix = win.x0; ix < win.x1; ix++) dx[(plane * h + iy) * w + ix] += share;
        }
      }
    }
    return out;
  },
});

registerKernel({
  name: 'MaxPool2D',
  backend: REFERENCE,
  priority: 0,
  fn: (x, attrs) => {
    const [n, c, h, w] = x.shape;
    const src = rowMajorFloat('MaxPool2D', x);
    const output = emptyLike(x, pooledShape(x.shape, attrs));
    const [, , ho, wo] = output.shape;
    const indices = Tensor.empty(output.shape, 'int32');
    const dst = output.storage;
    const idx = indices.storage;
    for (let plane = 0; plane < n * c; plane++) {
      for (let oy = 0; oy < ho; oy++) {
        for (let ox = 0; ox < wo; ox++) {
          // Padding never wins: it is -inf for max pooling.
          const win = poolWindow(oy, ox, h, w, { ...attrs, countIncludePad: false });
          let best = -Infinity;
          let bestIndex = win.y0 * w + win.x0;
          for (let iy = win.y0; iy < win.y1; iy++) {
            for (let ix = win.x0; ix < win.x1; ix++) {
              const v = src[(plane * h + iy) * w + ix];
              if (v > best || Number.isNaN(v)) {
                best = v;
                bestIndex = iy * w + ix;
                if (Number.isNaN(v)) break;
              }
            }
          }
          const o = (plane * ho + oy) * wo + ox;
          dst[o] = best;
          idx[o] = bestIndex;
        }
      }
    }
    return { output, indices };
  },
});

registerKernel({
  name: 'MaxPool2DGrad',
  backend: REFERENCE,
  priority: 0,
  fn: (gradOutput, indices, inputShape) => {
    const [n, c, h, w] = inputShape;
    const [, , ho, wo] = gradOutput.shape;
    const g = rowMajorFloat('MaxPool2DGrad', gradOutput);
    const idx = rowMajor(indices);
    const out = emptyLike(gradOutput, inputShape);
    const dx = out.storage;
    for (let plane = 0; plane < n * c; plane++) {
      for (let o = 0; o < ho * wo; o++) dx[plane * h * w + idx[plane * ho * wo + o]] += g[plane * ho * wo + o];
    }
    return out;
  },
});

/** PyTorch's adaptive bins: [floor(i·In/Out), ceil((i+1)·In/Out)). */
function adaptiveBin(i: number, inSize: number, outSize: number): [number, number] {
  return [Math.floor((i * inSize) / outSize), Math.ceil(((i + 1) * inSize) / outSize)];
}

function adaptiveWalk(
  shape: readonly number[], outSize: readonly [number, number],
  visit: (plane: number, o: number, y0: number, y1: number, x0: number, x1: number) => void,
): void {
  const [n, c, h, w] = shape;
  const [ho, wo] = outSize;
  for (let plane = 0; plane < n * c; plane++) {
    for (let oy = 0; oy < ho; oy++) {
      const [y0, y1] = adaptiveBin(oy, h, ho);
      for (let ox = 0; ox < wo; ox++) {
        const [x0, x1] = adaptiveBin(ox, w, wo);
        visit(plane, (plane * ho + oy) * wo + ox, y0, y1, x0, x1);
      }
    }
  }
}

registerKernel({
  name: 'AdaptiveAvgPool2D',
  backend: REFERENCE,
  priority: 0,
  fn: (x, outSize) => {
    const [n, c, h, w] = x.shape;
    const src: FloatArray = rowMajorFloat('AdaptiveAvgPool2D', x);
    const out = emptyLike(x, [n, c, outSize[0], outSize[1]]);
    const dst = out.storage;
    adaptiveWalk(x.shape, outSize, (plane, o, y0, y1, x0, x1) => {
      let total = 0;
      for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) total += src[(plane * h + iy) * w + ix];
      dst[o] = total / ((y1 - y0) * (x1 - x0));
    });
    return out;
  },
});

registerKernel({
  name: 'AdaptiveAvgPool2DGrad',
  backend: REFERENCE,
  priority: 0,
  fn: (gradOutput, inputShape) => {
    const [, , h, w] = inputShape;
    const g = rowMajorFloat('AdaptiveAvgPool2DGrad', gradOutput);
    const out = emptyLike(gradOutput, inputShape);
    const dx = out.storage;
    adaptiveWalk(inputShape, [gradOutput.shape[2], gradOutput.shape[3]], (plane, o, y0, y1, x0, x1) => {
      const share = g[o] / ((y1 - y0) * (x1 - x0));
      for (let iy = y0; iy < y1; iy++) for (let ix = x0; ix < x1; ix++) dx[(plane * h + iy) * w + ix] += share;
    });
    return out;
  },
});
