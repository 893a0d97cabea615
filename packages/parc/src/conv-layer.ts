import { BatchNorm2d, Conv2d, Module, ReLU, ReLU6, Sequential, SiLU, Hardswish } from '@parcnet/nn';
import { conv2dNormAct, invertedResidualNormAct, isGradEnabled, isTracing, type NormActivation, type NormActStageOptions, type Pair, type Tensor } from '@parcnet/tensor';

/** cvnets' activation names: 'swish' (SiLU, x · sigmoid(x)), 'relu', 'relu6', 'hard_swish' (x · relu6(x + 3) / 6). */
export type ActivationName = 'swish' | 'relu' | 'relu6' | 'hard_swish';

/** Options of {@link ConvLayer}. */
export interface ConvLayerOptions {
  /** Convolution stride, one number or [sH, sW]; default 1. */
  stride?: Pair;
  /** Convolution groups (`inChannels` for depthwise); default 1. */
  groups?: number;
  /** Dilation of both axes; default 1. The padding grows with it, ((k − 1) / 2) · dilation. */
  dilation?: number;
  /** Give the convolution a bias; default false (the norm's shift plays that role). */
  bias?: boolean;
  /** BatchNorm2d after the convolution (eps 1e-5, momentum 0.1); default true. */
  useNorm?: boolean;
  /** Activation after the norm, or false for none; default 'swish' (the classification configs' activation). */
  activation?: ActivationName | false;
}

function activation(name: ActivationName): Module {
  switch (name) {
    case 'swish':
      return new SiLU();
    case 'relu':
      return new ReLU();
    case 'relu6':
      return new ReLU6();
    case 'hard_swish':
      return new Hardswish();
  }
}

/**
 * cvnets' ConvLayer: Conv2d (no bias unless asked, padding ((k − 1) / 2) · dilation) → BatchNorm2d
 * → activation, as children `block.conv`, `block.norm`, `block.act` (spec §4).
 */
export class ConvLayer extends Module {
  /** The child `block`: Sequential of `conv`, then `norm` and `act` when present (state-dict keys `block.conv.*`, `block.norm.*`). */
  readonly block: Sequential;
  /** The convolution, `block.conv`: weight [out, in / groups, k, k]. */
  readonly conv: Conv2d;
  /** The BatchNorm2d, `block.norm`; null when `useNorm` is false. */
  readonly norm: BatchNorm2d | null;
  /** The activation the norm applies in the same pass, when it has a fused form. */
  private readonly fused: NormActivation;
  /** Whether evaluation may run conv → norm → activation as one kernel (no activation, SiLU or Hardswish). */
  private readonly fusedInference: boolean;

  /**
   * @param inChannels Input channels.
   * @param outChannels Output channels.
   * @param kernelSize Square kernel side k, odd in every official use.
   */
  constructor(inChannels: number, outChannels: number, kernelSize: number, options: ConvLayerOptions = {}) {
    super();
    const dilation = options.dilation ?? 1;
    this.conv = new Conv2d(inChannels, outChannels, kernelSize, {
      stride: options.stride ?? 1,
      padding: ((kernelSize - 1) / 2) * dilation,
      dilation,
      groups: options.groups ?? 1,
      bias: options.bias ?? false,
    });
    const layers: [string, Module][] = [['conv', this.conv]];
    this.norm = options.useNorm ?? true ? new BatchNorm2d(outChannels) : null;
    if (this.norm) layers.push(['norm', this.norm]);
    const act = options.activation ?? 'swish';
    if (act) layers.push(['act', activation(act)]);
    this.block = this.child('block', Sequential.named(layers));
    this.fused = act === 'swish' ? 'silu' : act === 'hard_swish' ? 'hardswish' : null;
    this.fusedInference = !act || this.fused !== null;
  }

  /** x: [B, in, H, W] → [B, out, ⌈H / sH⌉, ⌈W / sW⌉] for an odd kernel (the padding keeps the size at stride 1). */
  forward(x: Tensor): Tensor {
    // Evaluation without gradients: one pass, the norm and activation applied as the conv writes.
    const stage = needsGrad(x, this) ? null : this.inferenceStage();
    if (stage) return conv2dNormAct(x, stage.weight, stage.scale, stage.shift, stage.activation, stage.options);
    // conv → BN → SiLU/Hardswish in two passes instead of three: the norm applies the activation.
    if (this.norm && this.fused) return this.norm.normalize(this.conv.forward(x), this.fused);
    return this.block.forward(x);
  }

