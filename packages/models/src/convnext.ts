import { Conv2d, GELU, LayerNorm, Linear, Module, ModuleList, Sequential, truncNormal_, zeros_ } from '@parcnet/nn';
import { FixedParc } from '@parcnet/parc';
import { add, chunk, concat, full, Generator, mean, mul, type Tensor } from '@parcnet/tensor';

/**
 * A ConvNeXt block: 7×7 depthwise conv (or, with `parcKernel`, a depthwise ParC-H / ParC-W pair with
 * PEs) → LayerNorm → Linear 4× → GELU → Linear → layer scale γ → residual. Channels-last inside.
 */
class ConvNeXtBlock extends Module {
  readonly gamma: Tensor;
  readonly dwconv: Conv2d | null = null;
  readonly gccH: FixedParc | null = null;
  readonly gccW: FixedParc | null = null;
  readonly norm: LayerNorm;
  readonly pwconv1: Linear;
  readonly act = new GELU();
  readonly pwconv2: Linear;

  constructor(dim: number, parcKernel: number | null) {
    super();
    this.gamma = this.parameter('gamma', full([dim], 1e-6));
    if (parcKernel === null) {
      this.dwconv = this.child('dwconv', new Conv2d(dim, dim, 7, { padding: 3, groups: dim }));
    } else {
      this.gccH = this.child('gcc_H', new FixedParc(dim / 2, 'H', parcKernel));
      this.gccW = this.child('gcc_W', new FixedParc(dim / 2, 'W', parcKernel));
    }
    this.norm = this.child('norm', new LayerNorm(dim, { eps: 1e-6 }));
    this.pwconv1 = this.child('pwconv1', new Linear(dim, 4 * dim));
    this.child('act', this.act);
    this.pwconv2 = this.child('pwconv2', new Linear(4 * dim, dim));
  }

  forward(x: Tensor): Tensor {
    let h: Tensor;
    if (this.dwconv) h = this.dwconv.forward(x);
    else {
      const [a, b] = chunk(x, 2, 1);
      h = concat([this.gccH!.forward(a), this.gccW!.forward(b)], 1);
    }
    h = h.permute(0, 2, 3, 1);
    h = this.pwconv2.forward(this.act.forward(this.pwconv1.forward(this.norm.forward(h))));
    return add(x, mul(h, this.gamma).permute(0, 3, 1, 2));
  }
}

/** Options of {@link ConvNeXt} and its builders. */
export interface ConvNeXtOptions {
  /** Classifier outputs; default 1000. */
  numClasses?: number;
  /** Seed of the trunc-normal(0.02) initialisation of convs, Linear layers and ParC PEs; default 0. */
  seed?: number;
}

/**
 * The official ConvNeXt-XT (depths 3, 3, 9, 3; dims 48, 96, 192, 384) and, with `parc`,
 * ParC-ConvNeXt-XT: stages.2.6–8 (G = 14) and stages.3.2 (G = 7) use ParCs (224×224 inputs only).
 */
export class ConvNeXt extends Module {
  /** `downsample_layers.0` … `.3`: the 4×4/4 stem conv + channels-first LayerNorm, then three LayerNorm + 2×2/2 conv. */
  readonly downsampleLayers: ModuleList<Sequential>;
  /** `stages.0` … `.3`: 3, 3, 9, 3 ConvNeXt blocks of widths 48, 96, 192, 384. */
  readonly stages: ModuleList<Sequential>;
  /** `norm`: the final LayerNorm(384, eps 1e-6) on the pooled features. */
  readonly norm: LayerNorm;
  /** `head`: Linear 384 → numClasses. */
  readonly head: Linear;

  /** @param parc Build ParC-ConvNeXt-XT (fixed-size ParCs in stages.2.6–8 and stages.3.2) instead of the plain model. */
  constructor(parc: boolean, options: ConvNeXtOptions = {}) {
    super();
    const depths = [3, 3, 9, 3];
    const dims = [48, 96, 192, 384];
    const firstParc = parc ? [3, 3, 6, 2] : [Infinity, Infinity, Infinity, Infinity];
    const sizes = [56, 28, 14, 7];
    const down = [new Sequential(new Conv2d(3, dims[0], 4, { stride: 4 }), new LayerNorm(dims[0], { eps: 1e-6, channelsFirst: true }))];
    for (let i = 0; i < 3; i++) {
      down.push(new Sequential(new LayerNorm(dims[i], { eps: 1e-6, channelsFirst: true }), new Conv2d(dims[i], dims[i + 1], 2, { stride: 2 })));
    }
    this.downsampleLayers = this.child('downsample_layers', new ModuleList(down));
    this.stages = this.child('stages', new ModuleList(depths.map((depth, i) =>
      new Sequential(...Array.from({ length: depth }, (_, j) => new ConvNeXtBlock(dims[i], j >= firstParc[i] ? sizes[i] : null))))));
    this.norm = this.child('norm', new LayerNorm(dims[3], { eps: 1e-6 }));
    this.head = this.child('head', new Linear(dims[3], options.numClasses ?? 1000));
    const generator = new Generator(options.seed ?? 0);
    for (const m of this.modules()) {
      if (m instanceof Conv2d || m instanceof Linear) {
        truncNormal_(m.weight, { std: 0.02, generator });
        if (m.bias) zeros_(m.bias);
      } else if (m instanceof FixedParc && m.pe) {
        truncNormal_(m.pe, { std: 0.02, generator });
      }
    }
  }

  /** x: [N, 3, H, W] → logits [N, numClasses] (mean over H, W before `norm`); the ParC variant needs H = W = 224. */
  forward(x: Tensor): Tensor {
    let h = x;
    for (let i = 0; i < 4; i++) h = this.stages.at(i).forward(this.downsampleLayers.at(i).forward(h));
    return this.head.forward(this.norm.forward(mean(h, [2, 3])));
  }
}

/** ConvNeXt-XT (the official ConvNeXt code at depths 3, 3, 9, 3, dims 48–384): 7,438,360 parameters with 1000 classes (spec §11). */
export const convnextXT = (options: ConvNeXtOptions = {}): ConvNeXt => new ConvNeXt(false, options);
/** The official ParC-ConvNeXt-XT (`parc_convnext_xt`), 224×224 inputs only: 7,412,824 parameters with 1000 classes (spec §11). */
export const parcConvnextXT = (options: ConvNeXtOptions = {}): ConvNeXt => new ConvNeXt(true, options);
