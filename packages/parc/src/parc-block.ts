import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Dropout, Hardsigmoid, Hardswish, kaimingUniform_, Module, normal_, Sequential } from '@parcnet/nn';
import { add, chunk, concat, mul, zeros, type Tensor } from '@parcnet/tensor';
import { parcConv } from './ops/parc-conv.js';
import { resampleKernel } from './ops/resample.js';

/** The channel attention of a ParC block (official `CA_layer`): x · hardsigmoid(BN(1×1(hardswish(BN(1×1(gap(x))))))). */
export class ChannelAttention extends Module {
  readonly gap = this.child('gap', new AdaptiveAvgPool2d(1));
  readonly fc: Sequential;

  constructor(channels: number, reduced: number) {
    super();
    this.fc = this.child('fc', new Sequential(
      new Conv2d(channels, reduced, 1, { bias: false }),
      new BatchNorm2d(reduced),
      new Hardswish(),
      new Conv2d(reduced, channels, 1, { bias: false }),
      new BatchNorm2d(channels),
      new Hardsigmoid(),
    ));
  }

  forward(x: Tensor): Tensor {
    return mul(x, this.fc.forward(this.gap.forward(x)));
  }
}

export interface ParcBlockOptions {
  /** Meta kernel length K (32 / 16 / 8 in ParC-Net's three stages). */
  metaKernelSize: number;
  /** FFN hidden width F (4·dim in every ParC-Net). */
  ffnDim: number;
  /** Meta positional encodings (the first block of each stage only). */
  usePE: boolean;
  /** ParC biases; no official model has them. */
  bias?: boolean;
  /** Dropout after the FFN (0.1 officially); the FFN's hidden dropout is 0. */
  dropout?: number;
}

/**
 * The ParC block (official `gcc_ca_mf_block`, spec §3). Input and output [B, 2·dim, H, W].
 * Half the channels run ParC-H then ParC-W, the other half ParC-W then ParC-H, each added back
 * to its input; then an FFN gated by channel attention: out = z + CA(FFN(z)).
 * Non-square maps resample each axis's kernels and PEs to that axis's length (spec §2.2).
 */
export class ParcBlock extends Module {
  readonly metaKernel1H: Tensor;
  readonly metaKernel1W: Tensor;
  readonly metaKernel2H: Tensor;
  readonly metaKernel2W: Tensor;
  readonly metaPE1H: Tensor | null = null;
  readonly metaPE1W: Tensor | null = null;
  readonly metaPE2H: Tensor | null = null;
  readonly metaPE2W: Tensor | null = null;
  readonly bias1H: Tensor | null = null;
  readonly bias1W: Tensor | null = null;
  readonly bias2H: Tensor | null = null;
  readonly bias2W: Tensor | null = null;
  readonly preNorm1: BatchNorm2d;
  readonly preNorm2: BatchNorm2d;
  readonly ffn: Sequential;
  readonly ca: ChannelAttention;

  constructor(readonly dim: number, options: ParcBlockOptions) {
    super();
    const k = options.metaKernelSize;
    // Meta kernels keep the default init of the throw-away depthwise conv they come from:
    // kaiming_uniform(a = √5) with fan_in = K, i.e. U(±1/√K) (spec §6).
    const kernel = (shape: number[]): Tensor => kaimingUniform_(zeros(shape));
    this.metaKernel1H = this.parameter('meta_kernel_1_H', kernel([dim, 1, k, 1]));
    this.metaKernel1W = this.parameter('meta_kernel_1_W', kernel([dim, 1, 1, k]));
    this.metaKernel2H = this.parameter('meta_kernel_2_H', kernel([dim, 1, k, 1]));
    this.metaKernel2W = this.parameter('meta_kernel_2_W', kernel([dim, 1, 1, k]));
    if (options.usePE) {
      // PEs are N(0, 1) at construction and never re-initialised (spec §6).
      this.metaPE1H = this.parameter('meta_pe_1_H', normal_(zeros([1, dim, k, 1])));
      this.metaPE1W = this.parameter('meta_pe_1_W', normal_(zeros([1, dim, 1, k])));
      this.metaPE2H = this.parameter('meta_pe_2_H', normal_(zeros([1, dim, k, 1])));
      this.metaPE2W = this.parameter('meta_pe_2_W', normal_(zeros([1, dim, 1, k])));
    }
    if (options.bias) {
      this.bias1H = this.parameter('meta_1_H_bias', normal_(zeros([dim])));
      this.bias1W = this.parameter('meta_1_W_bias', normal_(zeros([dim])));
      this.bias2H = this.parameter('meta_2_H_bias', normal_(zeros([dim])));
      this.bias2W = this.parameter('meta_2_W_bias', normal_(zeros([dim])));
    }
    this.preNorm1 = this.child('pre_Norm_1', new BatchNorm2d(dim));
    this.preNorm2 = this.child('pre_Norm_2', new BatchNorm2d(dim));
    const channels = 2 * dim;
    this.ffn = this.child('ffn', new Sequential(
      new BatchNorm2d(channels),
      new Conv2d(channels, options.ffnDim, 1),
      new Hardswish(),
      new Dropout(0),
      new Conv2d(options.ffnDim, channels, 1),
      new Dropout(options.dropout ?? 0.1),
    ));
    this.ca = this.child('ca', new ChannelAttention(channels, Math.floor(channels / 16)));
  }

  forward(x: Tensor): Tensor {
    const [r1, r2] = chunk(x, 2, 1);
    const [h, w] = [x.shape[2], x.shape[3]];
    let x1 = r1;
    let x2 = r2;
    // pe_1 is added before the pre-norms; pe_2 between the two ParCs, inside the second one.
    if (this.metaPE1H && this.metaPE1W) {
      x1 = add(x1, resampleKernel(this.metaPE1H, h, 'H'));
      x2 = add(x2, resampleKernel(this.metaPE1W, w, 'W'));
    }
    x1 = this.preNorm1.forward(x1);
    x2 = this.preNorm2.forward(x2);
    const u1 = parcConv(x1, this.metaKernel1H, { axis: 'H', bias: this.bias1H });
    const u2 = parcConv(x2, this.metaKernel1W, { axis: 'W', bias: this.bias1W });
    const v1 = parcConv(u1, this.metaKernel2W, { axis: 'W', metaPE: this.metaPE2W, bias: this.bias2W });
    const v2 = parcConv(u2, this.metaKernel2H, { axis: 'H', metaPE: this.metaPE2H, bias: this.bias2H });
    const z = concat([add(r1, v1), add(r2, v2)], 1);
    return add(z, this.ca.forward(this.ffn.forward(z)));
  }
}
