import { assertFloat } from '../dtype.js';
import { DTypeError, ParcnetError, ShapeError } from '../errors.js';
import { conv2dGeometry } from '../kernel-geometry.js';
import type { Conv2DAttrs, NormActivation, NormActStage } from '../kernel-names.js';
import { runKernel } from '../registry.js';
import { formatShape } from '../shape.js';
import { isGradEnabled, isTracing, recordOp } from '../tape.js';
import type { Tensor } from '../tensor.js';
import { add } from './elementwise.js';
import { sumToShape } from './reduce.js';
import { reshape } from './views.js';

/** A size given for both spatial dims at once (`3`) or as (H, W) (`[3, 1]`), as PyTorch's int-or-tuple arguments. */
export type Pair = number | readonly [number, number];

/** Options of {@link conv2d}, as torch.nn.functional.conv2d's keyword arguments. */
export interface Conv2dOptions {
  /** Step of the window, in pixels. Default 1. */
  stride?: Pair;
  /** Zero padding on each side of H and W, in pixels. Default 0. */
  padding?: Pair;
  /** Spacing between kernel taps, in pixels. Default 1. */
  dilation?: Pair;
  /** Channel groups; C and O must both divide by it (C for depthwise). Default 1. */
  groups?: number;
  /** [O], added per output channel. Default none. */
  bias?: Tensor | null;
}

export function pair(op: string, name: string, value: Pair, min: number): [number, number] {
  const p: [number, number] = typeof value === 'number' ? [value, value] : [value[0], value[1]];
  if (!p.every((v) => Number.isInteger(v) && v >= min)) {
    throw new ShapeError(`${op}: ${name} must be integers >= ${min}, got ${JSON.stringify(value)}`);
  }
  return p;
}

/** Checks a conv's input and weight and returns its attributes; errors name `op`. */
function conv2dAttrs(op: string, x: Pick<Tensor, 'dtype' | 'shape'>, w: Tensor, options: Conv2dOptions): Conv2DAttrs {
  assertFloat(op, x.dtype, 'input');
  assertFloat(op, w.dtype, 'weight');
  if (x.dtype !== w.dtype) {
    throw new DTypeError(`${op}: input ${x.dtype} and weight ${w.dtype} must share a dtype`);
  }
  if (x.shape.length !== 4 || w.ndim !== 4) {
    throw new ShapeError(
      `${op}: expected input [N, C, H, W] and weight [O, C/groups, kH, kW], got ${formatShape(x.shape)} and ${formatShape(w.shape)}`,
    );
  }
  const groups = options.groups ?? 1;
  const attrs: Conv2DAttrs = {
    stride: pair(op, 'stride', options.stride ?? 1, 1),
    padding: pair(op, 'padding', options.padding ?? 0, 0),
    dilation: pair(op, 'dilation', options.dilation ?? 1, 1),
    groups,
  };
  const [, c, h, wd] = x.shape;
  const [o, cg, kh, kw] = w.shape;
  if (!Number.isInteger(groups) || groups < 1 || c % groups !== 0 || o % groups !== 0 || cg * groups !== c) {
    throw new ShapeError(
      `${op}: input ${formatShape(x.shape)} and weight ${formatShape(w.shape)} do not fit groups=${groups} ` +
        `(need C = ${cg}·groups and O divisible by groups)`,
    );
  }
  const effH = attrs.dilation[0] * (kh - 1) + 1;
  const effW = attrs.dilation[1] * (kw - 1) + 1;
  if (h + 2 * attrs.padding[0] < effH || wd + 2 * attrs.padding[1] < effW) {
    throw new ShapeError(
      `${op}: kernel ${kh}×${kw} (dilated ${effH}×${effW}) is larger than the padded input ` +
        `${h + 2 * attrs.padding[0]}×${wd + 2 * attrs.padding[1]} of ${formatShape(x.shape)}`,
    );
  }
  return attrs;
}

/**
 * 2-D convolution (cross-correlation, as torch.nn.functional.conv2d), NCHW.
 * x: [N, C, H, W], w: [O, C / groups, kH, kW] → [N, O, Ho, Wo], Ho = ⌊(H + 2p − d(k − 1) − 1) / s⌋ + 1.
 * Dense (groups 1), grouped and depthwise (groups = C) alike.
 * Backward: dx by Conv2DBackpropInput, dw by Conv2DBackpropFilter, db = Σ over N, H, W.
 */
