import { add, formatShape, mean, mul, ones, rsqrt, ShapeError, sub, variance, zeros, type Tensor } from '@parcnet/tensor';
import { Module } from '../module';

export interface BatchNormOptions {
  eps?: number;
  /** Running-statistics momentum; null for a cumulative average (as PyTorch). */
  momentum?: number | null;
  affine?: boolean;
  trackRunningStats?: boolean;
}

/**
 * torch.nn.BatchNorm2d. Training normalises with the batch's biased variance and moves the
 * running statistics by `momentum` toward the batch mean and the *unbiased* batch variance;
 * evaluation uses the running statistics. x: [N, C, H, W] → same shape.
 */
export class BatchNorm2d extends Module {
  readonly weight: Tensor | null;
  readonly bias: Tensor | null;
  readonly runningMean: Tensor | null;
  readonly runningVar: Tensor | null;
  readonly numBatchesTracked: Tensor | null;
  readonly eps: number;
  readonly momentum: number | null;

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

  forward(x: Tensor): Tensor {
    const c = this.numFeatures;
    if (x.ndim !== 4 || x.shape[1] !== c) {
      throw new ShapeError(`BatchNorm2d(${c}): expected input [N, ${c}, H, W], got ${formatShape(x.shape)}`);
    }
    const perChannel = [1, c, 1, 1];
    const useBatch = this.training || !this.runningMean;
    let normalized: Tensor;
    if (useBatch) {
      const count = x.size / c;
      if (this.training && count <= 1) {
        throw new ShapeError(`BatchNorm2d(${c}): expected more than 1 value per channel when training, got input ${formatShape(x.shape)}`);
      }
      const batchMean = mean(x, [0, 2, 3], true);
      const batchVar = variance(x, [0, 2, 3], { unbiased: false, keepdim: true });
      normalized = mul(sub(x, batchMean), rsqrt(add(batchVar, this.eps)));
      if (this.training && this.runningMean && this.runningVar && this.numBatchesTracked) {
        const rm = this.runningMean;
        const rv = this.runningVar;
        const tracked = this.numBatchesTracked;
        // Written straight into the buffers' storage: nothing here is recorded on the tape.
        tracked.storage[tracked.offset] += 1;
        const m = this.momentum ?? 1 / tracked.storage[tracked.offset];
        const bm = batchMean.toTypedArray();
        const bv = batchVar.toTypedArray();
        const unbias = count / (count - 1);
        for (let i = 0; i < c; i++) {
          rm.storage[rm.offset + i] = (1 - m) * rm.storage[rm.offset + i] + m * bm[i];
          rv.storage[rv.offset + i] = (1 - m) * rv.storage[rv.offset + i] + m * bv[i] * unbias;
        }
      }
    } else {
      normalized = mul(sub(x, this.runningMean!.reshape(...perChannel)), rsqrt(add(this.runningVar!.reshape(...perChannel), this.eps)));
    }
    if (!this.weight || !this.bias) return normalized;
    return add(mul(normalized, this.weight.reshape(...perChannel)), this.bias.reshape(...perChannel));
  }
}

export interface LayerNormOptions {
  eps?: number;
  /** Normalise over dim 1 of an NCHW tensor (ConvNeXt's channels_first) instead of the last dims. */
  channelsFirst?: boolean;
}

/** torch.nn.LayerNorm over the last dims (or over channels of NCHW with `channelsFirst`), biased variance. */
export class LayerNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly normalizedShape: number[];
  readonly eps: number;
  readonly channelsFirst: boolean;

  constructor(normalizedShape: number | readonly number[], options: LayerNormOptions = {}) {
    super();
    this.normalizedShape = typeof normalizedShape === 'number' ? [normalizedShape] : [...normalizedShape];
    this.eps = options.eps ?? 1e-5;
    this.channelsFirst = options.channelsFirst ?? false;
    this.weight = this.parameter('weight', ones(this.normalizedShape));
    this.bias = this.parameter('bias', zeros(this.normalizedShape));
  }

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
