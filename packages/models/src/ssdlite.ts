import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Module, ModuleList, ones_, Sequential, xavierUniform_, zeros_ } from '@parcnet/nn';
import { ConvLayer } from '@parcnet/parc';
import { concat, Generator, permute, reshape, slice, type Tensor } from '@parcnet/tensor';
import { ParcNet, parcnetScales, type ParcNetScale } from './parcnet.js';

/** cvnets' SeparableConv: `dw_conv` depthwise 3×3 + BN (no activation), then `pw_conv` 1×1. */
export class SeparableConv extends Module {
  /** `dw_conv`: ConvLayer in → in, 3×3, depthwise, stride, BN, no activation. */
  readonly dwConv: ConvLayer;
  /** `pw_conv`: ConvLayer in → out, 1×1; BN + ReLU ('bn-relu', extra layers) or bias only ('bias', head predictors). */
  readonly pwConv: ConvLayer;

  /** @param options `stride` of the depthwise conv (default 1) and the `pointwise` variant. */
  constructor(inChannels: number, outChannels: number, options: { stride?: number; pointwise: 'bn-relu' | 'bias' }) {
    super();
    this.dwConv = this.child('dw_conv', new ConvLayer(inChannels, inChannels, 3, { stride: options.stride ?? 1, groups: inChannels, activation: false }));
    this.pwConv = this.child(
      'pw_conv',
      options.pointwise === 'bn-relu'
        ? new ConvLayer(inChannels, outChannels, 1, { activation: 'relu' })
        : new ConvLayer(inChannels, outChannels, 1, { bias: true, useNorm: false, activation: false }),
    );
  }

  /** x: [B, in, H, W] → [B, out, ⌈H / stride⌉, ⌈W / stride⌉]. */
  forward(x: Tensor): Tensor {
    return this.pwConv.forward(this.dwConv.forward(x));
  }
}

/** One SSD head: an optional 1×1 projection, then the box-and-class predictor. */
class SsdHead extends Module {
  /** `proj_layer`: ConvLayer in → proj, 1×1, BN, ReLU; null when in = proj or on the global level. */
  readonly projLayer: ConvLayer | null;
  /** `loc_cls_layer`: SeparableConv → A·(4 + C) with a biased pointwise conv, or on the global level a biased 1×1 ConvLayer. */
  readonly locClsLayer: Module;

  /**
   * @param projChannels Projection width of this level (512, 256, 256, 128, 128, 64).
   * @param anchors A, anchors per cell (6, or 4 on the global level).
   * @param numClasses C, including the background.
   * @param global Whether this is the 1×1 level (OS −1): no projection, a 1×1 predictor.
   */
  constructor(inChannels: number, projChannels: number, anchors: number, numClasses: number, global: boolean) {
    super();
    const outputs = anchors * (4 + numClasses);
    // spec §8: levels whose channels already equal the projection width, and the 1×1 level, do not project.
    this.projLayer = !global && inChannels !== projChannels ? this.child('proj_layer', new ConvLayer(inChannels, projChannels, 1, { activation: 'relu' })) : null;
    const width = this.projLayer ? projChannels : inChannels;
    this.locClsLayer = this.child(
      'loc_cls_layer',
      global ? new ConvLayer(width, outputs, 1, { bias: true, useNorm: false, activation: false }) : new SeparableConv(width, outputs, { pointwise: 'bias' }),
    );
  }

  /** x: [B, in, H, W] → [B, A·(4 + C), H, W]. */
  forward(x: Tensor): Tensor {
    return this.locClsLayer.forward(this.projLayer ? this.projLayer.forward(x) : x);
  }
}

/** Options of {@link SsdLite} and its builders. */
export interface SsdLiteOptions {
  /** Classes including background at index 0; default 81 (COCO's 80 + background). */
  numClasses?: number;
  /** Seed of the initialisation: the encoder uses it, the extra layers and heads seed + 1; default 0. */
  seed?: number;
}

const PROJ_CHANNELS = [512, 256, 256, 128, 128, 64];

/**
 * SSDLite on a ParC-Net encoder (spec §8), with the official state-dict layout (`encoder.*`,
 * `extra_layers.os_64/os_128/os_256/os_-1`, `ssd_heads.0…5`). x: [B, 3, H, W] (BGR in [0, 1]) →
 * { confidences [B, N, C], locations [B, N, 4] }, anchors in the order of `ssdAnchors`
 * (levels OS 16, 32, 64, 128, 256, global; cells row-major; the anchors of a cell together).
 */
export class SsdLite extends Module {
  /** `encoder`: the ParC-Net backbone without `conv_1x1_exp` and `classifier`; its `layer_4` and `layer_5` feed levels 0 and 1. */
  readonly encoder: ParcNet;
  /** The four modules of `extra_layers` in level order: `os_64`, `os_128`, `os_256` (stride-2 SeparableConv) and `os_-1` (global pool + 1×1). */
  readonly extraLayers: Module[];
  /** `ssd_heads.0` … `ssd_heads.5`, one per level: optional 1×1 projection, then the predictor of A·(4 + C) channels. */
  readonly heads: SsdHead[];
  /** C, the number of classes including the background at index 0. */
  readonly numClasses: number;

