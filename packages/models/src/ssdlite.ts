import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Module, ModuleList, ones_, Sequential, xavierUniform_, zeros_ } from '@parcnet/nn';
import { ConvLayer } from '@parcnet/parc';
import { concat, Generator, permute, reshape, slice, type Tensor } from '@parcnet/tensor';
import { ParcNet, parcnetScales, type ParcNetScale } from './parcnet.js';

/** cvnets' SeparableConv: `dw_conv` depthwise 3×3 + BN (no activation), then `pw_conv` 1×1. */
export class SeparableConv extends Module {
  readonly dwConv: ConvLayer;
  readonly pwConv: ConvLayer;

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

  forward(x: Tensor): Tensor {
    return this.pwConv.forward(this.dwConv.forward(x));
  }
}

/** One SSD head: an optional 1×1 projection, then the box-and-class predictor. */
class SsdHead extends Module {
  readonly projLayer: ConvLayer | null;
  readonly locClsLayer: Module;

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

  forward(x: Tensor): Tensor {
    return this.locClsLayer.forward(this.projLayer ? this.projLayer.forward(x) : x);
  }
}

export interface SsdLiteOptions {
  /** Classes including background at index 0 (81 for COCO). */
  numClasses?: number;
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
  readonly encoder: ParcNet;
  readonly extraLayers: Module[];
  readonly heads: SsdHead[];
  readonly numClasses: number;

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

  forwardDetections(x: Tensor): { confidences: Tensor; locations: Tensor } {
    const perLevel = this.features(x).map((map, level) => {
      const y = this.heads[level].forward(map); // [B, A·(4+C), H, W]
      const [b] = y.shape;
      return reshape(permute(y, [0, 2, 3, 1]), [b, -1, 4 + this.numClasses]); // [B, H·W·A, 4+C]
    });
    const all = concat(perLevel, 1);
    return { locations: slice(all, 2, 0, 4), confidences: slice(all, 2, 4, 4 + this.numClasses) };
  }

  /** [B, N, 4 + C]: per anchor the 4 box numbers, then the class logits. */
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

export const ssdliteParcnetS = (options: SsdLiteOptions = {}): SsdLite => new SsdLite(parcnetScales.s, options);
export const ssdliteParcnetXS = (options: SsdLiteOptions = {}): SsdLite => new SsdLite(parcnetScales.xs, options);
