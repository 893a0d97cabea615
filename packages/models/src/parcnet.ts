import {
  BatchNorm2d, Conv2d, Dropout, kaimingNormal_, kaimingUniform_, LayerNorm, Linear, Module, normal_, ones_, Sequential, truncNormal_, zeros_,
} from '@parcnet/nn';
import { ConvLayer, InvertedResidual, ParcBlock, ParcStage } from '@parcnet/parc';
import { Generator, ShapeError, type Tensor } from '@parcnet/tensor';
import { GlobalPool } from './common.js';

/**
 * One ParC stage's row of the scale table (spec §5).
 * @inline
 */
interface StageScale {
  /** Output width c of the stage's stride-2 MobileNetV2 block and of the stage. */
  channels: number;
  /** Width s of the ParC blocks (`cf_s_channels`; block dim = s / 2). */
  spatial: number;
  /** FFN hidden width F (`cf_ffn_channels`). */
  ffn: number;
  /** Number of ParC blocks. */
  blocks: number;
  /** Meta kernel length K. */
  metaKernel: number;
}

/** The widths and depths of one ParC-Net size (official `get_configuration`, spec §5); see {@link parcnetScales}. */
export interface ParcNetScale {
  /** `conv_1`: output channels and kernel side (stride 2, or 1 with the CIFAR stem). */
  stem: {
    /** Output channels of `conv_1` (16 for XS and S, 48 for H). */
    channels: number;
    /** Kernel side of `conv_1` (3 for XS and S, 5 for H). */
    kernel: number;
  };
  /** Output width of `layer_1` (one MobileNetV2 block, stride 1). */
  layer1: number;
  /** Output width of `layer_2` (three MobileNetV2 blocks, the first with stride 2). */
  layer2: number;
  /**
   * `layer_3`, `layer_4`, `layer_5`, each a stride-2 MobileNetV2 block to `channels` (c), then a ParC stage of
   * `blocks` blocks of width `spatial` (s), FFN width `ffn` (F) and meta kernel length `metaKernel` (K).
   */
  stages: [StageScale, StageScale, StageScale];
  /** How each ParC stage merges its global branch with its input: 'add' (XS) or 'concat' (S, H). */
  fusion: 'add' | 'concat';
}

/** The official scale tables (cvnets/models/classification/config/edgeformer.py, spec §5). */
export const parcnetScales: Record<'xs' | 's' | 'h', ParcNetScale> = {
  xs: {
    stem: { channels: 16, kernel: 3 }, layer1: 32, layer2: 64, fusion: 'add',
    stages: [
      { channels: 96, spatial: 96, ffn: 192, blocks: 2, metaKernel: 32 },
      { channels: 128, spatial: 128, ffn: 256, blocks: 3, metaKernel: 16 },
      { channels: 160, spatial: 160, ffn: 320, blocks: 2, metaKernel: 8 },
    ],
  },
  s: {
    stem: { channels: 16, kernel: 3 }, layer1: 32, layer2: 64, fusion: 'concat',
    stages: [
      { channels: 96, spatial: 192, ffn: 384, blocks: 2, metaKernel: 32 },
      { channels: 128, spatial: 256, ffn: 512, blocks: 4, metaKernel: 16 },
      { channels: 160, spatial: 320, ffn: 640, blocks: 3, metaKernel: 8 },
    ],
  },
  h: {
    stem: { channels: 48, kernel: 5 }, layer1: 96, layer2: 144, fusion: 'concat',
    stages: [
      { channels: 216, spatial: 324, ffn: 648, blocks: 3, metaKernel: 32 },
      { channels: 288, spatial: 432, ffn: 864, blocks: 9, metaKernel: 16 },
      { channels: 432, spatial: 432, ffn: 864, blocks: 3, metaKernel: 8 },
    ],
  },
};

/** Options of {@link ParcNet} and its builders {@link parcnetXS}, {@link parcnetS}, {@link parcnetH}. */
export interface ParcNetOptions {
  /** Classifier outputs; default 1000 (ImageNet). */
  numClasses?: number;
  /** Stem stride 1 instead of 2, for 32×32 inputs (spec §12; not official); default false. */
  cifarStem?: boolean;
  /** Dropout probability before the classifier's Linear; default 0.2, as official. */
  classifierDropout?: number;
  /** Dropout probability after each ParC block's FFN; default 0.1, as official. */
  blockDropout?: number;
  /** Seed of the initialisation (spec §6); default 0. */
  seed?: number;
  /**
   * 32 (classification, the default), or 16: `layer_5`'s down-sampling block keeps stride 1
   * (DeepLabV3, spec §9; its dilation has no effect there, §4).
   */
  outputStride?: 16 | 32;
  /** Without `conv_1x1_exp` and `classifier`: the backbone of SSDLite and DeepLabV3 (spec §8, §9); default false. */
  encoderOnly?: boolean;
}