  /** @param scale The backbone's scale, e.g. `parcnetScales.s` (the official detector). */
  constructor(scale: ParcNetScale, options: SsdLiteOptions = {}) {
    super();
    const numClasses = options.numClasses ?? 81;
    this.numClasses = numClasses;
    this.encoder = this.child('encoder', new ParcNet(scale, { encoderOnly: true, seed: options.seed }));
    const [, c4, c5] = scale.stages.map((s) => s.channels);
    const extras = new ExtraLayers(c5);
    this.child('extra_layers', extras);
    this.extraLayers = extras.levels;
    const inputs = [c4, c5, 256, 128, 128, 64];
    const heads = new ModuleList(inputs.map((c, level) => new SsdHead(c, PROJ_CHANNELS[level], level === 5 ? 4 : 6, numClasses, level === 5)));
    this.child('ssd_heads', heads);
    this.heads = heads.items;
    // spec §8: xavier-uniform convs with zero bias in the extra layers and heads, BN 1/0.
    const generator = new Generator((options.seed ?? 0) + 1);
    for (const part of [extras, heads]) {
      for (const m of part.modules()) {
        if (m instanceof Conv2d) {
          xavierUniform_(m.weight, 1, generator);
          if (m.bias) zeros_(m.bias);
        } else if (m instanceof BatchNorm2d) {
          if (m.weight) ones_(m.weight);
          if (m.bias) zeros_(m.bias);
        }
      }
    }
  }

  /** The six feature maps the heads read, in level order. */
  features(x: Tensor): Tensor[] {
    const enc = this.encoder.forwardEncoder(x);
    const maps = [enc.layer_4, enc.layer_5];
    let previous = enc.layer_5;
    for (const extra of this.extraLayers) {
      previous = extra.forward(previous);
      maps.push(previous);
    }
    return maps;
  }

  /** x: [B, 3, H, W] → the raw head outputs of all anchors, N of them (3232 at 320×320). */
  forwardDetections(x: Tensor): {
    /** [B, N, C] class logits (softmax over the last axis gives the scores). */
    confidences: Tensor;
    /** [B, N, 4] box offsets (t_cx, t_cy, t_w, t_h) against each anchor, variances 0.1 / 0.2 (spec §8). */
    locations: Tensor;
  } {
    const perLevel = this.features(x).map((map, level) => {
      const y = this.heads[level].forward(map); // [B, A·(4+C), H, W]
      const [b] = y.shape;
      return reshape(permute(y, [0, 2, 3, 1]), [b, -1, 4 + this.numClasses]); // [B, H·W·A, 4+C]
    });
    const all = concat(perLevel, 1);
    return { locations: slice(all, 2, 0, 4), confidences: slice(all, 2, 4, 4 + this.numClasses) };
  }

  /** x: [B, 3, H, W] → [B, N, 4 + C], per anchor the 4 box offsets then the C class logits (the two outputs of `forwardDetections` joined). */
  forward(x: Tensor): Tensor {
    const { locations, confidences } = this.forwardDetections(x);
    return concat([locations, confidences], 2);
  }
}

/** `extra_layers`: os_64, os_128, os_256 (stride-2 separable convs) and os_-1 (global pool + 1×1). */
class ExtraLayers extends Module {
  readonly levels: Module[];

  constructor(inChannels: number) {
    super();
    this.levels = [
      this.child('os_64', new SeparableConv(inChannels, 256, { stride: 2, pointwise: 'bn-relu' })),
      this.child('os_128', new SeparableConv(256, 128, { stride: 2, pointwise: 'bn-relu' })),
      this.child('os_256', new SeparableConv(128, 128, { stride: 2, pointwise: 'bn-relu' })),
      this.child('os_-1', new Sequential(new AdaptiveAvgPool2d(1), new ConvLayer(128, 64, 1, { useNorm: false, activation: 'relu' }))),
    ];
  }

  forward(x: Tensor): Tensor {
    return this.levels.reduce((y, m) => m.forward(y), x);
  }
}

/** SSDLite on ParC-Net-S, the official detector (`ssd_edgeformer_s.yaml`): 5,197,282 parameters with 81 classes (spec §8). */
export const ssdliteParcnetS = (options: SsdLiteOptions = {}): SsdLite => new SsdLite(parcnetScales.s, options);
/** SSDLite on ParC-Net-XS (not official; same heads and extra layers as {@link ssdliteParcnetS}). */
export const ssdliteParcnetXS = (options: SsdLiteOptions = {}): SsdLite => new SsdLite(parcnetScales.xs, options);
