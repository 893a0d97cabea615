import { BatchNorm2d, Module, Sequential } from '@parcnet/nn';
import { add, concat, type Tensor } from '@parcnet/tensor';
import { ConvLayer } from './conv-layer.js';
import { ParcBlock } from './parc-block.js';

export interface ParcStageOptions {
  /** Width s of the ParC blocks' input (dim = s / 2). */
  spatialChannels: number;
  ffnChannels: number;
  blocks: number;
  metaKernelSize: number;
  fusion: 'add' | 'concat';
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
  readonly dimAdaptive: Sequential;
  readonly spatialGlobalRep: Sequential;
  readonly channelAdaptive: ConvLayer;
  readonly localGlobalFusion: ConvLayer;

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

  forward(x: Tensor): Tensor {
    const y = this.channelAdaptive.forward(this.spatialGlobalRep.forward(this.dimAdaptive.forward(x)));
    return this.localGlobalFusion.forward(this.options.fusion === 'add' ? add(x, y) : concat([y, x], 1));
  }
}
