import type { NormActivation } from '../../kernel-names.js';
import { channelGeometry } from '../../kernel-geometry.js';
import { registerKernel } from '../../registry.js';
import { unaryMath } from './scalar-math.js';
import { emptyLike, REFERENCE, rowMajorFloat } from './util.js';

// x: [N, C, S…] row-major: channel c of image n is the run [(n·C + c)·S, (n·C + c + 1)·S).

registerKernel({
  name: 'BatchNormStats',
  backend: REFERENCE,
  priority: 0,
  fn: (x) => {
    const { n, c, s } = channelGeometry(x.shape);
    const data = rowMajorFloat('BatchNormStats', x);
    const mean = new Float64Array(c);
    const variance = new Float64Array(c);
    const count = n * s;
    // Two passes (mean, then squared deviations) in double precision: stable for large means.
    for (let ch = 0; ch < c; ch++) {
      let total = 0;
      for (let img = 0; img < n; img++) for (let i = (img * c + ch) * s, end = i + s; i < end; i++) total += data[i];
      const m = total / count;
      let squares = 0;
      for (let img = 0; img < n; img++) {
        for (let i = (img * c + ch) * s, end = i + s; i < end; i++) {
          const d = data[i] - m;
          squares += d * d;
        }
      }
      mean[ch] = m;
      variance[ch] = squares / count;
    }
    return { mean, variance };
  },
});

const activations = { silu: unaryMath.Silu, hardswish: unaryMath.Hardswish };
const identity = { forward: (z: number): number => z, derivative: (): number => 1 };
const activationOf = (a: NormActivation): { forward: (z: number) => number; derivative: (z: number) => number } => (a ? activations[a] : identity);

registerKernel({
  name: 'BatchNormApply',
  backend: REFERENCE,
  priority: 0,
  fn: (x, scale, shift, activation) => {
    const { n, c, s } = channelGeometry(x.shape);
    const src = rowMajorFloat('BatchNormApply', x);
    const out = emptyLike(x);
    const dst = out.storage;
    const act = activationOf(activation).forward;
    for (let img = 0; img < n; img++) {
      for (let ch = 0; ch < c; ch++) {
        const a = scale[ch];
        const b = shift[ch];
        if (activation) for (let i = (img * c + ch) * s, end = i + s; i < end; i++) dst[i] = act(src[i] * a + b);
        else for (let i = (img * c + ch) * s, end = i + s; i < end; i++) dst[i] = src[i] * a + b;
      }
    }
    return out;
  },
});

// With z = xhat·w + b and y = act(z): dz = g·act'(z); dxhat = dz·w;
// with batch statistics dx = invstd·(dxhat − mean(dxhat) − xhat·mean(dxhat·xhat)),
// otherwise dx = invstd·dxhat;  dweight = Σ dz·xhat, dbias = Σ dz.
registerKernel({
  name: 'BatchNormBackward',
  backend: REFERENCE,
  priority: 0,
  fn: (x, gradOutput, mean, invstd, weight, bias, batchStats, activation) => {
    const { n, c, s } = channelGeometry(x.shape);
    const xs = rowMajorFloat('BatchNormBackward', x);
    let g = rowMajorFloat('BatchNormBackward', gradOutput);
    if (activation) {
      // dz = g · act'(z), z recomputed from x.
      const derivative = activationOf(activation).derivative;
      const dz = new Float64Array(g.length);
      for (let img = 0; img < n; img++) {
        for (let ch = 0; ch < c; ch++) {
          for (let i = (img * c + ch) * s, end = i + s; i < end; i++) dz[i] = g[i] * derivative((xs[i] - mean[ch]) * invstd[ch] * weight[ch] + bias[ch]);
        }
      }
      g = dz;
    }
    const dx = emptyLike(gradOutput);
    const out = dx.storage;
    const dweight = new Float64Array(c);
    const dbias = new Float64Array(c);
    const count = n * s;
    for (let ch = 0; ch < c; ch++) {
      const m = mean[ch];
      const k = invstd[ch];
      let sumG = 0;
      let sumGX = 0;
      for (let img = 0; img < n; img++) {
        for (let i = (img * c + ch) * s, end = i + s; i < end; i++) {
          sumG += g[i];
          sumGX += g[i] * (xs[i] - m) * k;
        }
      }
      dweight[ch] = sumGX;
      dbias[ch] = sumG;
      const w = weight[ch];
      const meanDy = batchStats ? sumG / count : 0;
      const meanDyX = batchStats ? sumGX / count : 0;
      for (let img = 0; img < n; img++) {
        for (let i = (img * c + ch) * s, end = i + s; i < end; i++) {
          const xhat = (xs[i] - m) * k;
          out[i] = w * k * (g[i] - meanDy - xhat * meanDyX);
        }
      }
    }
    return { dx, dweight, dbias };
  },
});
