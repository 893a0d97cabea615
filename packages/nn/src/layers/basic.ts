import {
  adaptiveAvgPool2d, avgPool2d, defaultGenerator, dropout, dropout2d, gelu, hardsigmoid, hardswish, interpolate, matmul,
  maxPool2d, relu, relu6, sigmoid, silu, add, zeros, type Generator, type InterpolateOptions, type Pair,
  type Pool2dOptions, type Tensor,
} from '@parcnet/tensor';
import { fans, kaimingUniform_, uniform_ } from '../init.js';
import { Module } from '../module.js';

/** torch.nn.Linear: y = x · Wᵀ + b, W: [out, in]; PyTorch's default init. */
export class Linear extends Module {
  /** W [outFeatures, inFeatures] (`weight`), initialised U(±1/√inFeatures) (kaiming_uniform, a = √5). */
  readonly weight: Tensor;
  /** b [outFeatures] (`bias`), initialised U(±1/√inFeatures); null with `bias: false`. */
  readonly bias: Tensor | null;

  /**
   * @param inFeatures The size of the input's last dim.
   * @param outFeatures The size of the output's last dim.
   * @param options `bias` (default true) and the `generator` of the initial values (default the global `defaultGenerator`).
   */
  constructor(readonly inFeatures: number, readonly outFeatures: number, options: { bias?: boolean; generator?: Generator } = {}) {
    super();
    const generator = options.generator ?? defaultGenerator;
    this.weight = this.parameter('weight', kaimingUniform_(zeros([outFeatures, inFeatures]), Math.sqrt(5), generator));
    const bound = 1 / Math.sqrt(fans(this.weight).fanIn);
    this.bias = options.bias ?? true ? this.parameter('bias', uniform_(zeros([outFeatures]), -bound, bound, generator)) : null;
  }

  /** x: [..., inFeatures] → [..., outFeatures]. */
  forward(x: Tensor): Tensor {
    const y = matmul(x, this.weight.transpose(0, 1));
    return this.bias ? add(y, this.bias) : y;
  }
}

/** torch.nn.Dropout: elementwise dropout in training (scaled by 1/(1 − p)); the identity in eval. */
export class Dropout extends Module {
  /**
   * @param p The drop probability, default 0.5; settable (tests zero it for deterministic training-mode outputs).
   * @param generator Source of the random masks; default the global `defaultGenerator`.
   */
  constructor(public p = 0.5, readonly generator: Generator = defaultGenerator) {
    super();
  }

  /** x of any shape → the same shape, each element zeroed with probability p and the rest scaled by 1/(1 − p); x itself in eval. */
  forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training, { generator: this.generator });
  }
}

/** torch.nn.Dropout2d: drops whole channels of [N, C, H, W] in training; the identity in eval. */
export class Dropout2d extends Dropout {
  /** x: [N, C, H, W] → the same shape, each channel (n, c) zeroed with probability p and the rest scaled by 1/(1 − p); x itself in eval. */
  override forward(x: Tensor): Tensor {
    return dropout2d(x, this.p, this.training, { generator: this.generator });
  }
}

/** A parameter-free module around a function of one tensor. */
abstract class Activation extends Module {
  protected abstract readonly fn: (x: Tensor) => Tensor;
  /** Applies the activation elementwise: x of any shape → a tensor of the same shape. */
  forward(x: Tensor): Tensor {
    return this.fn(x);
  }
}

/** torch.nn.ReLU: max(x, 0), elementwise. */
export class ReLU extends Activation {
  /** The tensor op `relu`. */
  protected fn = relu;
}

/** torch.nn.ReLU6: min(max(x, 0), 6), elementwise. */
export class ReLU6 extends Activation {
  /** The tensor op `relu6`. */
  protected fn = relu6;
}

/** torch.nn.SiLU (swish): x · σ(x), elementwise. */
export class SiLU extends Activation {
  /** The tensor op `silu`. */
  protected fn = silu;
}

