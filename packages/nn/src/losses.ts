import {
  abs, add, cast, div, DTypeError, exp, formatShape, gather, log, logSoftmax, lt, maximum, mean, mul, ne, neg, reshape, ShapeError, sub,
  sum, where, permute, type Tensor,
} from '@parcnet/tensor';

/** How a loss reduces its per-element values: their 'mean' (the default), their 'sum', or 'none' (kept as they are). */
export type Reduction = 'mean' | 'sum' | 'none';

/** Options of {@link crossEntropy} and (without `labelSmoothing`) {@link nllLoss}, as PyTorch's arguments. */
export interface CrossEntropyOptions {
  /** ε of label smoothing: the target becomes (1 − ε)·one-hot + ε/C; default 0. */
  labelSmoothing?: number;
  /** Targets equal to this contribute nothing (default −100, as PyTorch; 255 for segmentation). */
  ignoreIndex?: number;
  /** Per-class weights [C]; default none (all 1). */
  weight?: Tensor | null;
  /** 'mean' (default): the sum over the samples divided by the sum of their target weights; 'sum'; 'none': a loss per sample, shaped like the target. */
  reduction?: Reduction;
}

/** [N, C, d1, …] scores and [N, d1, …] targets as [M, C] and [M]. */
function flattenClasses(op: string, input: Tensor, target: Tensor): [Tensor, Tensor] {
  if (target.dtype !== 'int32') throw new DTypeError(`${op}: target must hold int32 class indices, got ${target.dtype}`);
  const expected = [input.shape[0], ...input.shape.slice(2)];
  if (input.ndim < 2 || formatShape(target.shape) !== formatShape(expected)) {
    throw new ShapeError(`${op}: input ${formatShape(input.shape)} needs target ${formatShape(expected)}, got ${formatShape(target.shape)}`);
  }
  if (input.ndim === 2) return [input, target];
  const c = input.shape[1];
  const order = [0, ...input.shape.slice(2).map((_, i) => i + 2), 1];
  return [reshape(permute(input, order), [-1, c]), reshape(target, [-1])];
}

/**
 * torch.nn.functional.nll_loss on log-probabilities [N, C, …]: −Σ w[yᵢ]·logp[i, yᵢ] / Σ w[yᵢ]
 * (mean) over the targets that are not ignored.
 */
export function nllLoss(logProbs: Tensor, target: Tensor, options: Omit<CrossEntropyOptions, 'labelSmoothing'> = {}): Tensor {
  return classLoss('nllLoss', logProbs, target, options);
}

/**
 * torch.nn.functional.cross_entropy: log-softmax over dim 1, then NLL, with label smoothing
 * (1 − ε)·NLL + (ε/C)·Σ_c w[c]·(−logp[c]) and the same normalisation as PyTorch.
 */
export function crossEntropy(logits: Tensor, target: Tensor, options: CrossEntropyOptions = {}): Tensor {
  return classLoss('crossEntropy', logSoftmax(logits, 1), target, options);
}

function classLoss(op: string, logProbs: Tensor, target: Tensor, options: CrossEntropyOptions): Tensor {
  const [logp, labels] = flattenClasses(op, logProbs, target);
  const c = logp.shape[1];
  const ignoreIndex = options.ignoreIndex ?? -100;
  const epsilon = options.labelSmoothing ?? 0;
  const values = labels.toTypedArray();
  for (const v of values) {
    if (v !== ignoreIndex && (v < 0 || v >= c)) throw new ShapeError(`${op}: target ${v} is out of range for ${c} classes`);
  }
  const keep = cast(ne(labels, ignoreIndex), logp.dtype); // [M]
  const safeLabels = where(ne(labels, ignoreIndex), labels, 0);
  const picked = reshape(gather(logp, 1, reshape(safeLabels, [-1, 1])), [-1]); // logp[i, yᵢ]
  const weight = options.weight ?? null;
  if (weight && formatShape(weight.shape) !== formatShape([c])) throw new ShapeError(`${op}: weight must be [${c}], got ${formatShape(weight.shape)}`);
  const targetWeight = weight ? mul(gather(cast(weight, logp.dtype), 0, safeLabels), keep) : keep;
  let perSample = neg(mul(picked, targetWeight));
  if (epsilon > 0) {
    const all = weight ? mul(logp, cast(weight, logp.dtype)) : logp;
    const smooth = neg(mul(sum(all, 1), keep));
    perSample = add(mul(perSample, 1 - epsilon), mul(smooth, epsilon / c));
  }
  const reduction = options.reduction ?? 'mean';
  if (reduction === 'none') return labels === target ? perSample : reshape(perSample, target.shape);
  if (reduction === 'sum') return sum(perSample);
  return div(sum(perSample), sum(targetWeight));
}

function reduce(loss: Tensor, reduction: Reduction): Tensor {
  return reduction === 'mean' ? mean(loss) : reduction === 'sum' ? sum(loss) : loss;
}

function checkSame(op: string, a: Tensor, b: Tensor): void {
  if (formatShape(a.shape) !== formatShape(b.shape)) throw new ShapeError(`${op}: input ${formatShape(a.shape)} and target ${formatShape(b.shape)} must have one shape`);
}

/** torch.nn.functional.mse_loss: (input − target)² for input and target of one shape, reduced by `reduction` (default 'mean'). */
export function mseLoss(input: Tensor, target: Tensor, options: { reduction?: Reduction } = {}): Tensor {
  checkSame('mseLoss', input, target);
  const d = sub(input, target);
  return reduce(mul(d, d), options.reduction ?? 'mean');
}

/** Huber-like: 0.5·d²/β where |d| < β, else |d| − β/2 (torch.nn.functional.smooth_l1_loss). */
export function smoothL1Loss(input: Tensor, target: Tensor, options: { beta?: number; reduction?: Reduction } = {}): Tensor {
  checkSame('smoothL1Loss', input, target);
  const beta = options.beta ?? 1;
  const d = abs(sub(input, target));
  const loss = beta > 0 ? where(lt(d, beta), mul(mul(d, d), 0.5 / beta), sub(d, 0.5 * beta)) : d;
  return reduce(loss, options.reduction ?? 'mean');
}

/**
 * BCE on logits, stable: max(x, 0) − x·t + log(1 + e^(−|x|)); with posWeight p:
 * (1 − t)·x + (1 + (p − 1)·t)·(log(1 + e^(−|x|)) + max(−x, 0)).
 */
export function binaryCrossEntropyWithLogits(
  logits: Tensor, target: Tensor, options: { weight?: Tensor | null; posWeight?: Tensor | null; reduction?: Reduction } = {},
): Tensor {
  checkSame('binaryCrossEntropyWithLogits', logits, target);
  const softplusNegAbs = log(add(exp(neg(abs(logits))), 1));
  let loss: Tensor;
  if (options.posWeight) {
    const scale = add(mul(sub(options.posWeight, 1), target), 1);
    loss = add(mul(sub(1, target), logits), mul(scale, add(softplusNegAbs, maximum(neg(logits), 0))));
  } else {
    loss = add(sub(maximum(logits, 0), mul(logits, target)), softplusNegAbs);
  }
  if (options.weight) loss = mul(loss, options.weight);
  return reduce(loss, options.reduction ?? 'mean');
}
