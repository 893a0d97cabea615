import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Dropout, Hardsigmoid, Hardswish, kaimingUniform_, Module, normal_, Sequential } from '@parcnet/nn';
import { add, chunk, concat, feedForwardNormAct, isTracing, mul, zeros, type NormActStageOptions, type Tensor } from '@parcnet/tensor';
import { needsGrad } from './conv-layer.js';
import type { ParcMixerHalf } from './kernel-names.js';
import { parcConv, parcMixer, parcTables } from './ops/parc-conv.js';
import { resampleKernel } from './ops/resample.js';

/** The channel attention of a ParC block (official `CA_layer`): x · hardsigmoid(BN(1×1(hardswish(BN(1×1(gap(x))))))). */
export class ChannelAttention extends Module {
  /** `gap`: global average pool to [B, C, 1, 1] (no parameters). */
  readonly gap = this.child('gap', new AdaptiveAvgPool2d(1));
  /** `fc`: 1×1 conv C → r (no bias), BN, Hardswish, 1×1 conv r → C (no bias), BN, Hardsigmoid (`fc.0` … `fc.5`). */
  readonly fc: Sequential;

  /**
   * @param channels C, the input width (2·dim in a ParC block).
   * @param reduced r, the bottleneck width ((2·dim) // 16 in a ParC block, spec §3).
   */
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

  /** x: [B, C, H, W] → [B, C, H, W], x scaled per channel by a gate in [0, 1] computed from its mean. */
  forward(x: Tensor): Tensor {
    return mul(x, this.fc.forward(this.gap.forward(x)));
  }
}

/** Options of {@link ParcBlock}; `outer_frame_v1` sets them per stage (spec §3). */
export interface ParcBlockOptions {
  /** Meta kernel length K (32 / 16 / 8 in ParC-Net's three stages). */
  metaKernelSize: number;
  /** FFN hidden width F (4·dim in every ParC-Net). */
  ffnDim: number;
  /** Meta positional encodings `meta_pe_*`, N(0, 1) at init (official: the first block of each stage only). */
  usePE: boolean;
  /** ParC biases `meta_{1,2}_{H,W}_bias` [dim], N(0, 1) at init; default false (no official model has them). */
  bias?: boolean;
  /** Dropout probability after the FFN (`ffn.5`); default 0.1, as official. The FFN's hidden dropout is 0. */
  dropout?: number;
}

/**
 * The ParC block (official `gcc_ca_mf_block`, spec §3). Input and output [B, 2·dim, H, W].
 * Half the channels run ParC-H then ParC-W, the other half ParC-W then ParC-H, each added back
 * to its input; then an FFN gated by channel attention: out = z + CA(FFN(z)).
 * Non-square maps resample each axis's kernels and PEs to that axis's length (spec §2.2).
 */
export class ParcBlock extends Module {
  /** Meta kernel of branch 1's first ParC (axis H), `meta_kernel_1_H` [dim, 1, K, 1]; U(±1/√K) at init (spec §6). */
  readonly metaKernel1H: Tensor;
  /** Meta kernel of branch 2's first ParC (axis W), `meta_kernel_1_W` [dim, 1, 1, K]. */
  readonly metaKernel1W: Tensor;
  /** Meta kernel of branch 2's second ParC (axis H), `meta_kernel_2_H` [dim, 1, K, 1]. */
  readonly metaKernel2H: Tensor;
  /** Meta kernel of branch 1's second ParC (axis W), `meta_kernel_2_W` [dim, 1, 1, K]. */
  readonly metaKernel2W: Tensor;
  /** `meta_pe_1_H` [1, dim, K, 1], added to branch 1's input before `pre_Norm_1`; null without PEs. */
  readonly metaPE1H: Tensor | null = null;
  /** `meta_pe_1_W` [1, dim, 1, K], added to branch 2's input before `pre_Norm_2`; null without PEs. */
  readonly metaPE1W: Tensor | null = null;
  /** `meta_pe_2_H` [1, dim, K, 1], added to branch 2 between its two ParCs; null without PEs. */
  readonly metaPE2H: Tensor | null = null;
  /** `meta_pe_2_W` [1, dim, 1, K], added to branch 1 between its two ParCs; null without PEs. */
  readonly metaPE2W: Tensor | null = null;
  /** `meta_1_H_bias` [dim], bias of branch 1's first ParC; null unless `bias`. */
  readonly bias1H: Tensor | null = null;
  /** `meta_1_W_bias` [dim], bias of branch 2's first ParC; null unless `bias`. */
  readonly bias1W: Tensor | null = null;
  /** `meta_2_H_bias` [dim], bias of branch 2's second ParC; null unless `bias`. */
  readonly bias2H: Tensor | null = null;
  /** `meta_2_W_bias` [dim], bias of branch 1's second ParC; null unless `bias`. */
  readonly bias2W: Tensor | null = null;
  /** `pre_Norm_1`: BatchNorm2d(dim) on branch 1 (channels 0 … dim − 1), before its ParCs. */
  readonly preNorm1: BatchNorm2d;
  /** `pre_Norm_2`: BatchNorm2d(dim) on branch 2 (channels dim … 2·dim − 1), before its ParCs. */
  readonly preNorm2: BatchNorm2d;
  /** `ffn`: BN(2·dim), 1×1 conv 2·dim → F, Hardswish, Dropout(0), 1×1 conv F → 2·dim, Dropout (`ffn.0` … `ffn.5`). */
  readonly ffn: Sequential;
  /** `ca`: the channel attention gating the FFN output, reduction width (2·dim) // 16. */
  readonly ca: ChannelAttention;
  private readonly ffnNorm: BatchNorm2d;
  private readonly ffnHidden: Conv2d;
  private readonly ffnOutput: Conv2d;

