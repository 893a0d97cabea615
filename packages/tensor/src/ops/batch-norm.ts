import { assertFloat } from '../dtype.js';
import { ShapeError } from '../errors.js';
import { runKernel } from '../registry.js';
import { formatShape } from '../shape.js';
import { recordOp } from '../tape.js';
import { Tensor } from '../tensor.js';
import type { NormActivation } from '../kernel-names.js';

/** Options of {@link batchNorm}, as torch.nn.functional.batch_norm's arguments (exported as BatchNormFunctionOptions). */
export interface BatchNormOptions {
  /** Per-channel scale γ, [C]; none means 1. */
  weight?: Tensor | null;
  /** Per-channel shift β, [C]; none means 0. */
  bias?: Tensor | null;
  /** Running mean, [C], updated in place when training; without running statistics the batch's are always used. */
  runningMean?: Tensor | null;
  /** Running variance, [C] (unbiased, as PyTorch keeps it), updated in place when training. */
  runningVar?: Tensor | null;
  /** Normalise with the batch's statistics (and update the running ones) rather than the running ones. */
  training: boolean;
  /** Weight of the new batch in the running statistics, default 0.1; null: cumulative average, using numBatchesTracked (already incremented by the caller). */
  momentum?: number | null;
  /** Batches seen so far, including this one; only read when momentum is null. */
  numBatchesTracked?: number;
  /** Added to the variance before the square root. Default 1e-5. */
  eps?: number;
  /** An activation applied to the normalised output in the same pass (BN + SiLU of a ConvLayer). */
  activation?: NormActivation;
}

/**
 * torch.nn.functional.batch_norm as one op: x: [N, C, …] → y of the same shape,
 * y = (x − mean[c]) / √(var[c] + eps) · weight[c] + bias[c]. Training uses the batch's biased
 * variance and moves the running variance toward the unbiased one (momentum 0.1 by default).
 * With `activation`, y = act(…) in the same pass. Backward (kernel BatchNormBackward): the
 * activation's gradient at the recomputed pre-activation, then dx with the batch-statistics
 * correction, dweight = Σ dz·x̂, dbias = Σ dz.
 */
export function batchNorm(x: Tensor, options: BatchNormOptions): Tensor {
  assertFloat('batchNorm', x.dtype);
  const c = x.shape[1];
  if (x.ndim < 2) throw new ShapeError(`batchNorm: expected input [N, C, …], got ${formatShape(x.shape)}`);
  for (const [name, t] of Object.entries({ weight: options.weight, bias: options.bias, runningMean: options.runningMean, runningVar: options.runningVar })) {
    if (t && (t.ndim !== 1 || t.shape[0] !== c)) throw new ShapeError(`batchNorm: ${name} must be [${c}] for input ${formatShape(x.shape)}, got ${formatShape(t.shape)}`);
  }
  const eps = options.eps ?? 1e-5;
  const count = x.size / c;
  const useBatch = options.training || !options.runningMean || !options.runningVar;
  let mean: Float64Array;
  let variance: Float64Array;
  if (useBatch) {
    if (options.training && count <= 1) {
      throw new ShapeError(`batchNorm: expected more than 1 value per channel when training, got input ${formatShape(x.shape)}`);
    }
    ({ mean, variance } = runKernel('BatchNormStats', x));
    if (options.training && options.runningMean && options.runningVar) {
      const m = options.momentum === undefined ? 0.1 : options.momentum ?? 1 / (options.numBatchesTracked ?? 1);
      const rm = options.runningMean;
      const rv = options.runningVar;
      const unbias = count / (count - 1);
      for (let i = 0; i < c; i++) {
        rm.storage[rm.offset + i * rm.strides[0]] = (1 - m) * rm.storage[rm.offset + i * rm.strides[0]] + m * mean[i];
        rv.storage[rv.offset + i * rv.strides[0]] = (1 - m) * rv.storage[rv.offset + i * rv.strides[0]] + m * variance[i] * unbias;
      }
    }
  } else {
    mean = Float64Array.from(options.runningMean!.toTypedArray());
    variance = Float64Array.from(options.runningVar!.toTypedArray());
  }
  const invstd = variance.map((v) => 1 / Math.sqrt(v + eps));
  const weight = options.weight ? Float64Array.from(options.weight.toTypedArray()) : new Float64Array(c).fill(1);
  const bias = options.bias ? Float64Array.from(options.bias.toTypedArray()) : new Float64Array(c);
  const scale = weight.map((w, i) => w * invstd[i]);
  const shift = bias.map((b, i) => b - mean[i] * scale[i]);
  const activation = options.activation ?? null;
  const y = runKernel('BatchNormApply', x, scale, shift, activation);
  const inputs = [x, ...(options.weight ? [options.weight] : []), ...(options.bias ? [options.bias] : [])];
  const hasWeight = !!options.weight;
  const hasBias = !!options.bias;
  const dtype = x.dtype;
  return recordOp('batchNorm', y, inputs, (g) => {
    const { dx, dweight, dbias } = runKernel('BatchNormBackward', x, g, mean, invstd, weight, bias, useBatch, activation);
    const grads: Tensor[] = [dx];
    if (hasWeight) grads.push(vector(dweight, dtype));
    if (hasBias) grads.push(vector(dbias, dtype));
    return grads;
  }, { scale, shift, activation });
}

function vector(values: Float64Array, dtype: Tensor['dtype']): Tensor {
  const t = Tensor.empty([values.length], dtype);
  t.storage.set(values);
  return t;
}
