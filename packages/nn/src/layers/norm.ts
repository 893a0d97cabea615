import { add, batchNorm, formatShape, mean, mul, ones, rsqrt, ShapeError, sub, variance, zeros, type NormActivation, type Tensor } from '@parcnet/tensor';
import { Module } from '../module.js';

/** Options of {@link BatchNorm2d}, as torch.nn.BatchNorm2d's arguments. */
export interface BatchNormOptions {
  /** Added to the variance before the square root; default 1e-5. */
  eps?: number;
  /** Running-statistics momentum, default 0.1; null for a cumulative average (as PyTorch). */
  momentum?: number | null;
  /** Learn a per-channel scale γ and shift β; default true. */
  affine?: boolean;
  /** Keep running mean and variance for evaluation (without them eval normalises with batch statistics too); default true. */
  trackRunningStats?: boolean;
}

/**
 * torch.nn.BatchNorm2d. Training normalises with the batch's biased variance and moves the
 * running statistics by `momentum` toward the batch mean and the *unbiased* batch variance;
 * evaluation uses the running statistics. x: [N, C, H, W] → same shape.
 */
export class BatchNorm2d extends Module {
  /** γ [C] (`weight`), initialised to 1; null unless `affine`. */
  readonly weight: Tensor | null;
  /** β [C] (`bias`), initialised to 0; null unless `affine`. */
  readonly bias: Tensor | null;
  /** Buffer `running_mean` [C], starting at 0; null without `trackRunningStats`. */
  readonly runningMean: Tensor | null;
  /** Buffer `running_var` [C] of unbiased variances, starting at 1; null without `trackRunningStats`. */
  readonly runningVar: Tensor | null;
  /** Buffer `num_batches_tracked`: an int32 scalar counting training batches; null without `trackRunningStats`. */
  readonly numBatchesTracked: Tensor | null;
  /** Added to the variance before the square root; default 1e-5. */
  readonly eps: number;
  /** As torch.nn.BatchNorm2d's `momentum`: the weight of the new batch statistics in the running ones; default 0.1; null for a cumulative average. */
  readonly momentum: number | null;

  /** @param numFeatures C, the channels of the input [N, C, H, W]. */
  constructor(readonly numFeatures: number, options: BatchNormOptions = {}) {
    super();
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum === undefined ? 0.1 : options.momentum;
    const affine = options.affine ?? true;
    this.weight = affine ? this.parameter('weight', ones([numFeatures])) : null;
    this.bias = affine ? this.parameter('bias', zeros([numFeatures])) : null;
    const track = options.trackRunningStats ?? true;
    this.runningMean = track ? this.buffer('running_mean', zeros([numFeatures])) : null;
    this.runningVar = track ? this.buffer('running_var', ones([numFeatures])) : null;
    this.numBatchesTracked = track ? this.buffer('num_batches_tracked', zeros([], { dtype: 'int32' })) : null;
  }

  /** x: [N, C, H, W] → the same shape, normalised per channel (batch statistics in training, running ones in eval). */
  forward(x: Tensor): Tensor {
    return this.normalize(x, null);
  }

  /**
   * Evaluation's norm as a per-channel affine, y = x · scale[c] + shift[c], from the running
   * statistics (what batchNorm computes in eval mode), so a conv before it can apply it as it writes
   * its output (conv2dNormAct). Null without running statistics. An extra per-channel bias b before
   * the norm folds in as shift + b · scale.
   */
  inferenceAffine(inputBias: Tensor | null = null): {
    /** Per channel, [C]: weight[c] / √(running_var[c] + eps). */
    scale: Float64Array;
    /** Per channel, [C]: bias[c] − running_mean[c] · scale[c] (+ b[c] · scale[c] with an input bias). */
    shift: Float64Array;
  } | null {
    if (!this.runningMean || !this.runningVar) return null;
    const mean = this.runningMean.toTypedArray();
    const variance = this.runningVar.toTypedArray();
    const weight = this.weight?.toTypedArray();
    const bias = this.bias?.toTypedArray();
    const before = inputBias?.toTypedArray();
    const scale = new Float64Array(this.numFeatures);
    const shift = new Float64Array(this.numFeatures);
    for (let c = 0; c < this.numFeatures; c++) {
      scale[c] = (weight ? weight[c] : 1) / Math.sqrt(variance[c] + this.eps);
      shift[c] = (bias ? bias[c] : 0) - mean[c] * scale[c] + (before ? before[c] * scale[c] : 0);
    }
    return { scale, shift };
  }

