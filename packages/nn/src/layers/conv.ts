import { conv2d, defaultGenerator, pad, zeros, type Generator, type Pair, type Tensor } from '@parcnet/tensor';
import { kaimingUniform_, uniform_, fans } from '../init.js';
import { Module } from '../module.js';

/** Options of {@link Conv2d}, as torch.nn.Conv2d's arguments; a number stands for the same value on H and W. */
export interface Conv2dOptions {
  /** Step of the kernel over [H, W]; default 1. */
  stride?: Pair;
  /** Padding added on each side of H and W; default 0. */
  padding?: Pair;
  /** Spacing between kernel taps over [H, W]; default 1. */
  dilation?: Pair;
  /** Independent channel groups (inChannels for a depthwise conv); must divide both channel counts; default 1. */
  groups?: number;
  /** Learn a bias added per output channel; default true. */
  bias?: boolean;
  /** 'zeros' (default) pads with zeros; 'circular' wraps the padding around (torch's padding_mode='circular'). */
  paddingMode?: 'zeros' | 'circular';
  /** Source of the initial weights and bias; default the global `defaultGenerator`. */
  generator?: Generator;
}

const asPair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : [v[0], v[1]]);

/** torch.nn.Conv2d, initialised as PyTorch does (kaiming_uniform a=√5, bias U(±1/√fan_in)). */
export class Conv2d extends Module {
  /** The filters [outChannels, inChannels / groups, kh, kw] (`weight`). */
  readonly weight: Tensor;
  /** [outChannels] (`bias`), or null with `bias: false`. */
  readonly bias: Tensor | null;
  /** [sh, sw], the kernel's step over H and W; default [1, 1]. */
  readonly stride: [number, number];
  /** [ph, pw] added on each side of H and W; default [0, 0]. */
  readonly padding: [number, number];
  /** [dh, dw], the spacing between kernel taps; default [1, 1]. */
  readonly dilation: [number, number];
  /** Channel groups, each convolved independently; default 1. */
  readonly groups: number;
  /** How the padding is filled: 'zeros' (default) or 'circular' (the input wraps around). */
  readonly paddingMode: 'zeros' | 'circular';

  /**
   * @param inChannels C of the input [N, C, H, W].
   * @param outChannels The number of filters: the channels of the output.
   * @param kernelSize [kh, kw], or one number for both.
   */
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

  /** x: [N, inChannels, H, W] → [N, outChannels, Ho, Wo], Ho = ⌊(H + 2·ph − dh·(kh − 1) − 1) / sh⌋ + 1 (W alike). */
  forward(x: Tensor): Tensor {
    const options = { stride: this.stride, dilation: this.dilation, groups: this.groups, bias: this.bias };
    if (this.paddingMode === 'circular') {
      const [ph, pw] = this.padding;
      return conv2d(pad(x, [pw, pw, ph, ph], { mode: 'circular' }), this.weight, options);
    }
    return conv2d(x, this.weight, { ...options, padding: this.padding });
  }
}