export function conv2d(x: Tensor, w: Tensor, options: Conv2dOptions = {}): Tensor {
  const attrs = conv2dAttrs('conv2d', x, w, options);
  const o = w.shape[0];
  const inputShape = x.shape;
  const weightShape = w.shape;
  const bias = options.bias;
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== o)) {
    throw new ShapeError(`conv2d: bias must be [${o}] for weight ${formatShape(w.shape)}, got ${formatShape(bias.shape)}`);
  }
  const backward = (g: Tensor): (Tensor | null)[] => [
    x.requiresGrad ? runKernel('Conv2DBackpropInput', g, w, inputShape, attrs) : null,
    w.requiresGrad ? runKernel('Conv2DBackpropFilter', x, g, weightShape, attrs) : null,
  ];
  if (bias && bias.dtype === x.dtype && !isTracing()) {
    // The bias added by the conv kernel as it stores each output (Conv2DNormAct's epilogue with
    // scale 1 and no activation: acc · 1 + b is exactly acc + b), instead of a broadcast bias
    // expanded to the output's size and a second pass over it. A tracer (ONNX export, profile)
    // sees the plain conv and add.
    const shift = Float64Array.from(bias.toTypedArray());
    const out = runKernel('Conv2DNormAct', x, w, new Float64Array(o).fill(1), shift, null, attrs);
    return recordOp('conv2d', out, [x, w, bias], (g) => [
      ...backward(g),
      bias.requiresGrad ? reshape(sumToShape(g, [1, o, 1, 1]), [o]) : null,
    ], attrs);
  }
  const y = recordOp('conv2d', runKernel('Conv2D', x, w, attrs), [x, w], backward, attrs);
  return bias ? add(y, reshape(bias, [1, o, 1, 1])) : y;
}

/**
 * Inference's conv → batch norm → activation in one kernel (Conv2DNormAct): y = act(conv2d(x, w)
 * · scale[o] + shift[o]), the norm folded into a per-channel affine (BatchNorm2d.inferenceAffine).
 * The output is written once, instead of written by the conv and read and rewritten by the norm.
 * Not differentiable: with grad mode on, x and w must not require grad.
 */
export function conv2dNormAct(
  x: Tensor, w: Tensor, scale: Float64Array, shift: Float64Array, activation: NormActivation, options: Omit<Conv2dOptions, 'bias'> = {},
): Tensor {
  const attrs = conv2dAttrs('conv2dNormAct', x, w, options);
  const o = w.shape[0];
  if (scale.length !== o || shift.length !== o) {
    throw new ShapeError(`conv2dNormAct: scale and shift must have ${o} entries for weight ${formatShape(w.shape)}, got ${scale.length} and ${shift.length}`);
  }
  assertInferenceOnly('conv2dNormAct', [x, w]);
  return runKernel('Conv2DNormAct', x, w, scale, shift, activation, attrs);
}

/** One stage of {@link invertedResidualNormAct}: a conv's weight and options, its norm as a per-channel affine, the activation. */
export interface NormActStageOptions {
  weight: Tensor;
  scale: Float64Array;
  shift: Float64Array;
  activation: NormActivation;
  options?: Omit<Conv2dOptions, 'bias'>;
}

/** The stages of {@link invertedResidualNormAct}. */
export interface InvertedResidualStages {
  /** The 1×1 expansion, C → K channels; none when the block has no expansion (x has K channels). */
  expand?: NormActStageOptions | null;
  /** The depthwise conv over K channels (groups = K, weight [K, 1, kH, kW]). */
  depthwise: NormActStageOptions;
  /** The 1×1 reduce, K → O channels, groups 1. */
  pointwise: NormActStageOptions;
}

/** The fused inference ops are not differentiable: with grad mode on, none of `tensors` may require grad. */
function assertInferenceOnly(op: string, tensors: (Tensor | null | undefined)[]): void {
  if (isGradEnabled() && tensors.some((t) => t?.requiresGrad)) {
    throw new ParcnetError(`${op}: inference only, but an input or weight requires grad; call it under noGrad() or use conv2d and batchNorm`);
  }
}

/** The stage's kernel form, after checking that it is a 1×1 conv with groups 1 from `channels` channels. */
function pointwiseStage(op: string, name: string, stage: NormActStageOptions, input: Pick<Tensor, 'dtype' | 'shape'>): NormActStage {
  const weight = stage.weight;
  const channels = input.shape[1];
  if (weight.ndim !== 4 || weight.shape[1] !== channels || weight.shape[2] !== 1 || weight.shape[3] !== 1) {
    throw new ShapeError(`${op}: the ${name} stage must be a 1×1 conv over ${channels} channels, weight [O, ${channels}, 1, 1], got ${formatShape(weight.shape)}`);
  }
  const attrs = conv2dAttrs(op, input, weight, stage.options ?? {});
  if (attrs.groups !== 1 || attrs.stride.some((v) => v !== 1) || attrs.padding.some((v) => v !== 0)) {
    throw new ShapeError(`${op}: the ${name} stage must have stride 1, padding 0 and groups 1, got ${JSON.stringify(stage.options ?? {})}`);
  }
  return affineStage(op, name, stage, attrs);
}

