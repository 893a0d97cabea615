import type { Conv2DAttrs } from '../../kernel-names.js';
import { conv2dGeometry, type Conv2DGeometry as Geometry } from '../../kernel-geometry.js';
import type { FloatArray } from '../../dtype.js';
import { getKernel, registerKernel } from '../../registry.js';
import { Tensor } from '../../tensor.js';
import { gemmNN, gemmNT, gemmTN } from './gemm.js';
import { emptyLike, REFERENCE, rowMajorFloat } from './util.js';

/**
 * conv2d by im2col + GEMM, per image and group; 1×1 convs skip the im2col copy and depthwise
 * convs run a direct loop. The column matrix of one group has a row per
 * (input channel, kernel row, kernel column) and a column per output pixel:
 *   cols: [Cg·kH·kW, Ho·Wo],  weight of the group: [Og, Cg·kH·kW],  output: [Og, Ho·Wo].
 */

/** Fills cols for channels [c0, c0 + g.cg) of image `image`. */
function im2col(x: FloatArray, image: number, c0: number, g: Geometry, attrs: Conv2DAttrs, cols: FloatArray): void {
  const [sh, sw] = attrs.stride;
  const [ph, pw] = attrs.padding;
  const [dh, dw] = attrs.dilation;
  const pixels = g.ho * g.wo;
  let row = 0;
  for (let ci = 0; ci < g.cg; ci++) {
    const plane = ((image * g.c) + c0 + ci) * g.h * g.w;
    for (let ki = 0; ki < g.kh; ki++) {
      for (let kj = 0; kj < g.kw; kj++, row++) {
        const rowBase = row * pixels;
        for (let oy = 0; oy < g.ho; oy++) {
          const iy = oy * sh - ph + ki * dh;
          const dstBase = rowBase + oy * g.wo;
          if (iy < 0 || iy >= g.h) {
            cols.fill(0, dstBase, dstBase + g.wo);
            continue;
          }
          const srcRow = plane + iy * g.w;
          for (let ox = 0; ox < g.wo; ox++) {
            const ix = ox * sw - pw + kj * dw;
            cols[dstBase + ox] = ix >= 0 && ix < g.w ? x[srcRow + ix] : 0;
          }
        }
      }
    }
  }
}

/** The adjoint of im2col: adds cols back into the input-gradient image. */
function col2im(cols: FloatArray, image: number, c0: number, g: Geometry, attrs: Conv2DAttrs, dx: FloatArray): void {
  const [sh, sw] = attrs.stride;
  const [ph, pw] = attrs.padding;
  const [dh, dw] = attrs.dilation;
  const pixels = g.ho * g.wo;
  let row = 0;
  for (let ci = 0; ci < g.cg; ci++) {
    const plane = ((image * g.c) + c0 + ci) * g.h * g.w;
    for (let ki = 0; ki < g.kh; ki++) {
      for (let kj = 0; kj < g.kw; kj++, row++) {
        const rowBase = row * pixels;
        for (let oy = 0; oy < g.ho; oy++) {
          const iy = oy * sh - ph + ki * dh;
          if (iy < 0 || iy >= g.h) continue;
          const dstRow = plane + iy * g.w;
          const srcBase = rowBase + oy * g.wo;
          for (let ox = 0; ox < g.wo; ox++) {
            const ix = ox * sw - pw + kj * dw;
            if (ix >= 0 && ix < g.w) dx[dstRow + ix] += cols[srcBase + ox];
          }
        }
      }
    }
  }
}

function newCols(x: Tensor, g: Geometry): FloatArray {
  const length = g.cg * g.kh * g.kw * g.ho * g.wo;
  return x.dtype === 'float64' ? new Float64Array(length) : new Float32Array(length);
}

/**
 * Visits every (plane, output pixel, tap) of a depthwise conv with the input index it reads:
 * visit(inputIndex, outputIndex, weightIndex). Taps falling in the padding are skipped.
 */
function forEachDepthwiseTap(g: Geometry, attrs: Conv2DAttrs, visit: (input: number, output: number, weight: number) => void): void {
  const [sh, sw] = attrs.stride;
  const [ph, pw] = attrs.padding;
  const [dh, dw] = attrs.dilation;
  for (let plane = 0; plane < g.n * g.c; plane++) {
    const ch = plane % g.c;
    const inBase = plane * g.h * g.w;
    const outBase = plane * g.ho * g.wo;
    for (let ki = 0; ki < g.kh; ki++) {
      for (let kj = 0; kj < g.kw; kj++) {
        const wIndex = (ch * g.kh + ki) * g.kw + kj;
        for (let oy = 0; oy < g.ho; oy++) {
          const iy = oy * sh - ph + ki * dh;
          if (iy < 0 || iy >= g.h) continue;
          const inRow = inBase + iy * g.w;
          const outRow = outBase + oy * g.wo;
          for (let ox = 0; ox < g.wo; ox++) {
            const ix = ox * sw - pw + kj * dw;
            if (ix >= 0 && ix < g.w) visit(inRow + ix, outRow + ox, wIndex);
          }
        }
      }
    }
  }
}