/** torch.nn.GELU, exact (approximate='none'): x · Φ(x) = 0.5 · x · (1 + erf(x / √2)), elementwise. */
export class GELU extends Activation {
  /** The tensor op `gelu`. */
  protected fn = gelu;
}

/** torch.nn.Hardswish: x · min(max(x + 3, 0), 6) / 6, elementwise. */
export class Hardswish extends Activation {
  /** The tensor op `hardswish`. */
  protected fn = hardswish;
}

/** torch.nn.Hardsigmoid: min(max(x + 3, 0), 6) / 6, elementwise. */
export class Hardsigmoid extends Activation {
  /** The tensor op `hardsigmoid`. */
  protected fn = hardsigmoid;
}

/** torch.nn.Sigmoid: 1 / (1 + e^(−x)), elementwise. */
export class Sigmoid extends Activation {
  /** The tensor op `sigmoid`. */
  protected fn = sigmoid;
}

/** torch.nn.Identity: returns its input tensor itself (a placeholder where a layer is optional). */
export class Identity extends Activation {
  /** x ↦ x, the same tensor. */
  protected fn = (x: Tensor): Tensor => x;
}

/** torch.nn.AdaptiveAvgPool2d: averages [N, C, H, W] over PyTorch's bins into a fixed [N, C, Ho, Wo]. */
export class AdaptiveAvgPool2d extends Module {
  /** @param outputSize [Ho, Wo], or one number for both (1 for global average pooling). */
  constructor(readonly outputSize: Pair) {
    super();
  }
  /** x: [N, C, H, W] → [N, C, Ho, Wo], [Ho, Wo] = outputSize. */
  forward(x: Tensor): Tensor {
    return adaptiveAvgPool2d(x, this.outputSize);
  }
}

/** torch.nn.AvgPool2d (floor mode): the mean of each kernel window of [N, C, H, W]. */
export class AvgPool2d extends Module {
  /**
   * @param kernelSize The window [kh, kw], or one number for both.
   * @param options `stride` (default kernelSize), `padding` (default 0, at most half the kernel) and `countIncludePad` (count padded zeros in the divisor; default true).
   */
  constructor(readonly kernelSize: Pair, readonly options: Pool2dOptions = {}) {
    super();
  }
  /** x: [N, C, H, W] → [N, C, Ho, Wo], Ho = ⌊(H + 2·ph − kh) / sh⌋ + 1 (W alike). */
  forward(x: Tensor): Tensor {
    return avgPool2d(x, this.kernelSize, this.options);
  }
}

/** torch.nn.MaxPool2d (floor mode): the maximum of each kernel window of [N, C, H, W]. */
export class MaxPool2d extends Module {
  /**
   * @param kernelSize The window [kh, kw], or one number for both.
   * @param options `stride` (default kernelSize) and `padding` (default 0, at most half the kernel).
   */
  constructor(readonly kernelSize: Pair, readonly options: Omit<Pool2dOptions, 'countIncludePad'> = {}) {
    super();
  }
  /** x: [N, C, H, W] → [N, C, Ho, Wo], Ho = ⌊(H + 2·ph − kh) / sh⌋ + 1 (W alike). */
  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.kernelSize, this.options);
  }
}

/** torch.nn.Upsample: resizes [N, C, H, W] by nearest (default) or bilinear interpolation. */
export class Upsample extends Module {
  /** @param options Exactly one of `size` and `scaleFactor`; `mode` (default 'nearest'); `alignCorners` (bilinear only, default false). */
  constructor(readonly options: InterpolateOptions) {
    super();
  }
  /** x: [N, C, H, W] → [N, C, Ho, Wo]: [Ho, Wo] = size, or ⌊[H, W] · scaleFactor⌋. */
  forward(x: Tensor): Tensor {
    return interpolate(x, this.options);
  }
}
