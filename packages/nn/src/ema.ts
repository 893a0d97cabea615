import { ShapeError, formatShape } from '@parcnet/tensor';
import type { Module } from './module.js';

/**
 * An exponential moving average of a model's whole state — parameters and buffers — the official
 * form (spec §10): after each optimiser step ema ← (1 − m)·ema + m·model with m = 0.0005. Integer
 * buffers (num_batches_tracked) are truncated back to integers, as the official int64 cast does.
 * The average lives in `model` of the same architecture, which can be evaluated directly.
 *
 * BatchNorm's running statistics are averaged like the weights, not copied from the source (the
 * official code, timm's ModelEmaV3 by default, PyTorch's AveragedModel with use_buffers): the
 * averaged statistics are those of the recent models whose weights are averaged, so they fit the
 * averaged weights, and one rule for every entry keeps a checkpoint's EMA what the official code
 * computes. Copying them would not rescue a short run either: at m = 0.0005 the weights themselves
 * are still mostly the initial ones after a few thousand steps (0.9995^3200 ≈ 0.2). What rescues it
 * is the warm-up, which makes the first updates large, so that the average forgets its initial
 * state within the first steps and then spans about the last tenth of the updates so far, until
 * 1 − (1 + t)/(10 + t) falls below m (t ≈ 9/m, 18,000 updates at 0.0005).
 */
export class ModelEma<M extends Module> {
  /** m, the weight of the source model in each update; default 0.0005 (spec §10). */
  readonly momentum: number;
  /** Whether the first updates use a larger momentum: max(m, 1 − (1 + t)/(10 + t)) for the t-th update. */
  readonly warmup: boolean;
  /** Updates applied so far; the warm-up reads it, so a resumed run must restore it (the trainer keeps it in its checkpoints). */
  updates = 0;

  /**
   * Copies the source's state into `model` and puts `model` in eval mode.
   *
   * @param source The model being trained, whose state is averaged.
   * @param model The copy that holds the average (same architecture).
   * @param options `momentum`, default 0.0005; `warmup`, default false.
   */
  constructor(
    readonly source: Module,
    readonly model: M,
    options: {
      /** m, the weight of the source model in each update; default 0.0005 (spec §10). */
      momentum?: number;
      /**
       * Start with larger steps: the t-th update (from 0) uses max(m, 1 − (1 + t)/(10 + t)), i.e.
       * the decay min(1 − m, (1 + t)/(10 + t)) of TensorFlow's `ExponentialMovingAverage` with
       * `num_updates`; default false (the official EMA has none).
       */
      warmup?: boolean;
    } = {},
  ) {
    this.momentum = options.momentum ?? 0.0005;
    this.warmup = options.warmup ?? false;
    model.loadStateDict(source.stateDict({ aliases: false }));
    model.eval();
  }

  /** The momentum of the next update: m, or during the warm-up max(m, 1 − (1 + t)/(10 + t)) = max(m, 9/(10 + t)) for t = {@link updates}. */
  currentMomentum(): number {
    return this.warmup ? Math.max(this.momentum, 9 / (10 + this.updates)) : this.momentum;
  }

  /** Moves every entry of `model`'s state toward the source's: ema ← (1 − m)·ema + m·source with m = {@link currentMomentum}; call after each optimiser step. */
  update(): void {
    const m = this.currentMomentum();
    const target = this.model.stateDict({ aliases: false });
    for (const [key, value] of Object.entries(this.source.stateDict({ aliases: false }))) {
      const t = target[key];
      if (!t || formatShape(t.shape) !== formatShape(value.shape)) {
        throw new ShapeError(`ModelEma.update: the EMA model has no ${key} of shape ${formatShape(value.shape)}`);
      }
      const src = value.toTypedArray();
      const dst = t.storage;
      const integer = t.dtype === 'int32';
      for (let i = 0; i < src.length; i++) {
        const v = (1 - m) * dst[t.offset + i] + m * src[i];
        dst[t.offset + i] = integer ? Math.trunc(v) : v;
      }
    }
    this.updates++;
  }
}
