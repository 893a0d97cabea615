import { ShapeError, formatShape } from '@parcnet/tensor';
import type { Module } from './module.js';

/**
 * An exponential moving average of a model's whole state — parameters and buffers — the official
 * form (spec §10): after each optimiser step ema ← (1 − m)·ema + m·model with m = 0.0005. Integer
 * buffers (num_batches_tracked) are truncated back to integers, as the official int64 cast does.
 * The average lives in `model` of the same architecture, which can be evaluated directly.
 */
export class ModelEma<M extends Module> {
  /** m, the weight of the source model in each update; default 0.0005 (spec §10). */
  readonly momentum: number;

  /**
   * Copies the source's state into `model` and puts `model` in eval mode.
   *
   * @param source The model being trained, whose state is averaged.
   * @param model The copy that holds the average (same architecture).
   * @param options `momentum`, default 0.0005.
   */
  constructor(readonly source: Module, readonly model: M, options: { momentum?: number } = {}) {
    this.momentum = options.momentum ?? 0.0005;
    model.loadStateDict(source.stateDict({ aliases: false }));
    model.eval();
  }

  /** Moves every entry of `model`'s state toward the source's: ema ← (1 − m)·ema + m·source; call after each optimiser step. */
  update(): void {
    const m = this.momentum;
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
  }
}