registerKernel({
  name: 'Conv2D',
  backend: REFERENCE,
  priority: 0,
  fn: (x, w, attrs) => {
    const g = conv2dGeometry(x.shape, w.shape, attrs);
    const xv = rowMajorFloat('Conv2D', x);
    const wv = rowMajorFloat('Conv2D', w);
    const out = emptyLike(x, [g.n, g.o, g.ho, g.wo]);
    const y = out.storage as FloatArray;
    if (g.depthwise) {
      forEachDepthwiseTap(g, attrs, (i, o, k) => {
        y[o] += xv[i] * wv[k];
      });
      return out;
    }
    const pointwise = g.pointwise;
    const cols = pointwise ? xv : newCols(x, g);
    const rows = g.cg * g.kh * g.kw;
    const pixels = g.ho * g.wo;
    for (let image = 0; image < g.n; image++) {
      for (let group = 0; group < attrs.groups; group++) {
        const colsOffset = pointwise ? (image * g.c + group * g.cg) * pixels : 0;
        if (!pointwise) im2col(xv, image, group * g.cg, g, attrs, cols);
        gemmNN(g.og, pixels, rows, wv, group * g.og * rows, cols, colsOffset, y, (image * g.o + group * g.og) * pixels);
      }
    }
    return out;
  },
});

// dx = col2im(Wᵀ · dy), per image and group.
registerKernel({
  name: 'Conv2DBackpropInput',
  backend: REFERENCE,
  priority: 0,
  fn: (gradOutput, w, inputShape, attrs) => {
    const g = conv2dGeometry(inputShape, w.shape, attrs);
    const dy = rowMajorFloat('Conv2DBackpropInput', gradOutput);
    const wv = rowMajorFloat('Conv2DBackpropInput', w);
    const out = emptyLike(gradOutput, inputShape);
    const dx = out.storage as FloatArray;
    if (g.depthwise) {
      forEachDepthwiseTap(g, attrs, (i, o, k) => {
        dx[i] += dy[o] * wv[k];
      });
      return out;
    }
    const pointwise = g.pointwise;
    const cols = pointwise ? dx : newCols(gradOutput, g);
    const rows = g.cg * g.kh * g.kw;
    const pixels = g.ho * g.wo;
    for (let image = 0; image < g.n; image++) {
      for (let group = 0; group < attrs.groups; group++) {
        // Pointwise: dx of the group is Wᵀ·dy directly; otherwise through the columns and col2im.
        const colsOffset = pointwise ? (image * g.c + group * g.cg) * pixels : 0;
        if (!pointwise) cols.fill(0);
        gemmTN(rows, pixels, g.og, wv, group * g.og * rows, dy, (image * g.o + group * g.og) * pixels, cols, colsOffset);
        if (!pointwise) col2im(cols, image, group * g.cg, g, attrs, dx);
      }
    }
    return out;
  },
});

// dW = dy · colsᵀ, summed over images.
registerKernel({
  name: 'Conv2DBackpropFilter',
  backend: REFERENCE,
  priority: 0,
  fn: (x, gradOutput, weightShape, attrs) => {
    const g = conv2dGeometry(x.shape, weightShape, attrs);
    const xv = rowMajorFloat('Conv2DBackpropFilter', x);
    const dy = rowMajorFloat('Conv2DBackpropFilter', gradOutput);
    const out = emptyLike(x, weightShape);
    const dw = out.storage as FloatArray;
    if (g.depthwise) {
      forEachDepthwiseTap(g, attrs, (i, o, k) => {
        dw[k] += xv[i] * dy[o];
      });
      return out;
    }
    const pointwise = g.pointwise;
    const cols = pointwise ? xv : newCols(x, g);
    const rows = g.cg * g.kh * g.kw;
    const pixels = g.ho * g.wo;
    for (let image = 0; image < g.n; image++) {
      for (let group = 0; group < attrs.groups; group++) {
        const colsOffset = pointwise ? (image * g.c + group * g.cg) * pixels : 0;
        if (!pointwise) im2col(xv, image, group * g.cg, g, attrs, cols);
        gemmNT(g.og, rows, pixels, dy, (image * g.o + group * g.og) * pixels, cols, colsOffset, dw, group * g.og * rows);
      }
    }
    return out;
  },
});

// The reference composes its own conv and batch-norm apply: the fused kernel's definition.
registerKernel({
  name: 'Conv2DNormAct',
  backend: REFERENCE,
  priority: 0,
  fn: (x, w, scale, shift, activation, attrs) => {
    const conv = getKernel('Conv2D', REFERENCE)!;
    const apply = getKernel('BatchNormApply', REFERENCE)!;
    return apply(conv(x, w, attrs), scale, shift, activation);
  },
});

// The block as its definition: the fused convs one after the other, then the add.
registerKernel({
  name: 'InvertedResidualNormAct',
  backend: REFERENCE,
  priority: 0,
  fn: (x, expand, depthwise, pointwise, residual) => {
    const convNormAct = getKernel('Conv2DNormAct', REFERENCE)!;
    const stage = (input: Tensor, s: typeof depthwise): Tensor => convNormAct(input, s.weight, s.scale, s.shift, s.activation, s.attrs);
    const y = stage(stage(expand ? stage(x, expand) : x, depthwise), pointwise);
    return residual ? getKernel('Add', REFERENCE)!(y, residual) : y;
  },
});

// The feed-forward pair as its definition: the norm's affine, then the two fused convs.
registerKernel({
  name: 'FeedForwardNormAct',
  backend: REFERENCE,
  priority: 0,
  fn: (x, norm, hidden, output) => {
    const convNormAct = getKernel('Conv2DNormAct', REFERENCE)!;
    const stage = (input: Tensor, s: typeof hidden): Tensor => convNormAct(input, s.weight, s.scale, s.shift, s.activation, s.attrs);
    const normalised = norm ? getKernel('BatchNormApply', REFERENCE)!(x, norm.scale, norm.shift, null) : x;
    return stage(stage(normalised, hidden), output);
  },
});
