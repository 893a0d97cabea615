import { defaultGenerator, type Generator, type Tensor } from '@parcnet/tensor';

/**
 * In-place initialisers, like torch.nn.init, drawing from an explicit generator (the default one
 * unless given). They write the storage directly and record nothing on the tape.
 */

function fill(t: Tensor, draw: () => number): Tensor {
  const { storage, offset } = t;
  for (let i = 0; i < t.size; i++) storage[offset + i] = draw();
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
  return fill(t, () => {
    for (;;) {
      const v = mean + std * generator.normal();
      if (v >= a && v <= b) return v;
    }
  });
}

/** torch.nn.init.xavier_uniform_: U(±gain·√(6 / (fan_in + fan_out))). */
export function xavierUniform_(t: Tensor, gain = 1, generator: Generator = defaultGenerator): Tensor {
  const { fanIn, fanOut } = fans(t);
  const bound = gain * Math.sqrt(6 / (fanIn + fanOut));
  return uniform_(t, -bound, bound, generator);
}
