import { Dropout, LayerNorm, Linear, Module, Sequential, SiLU } from '@parcnet/nn';
import { ConvLayer, InvertedResidual } from '@parcnet/parc';
import { add, concat, Generator, interpolate, matmul, mul, softmax, type Tensor } from '@parcnet/tensor';
import { GlobalPool } from './common.js';
import { initializeWeights } from './parcnet.js';

/** cvnets' MultiHeadAttention: one qkv projection, scaled dot-product attention per head, an output projection. */
class MultiHeadAttention extends Module {
  readonly qkvProj: Linear;
  readonly attnDropout: Dropout;
  readonly outProj: Linear;

  constructor(readonly embedDim: number, readonly numHeads: number, attnDropout: number) {
    super();
    this.qkvProj = this.child('qkv_proj', new Linear(embedDim, 3 * embedDim));
    this.attnDropout = this.child('attn_dropout', new Dropout(attnDropout));
    this.outProj = this.child('out_proj', new Linear(embedDim, embedDim));
  }

  // x: [B, N, d] → [B, N, d]
  forward(x: Tensor): Tensor {
    const [b, n] = x.shape;
    const headDim = this.embedDim / this.numHeads;
    const qkv = this.qkvProj.forward(x).reshape(b, n, 3, this.numHeads, headDim).transpose(1, 3); // [B, heads, 3, N, hd]
    const query = mul(qkv.slice(2, 0, 1).squeeze(2), headDim ** -0.5);
    const key = qkv.slice(2, 1, 2).squeeze(2);
    const value = qkv.slice(2, 2, 3).squeeze(2);
    const attention = this.attnDropout.forward(softmax(matmul(query, key.transpose(2, 3)), -1));
    return this.outProj.forward(matmul(attention, value).transpose(1, 2).reshape(b, n, -1));
  }
}

/** cvnets' pre-norm TransformerEncoder with a Swish FFN. */
class TransformerEncoder extends Module {
  readonly preNormMha: Sequential;
  readonly preNormFfn: Sequential;

  constructor(dim: number, ffnDim: number, heads: number, dropout: number) {
    super();
    this.preNormMha = this.child('pre_norm_mha', new Sequential(new LayerNorm(dim), new MultiHeadAttention(dim, heads, 0), new Dropout(dropout)));
    this.preNormFfn = this.child('pre_norm_ffn', new Sequential(
      new LayerNorm(dim), new Linear(dim, ffnDim), new SiLU(), new Dropout(0), new Linear(ffnDim, dim), new Dropout(dropout),
    ));
  }

  forward(x: Tensor): Tensor {
    const h = add(x, this.preNormMha.forward(x));
    return add(h, this.preNormFfn.forward(h));
  }
}

/**
 * The MobileViT block (cvnets MobileViTBlock): local 3×3 conv + 1×1 to d, unfold into 2×2 patches,
 * transformer layers, LayerNorm, fold, 1×1 back to c, and a 3×3 fusion of concat(input, y).
 */
class MobileViTBlock extends Module {
  readonly localRep: Sequential;
  readonly globalRep: Sequential;
  readonly convProj: ConvLayer;
  readonly fusion: ConvLayer;
  readonly patch = 2;

  constructor(channels: number, dim: number, ffnDim: number, blocks: number, heads: number, dropout: number) {
    super();
    this.localRep = this.child('local_rep', Sequential.named([
      ['conv_3x3', new ConvLayer(channels, channels, 3)],
      ['conv_1x1', new ConvLayer(channels, dim, 1, { useNorm: false, activation: false })],
    ]));
    const layers: Module[] = Array.from({ length: blocks }, () => new TransformerEncoder(dim, ffnDim, heads, dropout));
    this.globalRep = this.child('global_rep', new Sequential(...layers, new LayerNorm(dim)));
    this.convProj = this.child('conv_proj', new ConvLayer(dim, channels, 1));
    this.fusion = this.child('fusion', new ConvLayer(2 * channels, channels, 3));
  }

  forward(x: Tensor): Tensor {
    const p = this.patch;
    let fm = this.localRep.forward(x);
    const [b, d, h, w] = fm.shape;
    const nh = Math.ceil(h / p);
    const nw = Math.ceil(w / p);
    if (nh * p !== h || nw * p !== w) fm = interpolate(fm, { size: [nh * p, nw * p], mode: 'bilinear', alignCorners: false });
    // [B, d, H, W] → [B·P, N, d] with P = p·p pixels per patch and N = nh·nw patches.
    const patches = fm.reshape(b * d * nh, p, nw, p).transpose(1, 2).reshape(b, d, nh * nw, p * p).transpose(1, 3).reshape(b * p * p, nh * nw, d);
    const mixed = this.globalRep.forward(patches);
    let folded = mixed.contiguous().reshape(b, p * p, nh * nw, d).transpose(1, 3).reshape(b * d * nh, nw, p, p).transpose(1, 2).reshape(b, d, nh * p, nw * p);
    if (nh * p !== h || nw * p !== w) folded = interpolate(folded, { size: [h, w], mode: 'bilinear', alignCorners: false });
    return this.fusion.forward(concat([x, this.convProj.forward(folded)], 1));
  }
}

