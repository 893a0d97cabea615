import type { Tensor } from '../src/index';

/**
 * Naive oracles, written independently of the kernels: direct loops over logical indices that read
 * any strided tensor element by element. Slow and obvious on purpose.
 */

export function at(t: Tensor, ...index: number[]): number {
  return t.storage[index.reduce((o, i, d) => o + i * t.strides[d], t.offset)];
}

export function naiveMatmul2d(a: Tensor, b: Tensor): number[][] {
  const [m, k] = a.shape;
  const n = b.shape[1];
  return Array.from({ length: m }, (_, i) =>
    Array.from({ length: n }, (_, j) => {
      let s = 0;
      for (let p = 0; p < k; p++) s += at(a, i, p) * at(b, p, j);
      return s;
    }),
  );
}

export interface ConvParams { stride: [number, number]; padding: [number, number]; dilation: [number, number]; groups: number }

export function naiveConv2d(x: Tensor, w: Tensor, p: ConvParams): number[][][][] {
  const [n, c, h, wd] = x.shape;
  const [o, cg, kh, kw] = w.shape;
  const ho = Math.floor((h + 2 * p.padding[0] - p.dilation[0] * (kh - 1) - 1) / p.stride[0]) + 1;
  const wo = Math.floor((wd + 2 * p.padding[1] - p.dilation[1] * (kw - 1) - 1) / p.stride[1]) + 1;
  const og = o / p.groups;
  const out: number[][][][] = [];
  for (let b = 0; b < n; b++) {
    out.push([]);
    for (let oc = 0; oc < o; oc++) {
      const g = Math.floor(oc / og);
      out[b].push([]);
      for (let y = 0; y < ho; y++) {
        out[b][oc].push([]);
        for (let xx = 0; xx < wo; xx++) {
          let s = 0;
          for (let ci = 0; ci < cg; ci++) {
            for (let i = 0; i < kh; i++) {
              for (let j = 0; j < kw; j++) {
                const iy = y * p.stride[0] - p.padding[0] + i * p.dilation[0];
                const ix = xx * p.stride[1] - p.padding[1] + j * p.dilation[1];
                if (iy >= 0 && iy < h && ix >= 0 && ix < wd) s += at(x, b, g * cg + ci, iy, ix) * at(w, oc, ci, i, j);
              }
            }
          }
          out[b][oc][y].push(s);
        }
      }
    }
  }
  void c;
  return out;
}

/** Max or average over every window, padding as -inf (max) or zeros counted in the divisor (avg). */
export function naivePool2d(x: Tensor, kind: 'max' | 'avg', k: number, s: number, pad: number, countIncludePad = true): number[][][][] {
  const [n, c, h, w] = x.shape;
  const ho = Math.floor((h + 2 * pad - k) / s) + 1;
  const wo = Math.floor((w + 2 * pad - k) / s) + 1;
  return Array.from({ length: n }, (_, b) =>
    Array.from({ length: c }, (_, ch) =>
      Array.from({ length: ho }, (_, y) =>
        Array.from({ length: wo }, (_, xx) => {
          let best = -Infinity;
          let total = 0;
          let inside = 0;
          let padded = 0;
          for (let i = 0; i < k; i++) {
            for (let j = 0; j < k; j++) {
              const iy = y * s - pad + i;
              const ix = xx * s - pad + j;
              if (iy < h + pad && ix < w + pad) padded++;
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              const v = at(x, b, ch, iy, ix);
              best = Math.max(best, v);
              total += v;
              inside++;
            }
          }
          return kind === 'max' ? best : total / (countIncludePad ? padded : inside);
        }),
      ),
    ),
  );
}

/** Bilinear resampling from the textbook formulas (PyTorch's coordinate conventions). */
export function naiveBilinear(x: Tensor, ho: number, wo: number, alignCorners: boolean): number[][][][] {
  const [n, c, h, w] = x.shape;
  const source = (o: number, outSize: number, inSize: number): number => {
    if (alignCorners) return outSize === 1 ? 0 : (o * (inSize - 1)) / (outSize - 1);
    return Math.max(0, (o + 0.5) * (inSize / outSize) - 0.5);
  };
  const value = (b: number, ch: number, yy: number, xx: number): number => at(x, b, ch, Math.min(yy, h - 1), Math.min(xx, w - 1));
  return Array.from({ length: n }, (_, b) =>
    Array.from({ length: c }, (_, ch) =>
      Array.from({ length: ho }, (_, oy) =>
        Array.from({ length: wo }, (_, ox) => {
          const sy = source(oy, ho, h);
          const sx = source(ox, wo, w);
          const y0 = Math.floor(sy);
          const x0 = Math.floor(sx);
          const fy = sy - y0;
          const fx = sx - x0;
          return (
            (1 - fy) * ((1 - fx) * value(b, ch, y0, x0) + fx * value(b, ch, y0, x0 + 1)) +
            fy * ((1 - fx) * value(b, ch, y0 + 1, x0) + fx * value(b, ch, y0 + 1, x0 + 1))
          );
        }),
      ),
    ),
  );
}

export function naiveNearest(x: Tensor, ho: number, wo: number): number[][][][] {
  const [n, c, h, w] = x.shape;
  return Array.from({ length: n }, (_, b) =>
    Array.from({ length: c }, (_, ch) =>
      Array.from({ length: ho }, (_, oy) =>
        Array.from({ length: wo }, (_, ox) => at(x, b, ch, Math.min(Math.floor((oy * h) / ho), h - 1), Math.min(Math.floor((ox * w) / wo), w - 1))),
      ),
    ),
  );
}

export function flatDeep(v: unknown): number[] {
  return Array.isArray(v) ? v.flatMap(flatDeep) : [v as number];
}

/** Largest |a − b| over two equally long lists. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}