  /**
   * The norm followed by an activation in one pass (a ConvLayer's BN + SiLU): the same result as
   * the activation module applied to forward(x), with fewer passes over memory.
   */
  normalize(x: Tensor, activation: NormActivation): Tensor {
    const c = this.numFeatures;
    if (x.ndim !== 4 || x.shape[1] !== c) {
      throw new ShapeError(`BatchNorm2d(${c}): expected input [N, ${c}, H, W], got ${formatShape(x.shape)}`);
    }
    if (this.training && x.size / c <= 1) {
      throw new ShapeError(`BatchNorm2d(${c}): expected more than 1 value per channel when training, got input ${formatShape(x.shape)}`);
    }
    const tracked = this.numBatchesTracked;
    if (this.training && tracked) tracked.storage[tracked.offset] += 1;
    return batchNorm(x, {
      weight: this.weight,
      bias: this.bias,
      runningMean: this.runningMean,
      runningVar: this.runningVar,
      training: this.training,
      momentum: this.momentum,
      numBatchesTracked: tracked ? tracked.storage[tracked.offset] : undefined,
      eps: this.eps,
      activation,
    });
  }
}

/** Options of {@link LayerNorm}. */
export interface LayerNormOptions {
  /** Added to the variance before the square root; default 1e-5. */
  eps?: number;
  /** Normalise over dim 1 of an NCHW tensor (ConvNeXt's channels_first) instead of the last dims; default false. */
  channelsFirst?: boolean;
}

/** torch.nn.LayerNorm over the last dims (or over channels of NCHW with `channelsFirst`), biased variance. */
export class LayerNorm extends Module {
  /** γ of shape `normalizedShape` (`weight`), initialised to 1. */
  readonly weight: Tensor;
  /** β of shape `normalizedShape` (`bias`), initialised to 0. */
  readonly bias: Tensor;
  /** The trailing dims normalised over; [C] with `channelsFirst`. */
  readonly normalizedShape: number[];
  /** Added to the variance before the square root; default 1e-5. */
  readonly eps: number;
  /** Whether it normalises over dim 1 of [N, C, H, W] instead of the last dims; default false. */
  readonly channelsFirst: boolean;

  /** @param normalizedShape The trailing shape to normalise over (one number for the last dim), or [C] with `channelsFirst`. */
  constructor(normalizedShape: number | readonly number[], options: LayerNormOptions = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    this.eps = options.eps ?? 1e-5;
    this.channelsFirst = options.channelsFirst ?? false;
    this.weight = this.parameter('weight', ones(this.normalizedShape));
    this.bias = this.parameter('bias', zeros(this.normalizedShape));
  }

  /** x: [..., *normalizedShape] (or [N, C, H, W] with `channelsFirst`) → the same shape, normalised over those dims. */
  forward(x: Tensor): Tensor {
    if (this.channelsFirst) {
      const c = this.normalizedShape[0];
      if (x.ndim !== 4 || x.shape[1] !== c) throw new ShapeError(`LayerNorm(channelsFirst, ${c}): expected [N, ${c}, H, W], got ${formatShape(x.shape)}`);
      const m = mean(x, 1, true);
      const v = variance(x, 1, { unbiased: false, keepdim: true });
      const y = mul(sub(x, m), rsqrt(add(v, this.eps)));
      return add(mul(y, this.weight.reshape(1, c, 1, 1)), this.bias.reshape(1, c, 1, 1));
    }
    const k = this.normalizedShape.length;
    if (formatShape(x.shape.slice(-k)) !== formatShape(this.normalizedShape)) {
      throw new ShapeError(`LayerNorm(${formatShape(this.normalizedShape)}): input ${formatShape(x.shape)} does not end in that shape`);
    }
    const axes = this.normalizedShape.map((_, i) => x.ndim - k + i);
    const m = mean(x, axes, true);
    const v = variance(x, axes, { unbiased: false, keepdim: true });
    return add(mul(mul(sub(x, m), rsqrt(add(v, this.eps))), this.weight), this.bias);
  }
}
