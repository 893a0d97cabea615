import { conv2d, defaultGenerator, pad, zeros, type Generator, type Pair, type Tensor } from '@parcnet/tensor';
import { kaimingUniform_, uniform_, fans } from '../init.js';
import { Module } from '../module.js';

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
  bias?: boolean;
  /** 'circular' wraps the padding around (torch's padding_mode='circular'). */
  paddingMode?: 'zeros' | 'circular';
  generator?: Generator;
}

const asPair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

/** torch.nn.Conv2d, initialised as PyTorch does (kaiming_uniform a=√5, bias U(±1/√fan_in)). */
export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;
  readonly paddingMode: 'zeros' | 'circular';

  constructor(readonly inChannels: number, readonly outChannels: number, kernelSize: Pair, options: Conv2dOptions = {}) {
    super();
    const [kh, kw] = asPair(kernelSize);
    this.groups = options.groups ?? 1;
    this.stride = asPair(options.stride ?? 1);
    this.padding = asPair(options.padding ?? 0);
    this.dilation = asPair(options.dilation ?? 1);
    this.paddingMode = options.paddingMode ?? 'zeros';
    const generator = options.generator ?? defaultGenerator;
    this.weight = this.parameter('weight', kaimingUniform_(zeros([outChannels, inChannels / this.groups, kh, kw]), Math.sqrt(5), generator));
    if (options.bias ?? true) {
      const bound = 1 / Math.sqrt(fans(this.weight).fanIn);
      this.bias = this.parameter('bias', uniform_(zeros([outChannels]), -bound, bound, generator));
    } else {
      this.bias = null;
    }
  }

  forward(x: Tensor): Tensor {
    const options = { stride: this.stride, dilation: this.dilation, groups: this.groups, bias: this.bias };
    if (this.paddingMode === 'circular') {
      const [ph, pw] = this.padding;
      return conv2d(pad(x, [pw, pw, ph, ph], { mode: 'circular' }), this.weight, options);
    }
    return conv2d(x, this.weight, { ...options, padding: this.padding });
  }
}