/**
 * The widths and depths of one MobileViT size (spec §11).
 * @inline
 */
interface MobileViTScale {
  /** Output width of `layer_1` (one MobileNetV2 block). */
  layer1: number;
  /** Output width of `layer_2` (three MobileNetV2 blocks, the first with stride 2). */
  layer2: number;
  /**
   * `layer_3` … `layer_5`, each a stride-2 MobileNetV2 block to `channels`, then a MobileViT block with
   * `blocks` transformer layers of width `dim` and FFN width `ffn`.
   */
  stages: { channels: number; dim: number; ffn: number; blocks: number }[];
}

const scales: Record<'s' | 'xs', MobileViTScale> = {
  s: { layer1: 32, layer2: 64, stages: [{ channels: 96, dim: 144, ffn: 288, blocks: 2 }, { channels: 128, dim: 192, ffn: 384, blocks: 4 }, { channels: 160, dim: 240, ffn: 480, blocks: 3 }] },
  xs: { layer1: 32, layer2: 48, stages: [{ channels: 64, dim: 96, ffn: 192, blocks: 2 }, { channels: 80, dim: 120, ffn: 240, blocks: 4 }, { channels: 96, dim: 144, ffn: 288, blocks: 3 }] },
};

/** Options of {@link MobileViT} and its builders. */
export interface MobileViTOptions {
  /** Classifier outputs; default 1000. */
  numClasses?: number;
  /** Dropout probability before the classifier's Linear; default 0.1, as in the official MobileViT configs. */
  classifierDropout?: number;
  /** Seed of the initialisation (ParC-Net's rule, spec §6); default 0. */
  seed?: number;
}

/** Apple's MobileViT as shipped in the ParC-Net repository (spec §11): 4 heads, 2×2 patches. */
export class MobileViT extends Module {
  /** `conv_1`: ConvLayer 3 → 16, 3×3, stride 2, BN, Swish. */
  readonly conv1: ConvLayer;
  /** `layer_1` … `layer_5`: two MobileNetV2 stages, then three of (stride-2 MobileNetV2 block, MobileViT block). */
  readonly layers: Sequential[];
  /** `conv_1x1_exp`: ConvLayer c5 → min(4·c5, 960), 1×1, BN, Swish (640 for S, 384 for XS). */
  readonly conv1x1Exp: ConvLayer;
  /** `classifier`: `global_pool` (mean over H, W), `dropout`, `fc` Linear → numClasses. */
  readonly classifier: Sequential;

  /** @param scale The size's widths and depths (the builders {@link mobilevitS} and {@link mobilevitXS} pass them). */
  constructor(scale: MobileViTScale, options: MobileViTOptions = {}) {
    super();
    const mv2 = (i: number, o: number, s: number): InvertedResidual => new InvertedResidual(i, o, s, 4);
    this.conv1 = this.child('conv_1', new ConvLayer(3, 16, 3, { stride: 2 }));
    const layers = [
      new Sequential(mv2(16, scale.layer1, 1)),
      new Sequential(mv2(scale.layer1, scale.layer2, 2), mv2(scale.layer2, scale.layer2, 1), mv2(scale.layer2, scale.layer2, 1)),
    ];
    let previous = scale.layer2;
    for (const s of scale.stages) {
      layers.push(new Sequential(mv2(previous, s.channels, 2), new MobileViTBlock(s.channels, s.dim, s.ffn, s.blocks, 4, 0.1)));
      previous = s.channels;
    }
    this.layers = layers.map((l, i) => this.child(`layer_${i + 1}`, l));
    const expanded = Math.min(4 * previous, 960);
    this.conv1x1Exp = this.child('conv_1x1_exp', new ConvLayer(previous, expanded, 1));
    this.classifier = this.child('classifier', Sequential.named([
      ['global_pool', new GlobalPool()],
      ['dropout', new Dropout(options.classifierDropout ?? 0.1)],
      ['fc', new Linear(expanded, options.numClasses ?? 1000)],
    ]));
    initializeWeights(this, new Generator(options.seed ?? 0));
  }

  /** x: [N, 3, H, W] → logits [N, numClasses]. */
  forward(x: Tensor): Tensor {
    let h = this.conv1.forward(x);
    for (const layer of this.layers) h = layer.forward(h);
    return this.classifier.forward(this.conv1x1Exp.forward(h));
  }
}

/** MobileViT-S (`mobilevit_small.yaml`): 5,578,632 parameters with 1000 classes (spec §11). */
export const mobilevitS = (options: MobileViTOptions = {}): MobileViT => new MobileViT(scales.s, options);
/** MobileViT-XS (`mobilevit_x_small.yaml`): 2,317,848 parameters with 1000 classes (spec §11). */
export const mobilevitXS = (options: MobileViTOptions = {}): MobileViT => new MobileViT(scales.xs, options);