/** The stage outputs `forwardStages` reports, in order. */
export const parcnetStageNames = ['conv_1', 'layer_1', 'layer_2', 'layer_3', 'layer_4', 'layer_5', 'conv_1x1_exp'] as const;

/**
 * ParC-Net (the official `edgeformer`, spec §5): stem, two MobileNetV2 stages, three stages of
 * (stride-2 MobileNetV2 block, ParC stage), a 1×1 expansion and the classifier. x: [N, 3, H, W]
 * (BGR in [0, 1] for the official weights, spec §7) → logits [N, numClasses].
 *
 * Like the official model it carries `residual`, a second name for `layer_5.0`, between `layer_2`
 * and `layer_3`: the state dict lists those tensors under both names (spec §7), parameters once.
 */
export class ParcNet extends Module {
  /** `conv_1`, the stem: ConvLayer 3 → stem channels, stride 2 (1 with the CIFAR stem), BN, Swish. */
  readonly conv1: ConvLayer;
  /** `layer_1`: one MobileNetV2 block (expand 4, stride 1). */
  readonly layer1: Sequential;
  /** `layer_2`: three MobileNetV2 blocks, the first with stride 2. */
  readonly layer2: Sequential;
  /** `layer_3`: `0` stride-2 MobileNetV2 block, `1` ParC stage (K = 32). */
  readonly layer3: Sequential;
  /** `layer_4`: `0` stride-2 MobileNetV2 block, `1` ParC stage (K = 16). */
  readonly layer4: Sequential;
  /** `layer_5`: `0` MobileNetV2 block (stride 2, or 1 at output stride 16), `1` ParC stage (K = 8); `0` is also `residual`. */
  readonly layer5: Sequential;
  /** `conv_1x1_exp`: ConvLayer c5 → min(4·c5, 960), 1×1, BN, Swish; null in an encoder (options.encoderOnly). */
  readonly conv1x1Exp: ConvLayer | null;
  /** `classifier`: `global_pool` (mean over H, W), `dropout`, `fc` Linear → numClasses; null in an encoder. */
  readonly classifier: Sequential | null;

  /** @param scale The size's table, e.g. `parcnetScales.xs`; kept as {@link ParcNet.scale}. */
  constructor(readonly scale: ParcNetScale, options: ParcNetOptions = {}) {
    super();
    const numClasses = options.numClasses ?? 1000;
    const stemStride = options.cifarStem ? 1 : 2;
    const mv2 = (inC: number, outC: number, stride: number): InvertedResidual => new InvertedResidual(inC, outC, stride, 4);
    const conv1 = new ConvLayer(3, scale.stem.channels, scale.stem.kernel, { stride: stemStride });
    const layer1 = new Sequential(mv2(scale.stem.channels, scale.layer1, 1));
    const layer2 = new Sequential(mv2(scale.layer1, scale.layer2, 2), mv2(scale.layer2, scale.layer2, 1), mv2(scale.layer2, scale.layer2, 1));
    let previous = scale.layer2;
    const stages = scale.stages.map((s, i) => {
      const down = mv2(previous, s.channels, i === 2 && options.outputStride === 16 ? 1 : 2);
      previous = s.channels;
      return new Sequential(down, new ParcStage(s.channels, {
        spatialChannels: s.spatial, ffnChannels: s.ffn, blocks: s.blocks, metaKernelSize: s.metaKernel,
        fusion: scale.fusion, dropout: options.blockDropout ?? 0.1,
      }));
    });
    const expanded = Math.min(4 * previous, 960);

    this.conv1 = this.child('conv_1', conv1);
    this.layer1 = this.child('layer_1', layer1);
    this.layer2 = this.child('layer_2', layer2);
    this.alias('residual', stages[2].at(0));
    this.layer3 = this.child('layer_3', stages[0]);
    this.layer4 = this.child('layer_4', stages[1]);
    this.layer5 = this.child('layer_5', stages[2]);
    this.conv1x1Exp = options.encoderOnly ? null : this.child('conv_1x1_exp', new ConvLayer(previous, expanded, 1));
    this.classifier = options.encoderOnly
      ? null
      : this.child('classifier', Sequential.named([
          ['global_pool', new GlobalPool()],
          ['dropout', new Dropout(options.classifierDropout ?? 0.2)],
          ['fc', new Linear(expanded, numClasses)],
        ]));
    initializeWeights(this, new Generator(options.seed ?? 0));
  }