  /**
   * This layer as one conv → norm → activation stage of an inference kernel (conv2dNormAct,
   * invertedResidualNormAct), or null where evaluation cannot take that path: in training, without
   * a norm, with an activation the norm cannot apply, with non-zero padding modes, or while an
   * exporter traces (it wants the conv and the norm as their own ops). The caller checks gradients.
   */
  inferenceStage(): NormActStageOptions | null {
    if (!this.norm || !this.fusedInference || this.norm.training || this.conv.paddingMode !== 'zeros' || isTracing()) return null;
    const affine = this.norm.inferenceAffine(this.conv.bias);
    if (!affine) return null;
    const { stride, padding, dilation, groups } = this.conv;
    return { weight: this.conv.weight, scale: affine.scale, shift: affine.shift, activation: this.fused, options: { stride, padding, dilation, groups } };
  }
}

/** Whether a forward of `module` on x records gradients: grad mode on, and x or a parameter requires grad. */
export function needsGrad(x: Tensor, module: Module): boolean {
  return isGradEnabled() && (x.requiresGrad || module.parameters().some((p) => p.requiresGrad));
}

/** cvnets' make_divisible: the nearest multiple of `divisor`, never below it nor below 90 % of v. */
export function makeDivisible(v: number, divisor = 8, minValue = divisor): number {
  let rounded = Math.max(minValue, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (rounded < 0.9 * v) rounded += divisor;
  return rounded;
}

/**
 * The MobileNetV2 block (cvnets InvertedResidual, spec §4): 1×1 expand + BN + Swish → 3×3
 * depthwise (stride) + BN + Swish → 1×1 reduce + BN; residual when stride 1 and in = out.
 */
export class InvertedResidual extends Module {
  /** The child `block`: `exp_1x1` (absent when expandRatio is 1), `conv_3x3`, `red_1x1`, each a {@link ConvLayer}. */
  readonly block: Sequential;
  private readonly expand: ConvLayer | null;
  private readonly depthwise: ConvLayer;
  private readonly reduce: ConvLayer;
  /** Whether the input is added to the output: stride 1 and inChannels = outChannels. */
  readonly useResidual: boolean;

  /**
   * @param stride Stride of the depthwise 3×3, 1 or 2.
   * @param expandRatio Hidden width = makeDivisible(round(inChannels · expandRatio), 8); 4 in every ParC-Net block.
   * @param options `dilation` of the 3×3 (default 1) and the `activation` of expand and depthwise (default 'swish').
   */
  constructor(inChannels: number, outChannels: number, stride: number, expandRatio: number, options: { dilation?: number; activation?: ActivationName } = {}) {
    super();
    const hidden = makeDivisible(Math.round(inChannels * expandRatio), 8);
    const act = options.activation ?? 'swish';
    this.expand = expandRatio !== 1 ? new ConvLayer(inChannels, hidden, 1, { activation: act }) : null;
    this.depthwise = new ConvLayer(hidden, hidden, 3, { stride, groups: hidden, dilation: options.dilation ?? 1, activation: act });
    this.reduce = new ConvLayer(hidden, outChannels, 1, { activation: false });
    const layers: [string, Module][] = [];
    if (this.expand) layers.push(['exp_1x1', this.expand]);
    layers.push(['conv_3x3', this.depthwise], ['red_1x1', this.reduce]);
    this.block = this.child('block', Sequential.named(layers));
    this.useResidual = stride === 1 && inChannels === outChannels;
  }

  /** x: [B, in, H, W] → [B, out, ⌈H / stride⌉, ⌈W / stride⌉]. */
  forward(x: Tensor): Tensor {
    // Evaluation without gradients: the whole block as one kernel, so its wide activations (the
    // expansion's and the depthwise conv's outputs) are never written out.
    const grad = needsGrad(x, this);
    const depthwise = grad ? null : this.depthwise.inferenceStage();
    const reduce = depthwise && this.reduce.inferenceStage();
    const expand = this.expand && reduce ? this.expand.inferenceStage() : null;
    if (depthwise && reduce && (expand || !this.expand)) {
      return invertedResidualNormAct(x, { expand, depthwise, pointwise: reduce }, this.useResidual ? x : null);
    }
    const y = this.block.forward(x);
    return this.useResidual ? x.add(y) : y;
  }
}
