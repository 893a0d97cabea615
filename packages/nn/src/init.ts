import { defaultGenerator, erf, storageOffsets, type Generator, type Tensor } from '@parcnet/tensor';

/**
 * In-place initialisers, like torch.nn.init, drawing from an explicit generator (the default one
 * unless given). They write the storage directly and record nothing on the tape.
 */

function fill(t: Tensor, draw: () => number): Tensor {
  const { storage, offset } = t;
  if (t.isContiguous()) {
    // The end once: `size` multiplies the shape out on every read.
    for (let i = offset, end = offset + t.size; i < end; i++) storage[i] = draw();
    return t;
  }
  // A strided view (a slice, a transpose) fills its own elements, in row-major order, as torch does.
  for (const at of storageOffsets(t.shape, t.strides, offset)) storage[at] = draw();
  return t;
}

/** fan_in = size(1) · receptive field, fan_out = size(0) · receptive field (groups do not enter). */
export function fans(t: Tensor): {
  /** size(1) · receptive field, the inputs feeding one output (1 for a 1-D tensor). */
  fanIn: number;
  /** size(0) · receptive field, the outputs one input feeds. */
  fanOut: number;
} {
  const receptive = t.shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: (t.shape[1] ?? 1) * receptive, fanOut: t.shape[0] * receptive };
}

/** Fills `t` with 0 in place and returns it (torch.nn.init.zeros_). */
export function zeros_(t: Tensor): Tensor {
  return fill(t, () => 0);
}

/** Fills `t` with 1 in place and returns it (torch.nn.init.ones_). */
export function ones_(t: Tensor): Tensor {
  return fill(t, () => 1);
}

/** Fills `t` in place with draws from U(low, high), default U(0, 1), and returns it (torch.nn.init.uniform_). */
export function uniform_(t: Tensor, low = 0, high = 1, generator: Generator = defaultGenerator): Tensor {
  return fill(t, () => low + (high - low) * generator.uniform());
}

/** Fills `t` in place with draws from N(mean, std²), default N(0, 1), and returns it (torch.nn.init.normal_). */
export function normal_(t: Tensor, mean = 0, std = 1, generator: Generator = defaultGenerator): Tensor {
  return fill(t, () => mean + std * generator.normal());
}

/** Options of {@link kaimingNormal_}. */
export interface KaimingOptions {
  /** Which fan divides the variance: 'fan_in' (default) keeps the forward pass's variance, 'fan_out' the backward's. */
  mode?: 'fan_in' | 'fan_out';
  /** Gain of the nonlinearity: √2 for ReLU (the default), 1 for linear. */
  gain?: number;
  /** Source of the draws; default the global `defaultGenerator`. */
  generator?: Generator;
}

/** N(0, gain² / fan), torch.nn.init.kaiming_normal_ (the official convs use mode 'fan_out'). */
export function kaimingNormal_(t: Tensor, options: KaimingOptions = {}): Tensor {
  const { fanIn, fanOut } = fans(t);
  const fan = (options.mode ?? 'fan_in') === 'fan_in' ? fanIn : fanOut;
  return normal_(t, 0, (options.gain ?? Math.SQRT2) / Math.sqrt(fan), options.generator);
}

/** U(−bound, bound) with bound = gain · √(3 / fan_in), gain = √(2 / (1 + a²)) (PyTorch's layer default uses a = √5). */
export function kaimingUniform_(t: Tensor, a = Math.sqrt(5), generator: Generator = defaultGenerator): Tensor {
  const bound = Math.sqrt(2 / (1 + a * a)) * Math.sqrt(3 / fans(t).fanIn);
  return uniform_(t, -bound, bound, generator);
}

/** Normal(mean, std) redrawn until inside the absolute bounds [a, b] (torch.nn.init.trunc_normal_). */
export function truncNormal_(t: Tensor, options: { mean?: number; std?: number; a?: number; b?: number; generator?: Generator } = {}): Tensor {
  const { mean = 0, std = 1, a = -2, b = 2, generator = defaultGenerator } = options;
  if (!(a < b) || !(std > 0)) throw new RangeError(`truncNormal_: expected a < b and std > 0, got a ${a}, b ${b}, std ${std}`);
  // Rejection keeps the draws of the usual case (most of the mass inside [a, b]); when little of it
  // is inside, rejection would take ages (forever, far out), so the inverse CDF maps a uniform draw
  // into [a, b]. Far in a tail (past ~7 std) Φ rounds to 0 or 1 in double precision and the draws
  // pile at the near bound; torch.nn.init.trunc_normal_ warns of the same beyond 2 std.
  const cdf = (x: number): number => 0.5 * (1 + erf((x - mean) / (std * Math.SQRT2)));
  const low = cdf(a);
  const high = cdf(b);
  if (high - low >= 0.05) {
    return fill(t, () => {
      for (;;) {
        const v = mean + std * generator.normal();
        if (v >= a && v <= b) return v;
      }
    });
  }
  return fill(t, () => Math.min(b, Math.max(a, mean + std * normalQuantile(low + (high - low) * generator.uniform()))));
}

/** Φ⁻¹(p), the standard normal quantile (Acklam's rational approximation, relative error below 1.2e-9, refined by one Halley step). */
function normalQuantile(p: number): number {
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  let x: number;
  if (p < 0.02425) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else if (p > 1 - 0.02425) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    x = -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  }
  const e = 0.5 * (1 + erf(x / Math.SQRT2)) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

/** torch.nn.init.xavier_uniform_: U(±gain·√(6 / (fan_in + fan_out))). */
export function xavierUniform_(t: Tensor, gain = 1, generator: Generator = defaultGenerator): Tensor {
  const { fanIn, fanOut } = fans(t);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -bound, bound, generator);
}
