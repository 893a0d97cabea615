import { BatchNorm2d, Module, Sequential } from '@parcnet/nn';
import { add, concat, type Tensor } from '@parcnet/tensor';
import { ConvLayer } from './conv-layer.js';
import { ParcBlock } from './parc-block.js';

/** Options of {@link ParcStage}: one row of the scale tables (spec §5). */
export interface ParcStageOptions {
  /** Width s of the ParC blocks' input (dim = s / 2). */
  spatialChannels: number;
  /** FFN hidden width F of every block (`cf_ffn_channels`, 2·s in ParC-Net). */
  ffnChannels: number;
  /** Number of ParC blocks (`n_blocks`); only block 0 has PEs. */
  blocks: number;
  /** Meta kernel length K of every block (32 / 16 / 8 for `layer_3` / `layer_4` / `layer_5`). */
  metaKernelSize: number;
  /** How the global branch y rejoins the input x: 'add' → fusion(x + y) (XS), 'concat' → fusion(concat(y, x)) (S, H). */
  fusion: 'add' | 'concat';
  /** Dropout after each block's FFN; default 0.1 (see {@link ParcBlockOptions.dropout}). */
  dropout?: number;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * The ParC stage (official `outer_frame_v1`, spec §4), c channels in and out, spatial size kept:
 * y = channel_adaptive(spatial_global_rep(dim_adaptive(x))), then local_global_fusion of x + y
 * ('add') or of concat(y, x) ('concat', the global branch first).
 */
export class ParcStage extends Module {
  /** `dim_adaptive`: ConvLayer c → s, 3×3, groups gcd(s, c), BN, Swish; then a bare 1×1 conv s → s (no bias, BN or activation). */
  readonly dimAdaptive: Sequential;
  /** `spatial_global_rep`: the `blocks` ParC blocks (dim = s / 2), then BatchNorm2d(s) at index `blocks`. */
  readonly spatialGlobalRep: Sequential;
  /** `channel_adaptive`: ConvLayer s → c, 1×1, groups gcd(s, c), BN, Swish. */
  readonly channelAdaptive: ConvLayer;
  /** `local_global_fusion`: ConvLayer c → c ('add') or 2c → c ('concat'), 3×3, BN, Swish. */
  readonly localGlobalFusion: ConvLayer;

  /**
   * @param channels c, the stage's input and output width.
   * @param options The stage's row of the scale table.
   */
  constructor(readonly channels: number, readonly options: ParcStageOptions) {
    super();
    const c = channels;
    const s = options.spatialChannels;
    const groups = gcd(s, c);
    this.dimAdaptive = this.child('dim_adaptive', new Sequential(
      new ConvLayer(c, s, 3, { groups }),
      new ConvLayer(s, s, 1, { useNorm: false, activation: false }),
    ));
    const blocks: Module[] = [];
    for (let j = 0; j < options.blocks; j++) {
      blocks.push(new ParcBlock(s / 2, { metaKernelSize: options.metaKernelSize, ffnDim: options.ffnChannels, usePE: j === 0, dropout: options.dropout }));
    }
    this.spatialGlobalRep = this.child('spatial_global_rep', new Sequential(...blocks, new BatchNorm2d(s)));
    this.channelAdaptive = this.child('channel_adaptive', new ConvLayer(s, c, 1, { groups }));
    this.localGlobalFusion = this.child('local_global_fusion', new ConvLayer(options.fusion === 'add' ? c : 2 * c, c, 3));
  }

  /** x: [B, c, H, W] → [B, c, H, W]. */
  forward(x: Tensor): Tensor {
    const y = this.channelAdaptive.forward(this.spatialGlobalRep.forward(this.dimAdaptive.forward(x)));
    return this.localGlobalFusion.forward(this.options.fusion === 'add' ? add(x, y) : concat([y, x], 1));
  }
}