function affineStage(op: string, name: string, stage: NormActStageOptions, attrs: Conv2DAttrs): NormActStage {
  const channels = stage.weight.shape[0];
  if (stage.scale.length !== channels || stage.shift.length !== channels) {
    throw new ShapeError(`${op}: the ${name} scale and shift must have ${channels} entries, got ${stage.scale.length} and ${stage.shift.length}`);
  }
  return { weight: stage.weight, scale: stage.scale, shift: stage.shift, activation: stage.activation, attrs };
}

/**
 * Inference's inverted residual of MobileNetV2 as one kernel (InvertedResidualNormAct):
 * y = reduce(depthwise(expand(x))) [+ residual], each stage conv2dNormAct's act(conv · scale + shift);
 * without `expand`, x goes to the depthwise conv directly. The result is that of conv2dNormAct for
 * each stage and add, bit for bit; the wasm kernel runs the block image by image with every
 * intermediate activation in a core's cache, never in memory. Not differentiable, as conv2dNormAct.
 */
export function invertedResidualNormAct(x: Tensor, stages: InvertedResidualStages, residual: Tensor | null = null): Tensor {
  const op = 'invertedResidualNormAct';
  const [n, , h, w] = x.shape;
  const expand = stages.expand ? pointwiseStage(op, 'expand', stages.expand, x) : null;
  const k = expand ? expand.weight.shape[0] : x.shape[1];
  const hidden = { dtype: x.dtype, shape: [n, k, h, w] };
  const dw = stages.depthwise;
  const dwAttrs = conv2dAttrs(op, hidden, dw.weight, dw.options ?? {});
  if (dwAttrs.groups !== k || dw.weight.shape[0] !== k) {
    throw new ShapeError(`${op}: the depthwise stage must have groups = ${k} channels and weight [${k}, 1, kH, kW], got groups=${dwAttrs.groups} and weight ${formatShape(dw.weight.shape)}`);
  }
  const depthwise = affineStage(op, 'depthwise', dw, dwAttrs);
  const { ho, wo } = conv2dGeometry(hidden.shape, dw.weight.shape, dwAttrs);
  const pointwise = pointwiseStage(op, 'pointwise', stages.pointwise, { dtype: x.dtype, shape: [n, k, ho, wo] });
  const outShape = [n, pointwise.weight.shape[0], ho, wo];
  if (residual && (residual.dtype !== x.dtype || formatShape(residual.shape) !== formatShape(outShape))) {
    throw new ShapeError(`${op}: the residual must be ${x.dtype} ${formatShape(outShape)} (the output), got ${residual.dtype} ${formatShape(residual.shape)}`);
  }
  assertInferenceOnly(op, [x, expand?.weight, dw.weight, pointwise.weight, residual]);
  return runKernel('InvertedResidualNormAct', x, expand, depthwise, pointwise, residual);
}

/**
 * Inference's feed-forward pair (a ParC block's FFN: batch norm, 1×1 conv, activation, 1×1 conv) as
 * one kernel (FeedForwardNormAct): y = output(hidden(norm(x))), where `norm` is a per-channel affine
 * x · scale[c] + shift[c] (a batch norm's inference form; none to skip it) and each stage a 1×1 conv
 * with groups 1 and conv2dNormAct's epilogue (a conv bias is a shift with scale 1). The result is that
 * of the batch norm and conv2dNormAct twice, bit for bit; the wasm kernel keeps an image's hidden
 * activation in a core's cache. Not differentiable, as conv2dNormAct.
 */
export function feedForwardNormAct(
  x: Tensor, stages: { norm?: { scale: Float64Array; shift: Float64Array } | null; hidden: NormActStageOptions; output: NormActStageOptions },
): Tensor {
  const op = 'feedForwardNormAct';
  assertFloat(op, x.dtype, 'input');
  const norm = stages.norm ?? null;
  const c = x.shape[1];
  if (norm && (norm.scale.length !== c || norm.shift.length !== c)) {
    throw new ShapeError(`${op}: the norm's scale and shift must have ${c} entries for input ${formatShape(x.shape)}, got ${norm.scale.length} and ${norm.shift.length}`);
  }
  const hidden = pointwiseStage(op, 'hidden', stages.hidden, x);
  const output = pointwiseStage(op, 'output', stages.output, { dtype: x.dtype, shape: [x.shape[0], hidden.weight.shape[0], x.shape[2], x.shape[3]] });
  assertInferenceOnly(op, [x, hidden.weight, output.weight]);
  return runKernel('FeedForwardNormAct', x, norm, hidden, output);
}
