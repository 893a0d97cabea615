import {
  adaptiveAvgPool2d, avgPool2d, defaultGenerator, gelu, hardsigmoid, hardswish, interpolate, matmul, maxPool2d,
  mul, rand, relu, relu6, sigmoid, silu, add, zeros, lt, cast, type Generator, type InterpolateOptions, type Pair,
  type Pool2dOptions, type Tensor,
} from '@parcnet/tensor';
import { fans, kaimingUniform_, uniform_ } from '../init.js';
import { Module } from '../module.js';

/** torch.nn.Linear: y = x · Wᵀ + b, W: [out, in]; PyTorch's default init. */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(readonly inFeatures: number, readonly outFeatures: number, options: { bias?: boolean; generator?: Generator } = {}) {
    super();
    const generator = options.generator ?? defaultGenerator;
    this.weight = this.parameter('weight', kaimingUniform_(zeros([outFeatures, inFeatures]), Math.sqrt(5), generator));
    const bound = 1 / Math.sqrt(fans(this.weight).fanIn);
    this.bias = options.bias ?? true ? this.parameter('bias', uniform_(zeros([outFeatures]), -bound, bound, generator)) : null;
  }

  forward(x: Tensor): Tensor {
    const y = matmul(x, this.weight.transpose(0, 1));
    return this.bias ? add(y, this.bias) : y;
  }
}

/** Elementwise dropout in training (scaled by 1/(1 − p)); the identity in eval. */
export class Dropout extends Module {
  /** The drop probability; settable (tests zero it for deterministic training-mode outputs). */
  constructor(public p = 0.5, readonly generator: Generator = defaultGenerator) {
    super();
  }

  forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    const keep = cast(lt(rand(x.shape, { generator: this.generator, dtype: x.dtype }), 1 - this.p), x.dtype);
    return mul(x, mul(keep, 1 / (1 - this.p)));
  }
}

/** Drops whole channels of [N, C, H, W] in training. */
export class Dropout2d extends Dropout {
  override forward(x: Tensor): Tensor {
    if (!this.training || this.p === 0) return x;
    const [n, c] = x.shape;
    const keep = cast(lt(rand([n, c, 1, 1], { generator: this.generator, dtype: x.dtype }), 1 - this.p), x.dtype);
    return mul(x, mul(keep, 1 / (1 - this.p)));
  }
}

/** A parameter-free module around a function of one tensor. */
abstract class Activation extends Module {
  protected abstract readonly fn: (x: Tensor) => Tensor;
  forward(x: Tensor): Tensor {
    return this.fn(x);
  }
}

export class ReLU extends Activation { protected fn = relu; }
export class ReLU6 extends Activation { protected fn = relu6; }
export class SiLU extends Activation { protected fn = silu; }
export class GELU extends Activation { protected fn = gelu; }
export class Hardswish extends Activation { protected fn = hardswish; }
export class Hardsigmoid extends Activation { protected fn = hardsigmoid; }
export class Sigmoid extends Activation { protected fn = sigmoid; }
export class Identity extends Activation { protected fn = (x: Tensor): Tensor => x; }

export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: Pair) {
    super();
  }
  forward(x: Tensor): Tensor {
    return adaptiveAvgPool2d(x, this.outputSize);
  }
}

export class AvgPool2d extends Module {
  constructor(readonly kernelSize: Pair, readonly options: Pool2dOptions = {}) {
    super();
  }
  forward(x: Tensor): Tensor {
    return avgPool2d(x, this.kernelSize, this.options);
  }
}

export class MaxPool2d extends Module {
  constructor(readonly kernelSize: Pair, readonly options: Omit<Pool2dOptions, 'countIncludePad'> = {}) {
    super();
  }
  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.kernelSize, this.options);
  }
}

export class Upsample extends Module {
  constructor(readonly options: InterpolateOptions) {
    super();
  }
  forward(x: Tensor): Tensor {
    return interpolate(x, this.options);
  }
}
