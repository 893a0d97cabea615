import { AdaptiveAvgPool2d, BatchNorm2d, Conv2d, kaimingNormal_, Linear, MaxPool2d, Module, ones_, ReLU, Sequential, zeros_ } from '@parcnet/nn';
import { FixedParc } from '@parcnet/parc';
import { chunk, concat, Generator, type Tensor } from '@parcnet/tensor';

const conv1x1 = (inC: number, outC: number, stride = 1): Conv2d => new Conv2d(inC, outC, 1, { stride, bias: false });

/** torchvision's Bottleneck (stride on the 3×3), or the official ParC_block whose 3×3 becomes a dense ParC-H / ParC-W pair. */
class Bottleneck extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly conv2: Conv2d | null = null;
  readonly parcH: FixedParc | null = null;
  readonly parcW: FixedParc | null = null;
  readonly bn2: BatchNorm2d;
  readonly conv3: Conv2d;
  readonly bn3: BatchNorm2d;
  readonly relu: ReLU;
  readonly downsample: Sequential | null;

  constructor(inC: number, planes: number, stride: number, downsample: Sequential | null, parcKernel: number | null) {
    super();
    const width = planes;
    this.conv1 = this.child('conv1', conv1x1(inC, width));
    this.bn1 = this.child('bn1', new BatchNorm2d(width));
    if (parcKernel === null) {
      this.conv2 = this.child('conv2', new Conv2d(width, width, 3, { stride, padding: 1, bias: false }));
    } else {
      this.parcH = this.child('parc_H', new FixedParc(width / 2, 'H', parcKernel, { usePE: true, groups: 1 }));
      this.parcW = this.child('parc_W', new FixedParc(width / 2, 'W', parcKernel, { usePE: true, groups: 1 }));
    }
    this.bn2 = this.child('bn2', new BatchNorm2d(width));
    this.conv3 = this.child('conv3', conv1x1(width, planes * 4));
    this.bn3 = this.child('bn3', new BatchNorm2d(planes * 4));
    this.relu = this.child('relu', new ReLU());
    this.downsample = downsample ? this.child('downsample', downsample) : null;
  }

  forward(x: Tensor): Tensor {
    let out = this.relu.forward(this.bn1.forward(this.conv1.forward(x)));
    if (this.conv2) {
      out = this.conv2.forward(out);
    } else {
      const [h, w] = chunk(out, 2, 1);
      out = concat([this.parcH!.forward(h), this.parcW!.forward(w)], 1);
    }
    out = this.bn3.forward(this.conv3.forward(this.relu.forward(this.bn2.forward(out))));
    return this.relu.forward(out.add(this.downsample ? this.downsample.forward(x) : x));
  }
}

/** Options of {@link ResNet50} and its builders. */
export interface ResNetOptions {
  /** Classifier outputs; default 1000. */
  numClasses?: number;
  /** Seed of the conv weights' kaiming-normal (fan_out) initialisation; default 0. */
  seed?: number;
}

/**
 * torchvision's ResNet50 and, with `parc`, the official ParC-ResNet50: layer3.3–5 (G = 14) and
 * layer4.2 (G = 7) use dense fixed-size ParCs (224×224 inputs only).
 */
export class ResNet50 extends Module {
  /** `conv1`: the 7×7 stem conv 3 → 64, stride 2, padding 3, no bias. */
  readonly conv1: Conv2d;
  /** `bn1`: BatchNorm2d(64) after the stem. */
  readonly bn1: BatchNorm2d;
  /** `relu`: the ReLU after `bn1` (each bottleneck has its own). */
  readonly relu: ReLU;
  /** `maxpool`: 3×3 max pool, stride 2, padding 1. */
  readonly maxpool: MaxPool2d;
  /** `layer1` … `layer4`: 3, 4, 6, 3 bottleneck blocks of widths 64, 128, 256, 512 (outputs ×4), strides 1, 2, 2, 2. */
  readonly layers: Sequential[];
  /** `avgpool`: adaptive average pool to 1×1. */
  readonly avgpool: AdaptiveAvgPool2d;
  /** `fc`: Linear 2048 → numClasses (PyTorch's default initialisation). */
  readonly fc: Linear;

  /** @param parc Build ParC-ResNet50 (dense fixed-size ParCs in layer3.3–5 and layer4.2) instead of the plain model. */
  constructor(parc: boolean, options: ResNetOptions = {}) {
    super();
    this.conv1 = this.child('conv1', new Conv2d(3, 64, 7, { stride: 2, padding: 3, bias: false }));
    this.bn1 = this.child('bn1', new BatchNorm2d(64));
    this.relu = this.child('relu', new ReLU());
    this.maxpool = this.child('maxpool', new MaxPool2d(3, { stride: 2, padding: 1 }));
    let inC = 64;
    const plan = [
      { planes: 64, blocks: 3, stride: 1, firstParc: Infinity, g: 0 },
      { planes: 128, blocks: 4, stride: 2, firstParc: Infinity, g: 0 },
      { planes: 256, blocks: 6, stride: 2, firstParc: parc ? 3 : Infinity, g: 14 },
      { planes: 512, blocks: 3, stride: 2, firstParc: parc ? 2 : Infinity, g: 7 },
    ];
    this.layers = plan.map((p, li) => {
      const blocks: Module[] = [];
      for (let i = 0; i < p.blocks; i++) {
        const stride = i === 0 ? p.stride : 1;
        const downsample = i === 0 && (stride !== 1 || inC !== p.planes * 4)
          ? new Sequential(conv1x1(inC, p.planes * 4, stride), new BatchNorm2d(p.planes * 4)) : null;
        blocks.push(new Bottleneck(inC, p.planes, stride, downsample, i >= p.firstParc ? p.g : null));
        inC = p.planes * 4;
      }
      return this.child(`layer${li + 1}`, new Sequential(...blocks));
    });
    this.avgpool = this.child('avgpool', new AdaptiveAvgPool2d(1));
    this.fc = this.child('fc', new Linear(2048, options.numClasses ?? 1000));
    const generator = new Generator(options.seed ?? 0);
    for (const m of this.modules()) {
      // Conv weights (ParC included) kaiming-normal fan_out; ParC biases keep PyTorch's default (spec §11).
      if (m instanceof Conv2d) kaimingNormal_(m.weight, { mode: 'fan_out', generator });
      else if (m instanceof BatchNorm2d) {
        ones_(m.weight!);
        zeros_(m.bias!);
      }
    }
  }

  /** x: [N, 3, H, W] → logits [N, numClasses]; the ParC variant needs H = W = 224. */
  forward(x: Tensor): Tensor {
    let h = this.maxpool.forward(this.relu.forward(this.bn1.forward(this.conv1.forward(x))));
    for (const layer of this.layers) h = layer.forward(h);
    return this.fc.forward(this.avgpool.forward(h).flatten(1));
  }
}

/** torchvision's `resnet50()`: 25,557,032 parameters with 1000 classes (spec §11). */
export const resnet50 = (options: ResNetOptions = {}): ResNet50 => new ResNet50(false, options);
/** The official ParC-ResNet50 (`parc_res50`), 224×224 inputs only: 23,737,640 parameters with 1000 classes (spec §11). */
export const parcResnet50 = (options: ResNetOptions = {}): ResNet50 => new ResNet50(true, options);