  /** The output of each of conv_1, layer_1 … layer_5, conv_1x1_exp (the official end points). */
  forwardStages(x: Tensor): Record<(typeof parcnetStageNames)[number], Tensor> {
    const stages = this.forwardEncoder(x);
    if (!this.conv1x1Exp) throw new ShapeError('ParcNet.forwardStages: an encoder has no conv_1x1_exp; use forwardEncoder');
    return { ...stages, conv_1x1_exp: this.conv1x1Exp.forward(stages.layer_5) };
  }

  /** The outputs of conv_1 and layer_1 … layer_5 (what detection and segmentation heads read). */
  forwardEncoder(x: Tensor): Record<Exclude<(typeof parcnetStageNames)[number], 'conv_1x1_exp'>, Tensor> {
    const conv1 = this.conv1.forward(x);
    const layer1 = this.layer1.forward(conv1);
    const layer2 = this.layer2.forward(layer1);
    const layer3 = this.layer3.forward(layer2);
    const layer4 = this.layer4.forward(layer3);
    const layer5 = this.layer5.forward(layer4);
    return { conv_1: conv1, layer_1: layer1, layer_2: layer2, layer_3: layer3, layer_4: layer4, layer_5: layer5 };
  }

  /** x: [N, 3, H, W] → logits [N, numClasses]; a ShapeError for an encoder. */
  forward(x: Tensor): Tensor {
    if (!this.classifier) throw new ShapeError('ParcNet.forward: an encoder (encoderOnly) has no classifier; use forwardEncoder');
    return this.classifier.forward(this.forwardStages(x).conv_1x1_exp);
  }
}

/**
 * The official initialisation (spec §6) from one generator: convs kaiming-normal (fan_out), conv
 * biases 0, Linear trunc-normal(0.02) with bias 0, norms 1/0, ParC meta kernels U(±1/√K) and
 * meta PEs N(0, 1).
 */
export function initializeWeights(model: Module, generator: Generator): void {
  for (const m of model.modules()) {
    if (m instanceof Conv2d) {
      kaimingNormal_(m.weight, { mode: 'fan_out', generator });
      if (m.bias) zeros_(m.bias);
    } else if (m instanceof Linear) {
      truncNormal_(m.weight, { std: 0.02, generator });
      if (m.bias) zeros_(m.bias);
    } else if (m instanceof BatchNorm2d || m instanceof LayerNorm) {
      if (m.weight) ones_(m.weight);
      if (m.bias) zeros_(m.bias);
    } else if (m instanceof ParcBlock) {
      for (const k of [m.metaKernel1H, m.metaKernel1W, m.metaKernel2H, m.metaKernel2W]) kaimingUniform_(k, Math.sqrt(5), generator);
      for (const pe of [m.metaPE1H, m.metaPE1W, m.metaPE2H, m.metaPE2W]) if (pe) normal_(pe, 0, 1, generator);
    }
  }
}

/** ParC-Net-XS (official `scale_xs`, 'add' fusion): 2,185,384 parameters with 1000 classes, 1,550,794 with 10 (spec §5). */
export const parcnetXS = (options: ParcNetOptions = {}): ParcNet => new ParcNet(parcnetScales.xs, options);
/** ParC-Net-S (official `scale_s`, the paper's model, 'concat' fusion): 5,037,088 parameters with 1000 classes (spec §5). */
export const parcnetS = (options: ParcNetOptions = {}): ParcNet => new ParcNet(parcnetScales.s, options);
/** ParC-Net-H (official `scale_h`, 5×5 stem, 'concat' fusion): 20,403,940 parameters with 1000 classes (spec §5). */
export const parcnetH = (options: ParcNetOptions = {}): ParcNet => new ParcNet(parcnetScales.h, options);
