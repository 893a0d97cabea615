import { AdaptiveAvgPool2d, Conv2d, Dropout, Dropout2d, Module, ModuleList, Sequential, Upsample, kaimingNormal_, ones_, zeros_, BatchNorm2d } from '@parcnet/nn';
import { ConvLayer } from '@parcnet/parc';
import { concat, Generator, interpolate, type Tensor } from '@parcnet/tensor';
import { ParcNet, parcnetScales, type ParcNetScale } from './parcnet.js';

/** ASPP's image-pooling branch: global average pool, 1×1 ConvLayer, bilinear back to the map size. */
class AsppPooling extends Module {
  readonly asppPool: Sequential;

  constructor(inChannels: number, outChannels: number) {
    super();
    this.asppPool = this.child('aspp_pool', Sequential.named([
      ['global_pool', new AdaptiveAvgPool2d(1)],
      ['conv_1x1', new ConvLayer(inChannels, outChannels, 1, { activation: 'relu' })],
    ]));
  }

  forward(x: Tensor): Tensor {
    const [, , h, w] = x.shape;
    return interpolate(this.asppPool.forward(x), { size: [h, w], mode: 'bilinear', alignCorners: false });
  }
}

/** ASPP (spec §9): 1×1, three dilated 3×3 (6, 12, 18), image pooling; concat; 1×1 projection; dropout 0.1. */
class Aspp extends Module {
  readonly convs: ModuleList;
  readonly project: ConvLayer;
  readonly dropout: Dropout;

  constructor(inChannels: number, outChannels: number, rates: [number, number, number] = [6, 12, 18]) {
    super();
    this.convs = this.child('convs', new ModuleList<Module>([
      new ConvLayer(inChannels, outChannels, 1, { activation: 'relu' }),
      ...rates.map((dilation) => new ConvLayer(inChannels, outChannels, 3, { dilation, activation: 'relu' })),
      new AsppPooling(inChannels, outChannels),
    ]));
    this.project = this.child('project', new ConvLayer(5 * outChannels, outChannels, 1, { activation: 'relu' }));
    this.dropout = this.child('dropout', new Dropout(0.1));
  }

  forward(x: Tensor): Tensor {
    return this.dropout.forward(this.project.forward(concat(this.convs.items.map((c) => c.forward(x)), 1)));
  }
}

/** Options of {@link DeepLabV3} and its builder. */
export interface DeepLabV3Options {
  /** Classes of the segmentation output; default 21 (PASCAL VOC with background). */
  numClasses?: number;
  /** Seed of the initialisation: the encoder uses it, the head seed + 2; default 0. */
  seed?: number;
}

/**
 * DeepLabV3 on a ParC-Net encoder at output stride 16 (spec §9), with the official state-dict
 * layout (`encoder.*`, `seg_head.aspp.aspp_layer.*`, `seg_head.classifier.classifier.*`).
 * x: [B, 3, H, W] → logits [B, C, H, W] (upsampled ×16, bilinear).
 */
export class DeepLabV3 extends Module {
  /** `encoder`: the ParC-Net backbone at output stride 16, without `conv_1x1_exp` and `classifier`; its `layer_5` feeds the head. */
  readonly encoder: ParcNet;
  /** `seg_head`: `aspp.aspp_layer` (ASPP, 256 channels, rates 6, 12, 18), then `classifier` (Dropout2d 0.1, 1×1 conv → C, ×16 bilinear upsampling). */
  readonly segHead: Module;

  /** @param scale The backbone's scale, e.g. `parcnetScales.s` (the official model). */
  constructor(scale: ParcNetScale, options: DeepLabV3Options = {}) {
    super();
    const numClasses = options.numClasses ?? 21;
    this.encoder = this.child('encoder', new ParcNet(scale, { encoderOnly: true, outputStride: 16, seed: options.seed }));
    const channels = scale.stages[2].channels;
    const classifier = Sequential.named([
      ['classifier_dropout', new Dropout2d(0.1)],
      ['classifier', new ConvLayer(256, numClasses, 1, { bias: true, useNorm: false, activation: false })],
      ['up_16', new Upsample({ scaleFactor: 16, mode: 'bilinear', alignCorners: false })],
    ]);
    this.segHead = this.child('seg_head', new SegHead(new Aspp(channels, 256), classifier));
    // spec §9: the head is kaiming-normal (fan_out) with zero biases, BN 1/0.
    const generator = new Generator((options.seed ?? 0) + 2);
    for (const m of this.segHead.modules()) {
      if (m instanceof Conv2d) {
        kaimingNormal_(m.weight, { mode: 'fan_out', generator });
        if (m.bias) zeros_(m.bias);
      } else if (m instanceof BatchNorm2d) {
        if (m.weight) ones_(m.weight);
        if (m.bias) zeros_(m.bias);
      }
    }
  }

  /** x: [B, 3, H, W] → logits [B, C, 16·⌈H / 16⌉, 16·⌈W / 16⌉], i.e. [B, C, H, W] when H and W are multiples of 16. */
  forward(x: Tensor): Tensor {
    return this.segHead.forward(this.encoder.forwardEncoder(x).layer_5);
  }
}

/** `seg_head`: `aspp.aspp_layer` then `classifier`. */
class SegHead extends Module {
  readonly aspp: Sequential;

  constructor(aspp: Aspp, readonly classifier: Sequential) {
    super();
    this.aspp = this.child('aspp', Sequential.named([['aspp_layer', aspp]]));
    this.child('classifier', classifier);
  }

  forward(x: Tensor): Tensor {
    return this.classifier.forward(this.aspp.forward(x));
  }
}

/** DeepLabV3 on ParC-Net-S, the official segmenter (`deeplabv3_edgeformer_s.yaml`): 5,816,397 parameters with 21 classes (spec §9). */
export const deeplabv3ParcnetS = (options: DeepLabV3Options = {}): DeepLabV3 => new DeepLabV3(parcnetScales.s, options);
