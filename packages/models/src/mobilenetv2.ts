import { BatchNorm2d, Conv2d, Dropout, kaimingNormal_, Linear, Module, normal_, ones_, ReLU6, Sequential, zeros_ } from '@parcnet/nn';
import { FixedParc, makeDivisible } from '@parcnet/parc';
import { adaptiveAvgPool2d, concat, chunk, Generator, type Tensor } from '@parcnet/tensor';

/** torchvision's ConvBNReLU: Sequential(conv, BN, ReLU6), children 0, 1, 2. */
function convBNReLU(inC: number, outC: number, kernel = 3, stride = 1, groups = 1): Sequential {
  return new Sequential(new Conv2d(inC, outC, kernel, { stride, padding: (kernel - 1) / 2, groups, bias: false }), new BatchNorm2d(outC), new ReLU6());
}

/** torchvision's InvertedResidual (ReLU6, hidden = round(in·t), no rounding to 8). */
class MobileNetV2Block extends Module {
  readonly conv: Sequential;
  readonly useResidual: boolean;

  constructor(inC: number, outC: number, stride: number, expandRatio: number) {
    super();
    const hidden = Math.round(inC * expandRatio);
    const layers: Module[] = [];
    if (expandRatio !== 1) layers.push(convBNReLU(inC, hidden, 1));
    layers.push(convBNReLU(hidden, hidden, 3, stride, hidden), new Conv2d(hidden, outC, 1, { bias: false }), new BatchNorm2d(outC));
    this.conv = this.child('conv', new Sequential(...layers));
    this.useResidual = stride === 1 && inC === outC;
  }

  forward(x: Tensor): Tensor {
    const y = this.conv.forward(x);
    return this.useResidual ? x.add(y) : y;
  }
}

/** The official InvertedResidual_parc: 1×1 expand → half ParC-H, half ParC-W (depthwise) → BN → ReLU6 → 1×1 project. */
class ParcMobileNetV2Block extends Module {
  readonly pwExpand: Sequential;
  readonly gccH: FixedParc;
  readonly gccW: FixedParc;
  readonly bn: BatchNorm2d;
  readonly act = new ReLU6();
  readonly pwLinear: Sequential;
  readonly useResidual: boolean;

  constructor(inC: number, outC: number, stride: number, expandRatio: number, globalKernelSize: number, usePE: boolean) {
    super();
    const hidden = Math.round(inC * expandRatio);
    this.pwExpand = this.child('pw_expand', convBNReLU(inC, hidden, 1));
    this.gccH = this.child('gcc_H', new FixedParc(hidden / 2, 'H', globalKernelSize, { usePE }));
    this.gccW = this.child('gcc_W', new FixedParc(hidden / 2, 'W', globalKernelSize, { usePE }));
    this.bn = this.child('bn', new BatchNorm2d(hidden));
    this.child('act', this.act);
    this.pwLinear = this.child('pw_linear', new Sequential(new Conv2d(hidden, outC, 1, { bias: false }), new BatchNorm2d(outC)));
    this.useResidual = stride === 1 && inC === outC;
  }

  forward(x: Tensor): Tensor {
    const [h, w] = chunk(this.pwExpand.forward(x), 2, 1);
    const y = this.pwLinear.forward(this.act.forward(this.bn.forward(concat([this.gccH.forward(h), this.gccW.forward(w)], 1))));
    return this.useResidual ? x.add(y) : y;
  }
}

/** Rows [t, c, n, s, first ParC block index, map size G] of the official ParC-MobileNetV2 (spec §11). */
const setting = [
  [1, 16, 1, 1, 1, 112],
  [6, 24, 2, 2, 2, 56],
  [6, 32, 3, 2, 3, 28],
  [6, 64, 4, 2, 2, 14],
  [6, 96, 3, 1, 2, 14],
  [6, 160, 3, 2, 2, 7],
  [6, 320, 1, 1, 1, 7],
] as const;

/** Options of {@link MobileNetV2} and its builders. */
export interface MobileNetV2Options {
  /** Classifier outputs; default 1000. */
  numClasses?: number;
  /** Seed of the conv (kaiming-normal, fan_out) and Linear (N(0, 0.01)) initialisation; default 0. */
  seed?: number;
}

/**
 * torchvision's MobileNetV2 (width 1.0) and, with `parc`, the official ParC-MobileNetV2 whose blocks
 * features.9, .10, .13, .16 use fixed-size ParCs (224×224 inputs only). x: [N, 3, 224, 224] → [N, classes].
 */
export class MobileNetV2 extends Module {
  /** torchvision's `features`: stem ConvBNReLU 3 → 32 (stride 2), 17 inverted-residual blocks, ConvBNReLU → 1280 (`features.0` … `features.18`). */
  readonly features: Sequential;
  /** torchvision's `classifier`: `0` Dropout(0.2), `1` Linear 1280 → numClasses. */
  readonly classifier: Sequential;

  /** @param parc Build ParC-MobileNetV2 (fixed-size ParCs in features.9, .10, .13, .16) instead of the plain model. */
  constructor(parc: boolean, options: MobileNetV2Options = {}) {
    super();
    let input = makeDivisible(32, 8);
    const last = makeDivisible(1280, 8);
    const features: Module[] = [convBNReLU(3, input, 3, 2)];
    for (const [t, c, n, s, firstParc, g] of setting) {
      const output = makeDivisible(c, 8);
      for (let i = 0; i < n; i++) {
        const stride = i === 0 ? s : 1;
        features.push(parc && i >= firstParc
          ? new ParcMobileNetV2Block(input, output, stride, t, g, i === firstParc)
          : new MobileNetV2Block(input, output, stride, t));
        input = output;
      }
    }
    features.push(convBNReLU(input, last, 1));
    this.features = this.child('features', new Sequential(...features));
    this.classifier = this.child('classifier', new Sequential(new Dropout(0.2), new Linear(last, options.numClasses ?? 1000)));
    const generator = new Generator(options.seed ?? 0);
    for (const m of this.modules()) {
      if (m instanceof Conv2d) {
        kaimingNormal_(m.weight, { mode: 'fan_out', generator });
        if (m.bias) zeros_(m.bias);
      } else if (m instanceof BatchNorm2d) {
        ones_(m.weight!);
        zeros_(m.bias!);
      } else if (m instanceof Linear) {
        normal_(m.weight, 0, 0.01, generator);
        zeros_(m.bias!);
      }
    }
  }

  /** x: [N, 3, H, W] → logits [N, numClasses]; the ParC variant needs H = W = 224. */
  forward(x: Tensor): Tensor {
    const f = this.features.forward(x);
    return this.classifier.forward(adaptiveAvgPool2d(f, 1).reshape(x.shape[0], -1));
  }
}

/** torchvision's `mobilenet_v2()` (width 1.0): 3,504,872 parameters with 1000 classes (spec §11). */
export const mobilenetV2 = (options: MobileNetV2Options = {}): MobileNetV2 => new MobileNetV2(false, options);
/** The official ParC-MobileNetV2 (`parc_mv2`), 224×224 inputs only: 3,532,136 parameters with 1000 classes (spec §11). */
export const parcMobileNetV2 = (options: MobileNetV2Options = {}): MobileNetV2 => new MobileNetV2(true, options);