  /** @param dim Channels per branch: the block takes and returns 2·dim channels (dim = s / 2 of the stage). */
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
    this.ffnNorm = new BatchNorm2d(channels);
    this.ffnHidden = new Conv2d(channels, options.ffnDim, 1);
    this.ffnOutput = new Conv2d(options.ffnDim, channels, 1);
    this.ffn = this.child('ffn', new Sequential(
      this.ffnNorm,
      this.ffnHidden,
      new Hardswish(),
      new Dropout(0),
      this.ffnOutput,
      new Dropout(options.dropout ?? 0.1),
    ));
    this.ca = this.child('ca', new ChannelAttention(channels, Math.floor(channels / 16)));
  }

  /** x: [B, 2·dim, H, W] → [B, 2·dim, H, W]; H and W need not be equal (spec §2.2). */
  forward(x: Tensor): Tensor {
    const halves = this.mixerInference(x);
    const z = halves ? parcMixer(x, halves) : this.mix(x);
    const stages = this.ffnInference(z);
    return add(z, this.ca.forward(stages ? feedForwardNormAct(z, stages) : this.ffn.forward(z)));
  }

  /** The two branches' ParCs with their PEs, pre-norms and residuals, concatenated: the modules' way. */
  private mix(x: Tensor): Tensor {
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
    return concat([add(r1, v1), add(r2, v2)], 1);
  }

  /**
   * The branches as one inference kernel's tables (parcMixer): each pre-norm, with the PE before it,
   * folded into its branch's first ParC, the PE between the ParCs into the second's offset; or null
   * where the modules must run: in training, when gradients are wanted, while an exporter traces.
   */
  private mixerInference(x: Tensor): [ParcMixerHalf, ParcMixerHalf] | null {
    if (this.training || isTracing() || needsGrad(x, this)) return null;
    const norm1 = this.preNorm1.inferenceAffine();
    const norm2 = this.preNorm2.inferenceAffine();
    if (!norm1 || !norm2) return null;
    const [h, w] = [x.shape[2], x.shape[3]];
    // The modules add pe_1 only when both branches have one.
    const pe1 = this.metaPE1H !== null && this.metaPE1W !== null;
    return [
      {
        first: parcTables(this.metaKernel1H, 'H', h, { metaPE: pe1 ? this.metaPE1H : null, bias: this.bias1H, inputAffine: norm1 }),
        second: parcTables(this.metaKernel2W, 'W', w, { metaPE: this.metaPE2W, bias: this.bias2W }),
      },
      {
        first: parcTables(this.metaKernel1W, 'W', w, { metaPE: pe1 ? this.metaPE1W : null, bias: this.bias1W, inputAffine: norm2 }),
        second: parcTables(this.metaKernel2H, 'H', h, { metaPE: this.metaPE2H, bias: this.bias2H }),
      },
    ];
  }

  /**
   * The FFN as one inference kernel's stages (feedForwardNormAct: its norm, the 1×1 conv with its
   * bias and Hardswish, the 1×1 conv with its bias; its dropouts are the identity in evaluation),
   * or null where the modules must run: in training, when gradients are wanted, while an exporter
   * traces.
   */
  private ffnInference(z: Tensor): { norm: { scale: Float64Array; shift: Float64Array }; hidden: NormActStageOptions; output: NormActStageOptions } | null {
    if (this.training || isTracing() || needsGrad(z, this.ffn)) return null;
    const norm = this.ffnNorm.inferenceAffine();
    if (!norm) return null;
    const stage = (conv: Conv2d, activation: 'hardswish' | null): NormActStageOptions => ({
      weight: conv.weight,
      scale: new Float64Array(conv.outChannels).fill(1),
      shift: conv.bias ? Float64Array.from(conv.bias.toTypedArray()) : new Float64Array(conv.outChannels),
      activation,
    });
    return { norm, hidden: stage(this.ffnHidden, 'hardswish'), output: stage(this.ffnOutput, null) };
  }
}
