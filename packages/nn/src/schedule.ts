/**
 * Learning-rate schedules as pure functions of the global iteration (from 0) and the epoch (from 0).
 */
export interface LrSchedule {
  /** The learning rate at global `iteration` (from 0), which falls in `epoch` (from 0). */
  lrAt(iteration: number, epoch: number): number;
}

/** Options of {@link warmupCosine}, as the official cosine scheduler's. */
export interface WarmupCosineOptions {
  /** The peak learning rate, reached at the end of warm-up. */
  maxLr: number;
  /** The floor the cosine decays to at `maxEpochs`. */
  minLr: number;
  /** Iterations of linear warm-up from `warmupInitLr` to `maxLr` (0 for none). */
  warmupIterations: number;
  /** Where the linear warm-up starts (the official configs start at minLr). */
  warmupInitLr: number;
  /** The length of the cosine in epochs; with per 'epoch', lr = minLr + ½(maxLr − minLr)(1 + cos(π · epoch / maxEpochs)). */
  maxEpochs: number;
  /**
   * 'epoch' (official): after warm-up the cosine uses the epoch, constant within it; 'iteration':
   * a smooth cosine over `iterationsPerEpoch · maxEpochs` iterations. Default 'epoch'.
   */
  per?: 'epoch' | 'iteration';
  /** Iterations in one epoch, for `per: 'iteration'`; default 1. */
  iterationsPerEpoch?: number;
  /**
   * The cosine's length in iterations, for `per: 'iteration'`, when the last epoch is cut short (a
   * time budget's plan); default `iterationsPerEpoch · maxEpochs`.
   */
  totalIterations?: number;
}

/** The official schedule (spec §10), rounded to 8 decimals as the official code does. */
export function warmupCosine(options: WarmupCosineOptions): LrSchedule {
  const { maxLr, minLr, warmupIterations, warmupInitLr, maxEpochs } = options;
  const per = options.per ?? 'epoch';
  return {
    lrAt(iteration: number, epoch: number): number {
      let lr: number;
      if (iteration < warmupIterations) {
        lr = warmupInitLr + (iteration * (maxLr - warmupInitLr)) / warmupIterations;
      } else if (per === 'epoch') {
        lr = minLr + 0.5 * (maxLr - minLr) * (1 + Math.cos((Math.PI * epoch) / maxEpochs));
      } else {
        const total = options.totalIterations ?? (options.iterationsPerEpoch ?? 1) * maxEpochs;
        lr = minLr + 0.5 * (maxLr - minLr) * (1 + Math.cos((Math.PI * Math.min(iteration, total)) / total));
      }
      return Math.round(Math.max(lr, 0) * 1e8) / 1e8;
    },
  };
}

/** torch.optim.lr_scheduler.StepLR: lr · γ^⌊epoch / stepSize⌋. */
export function stepLr(options: { lr: number; stepSize: number; gamma?: number }): LrSchedule {
  return { lrAt: (_iteration, epoch) => options.lr * (options.gamma ?? 0.1) ** Math.floor(epoch / options.stepSize) };
}

/**
 * torch.optim.lr_scheduler.OneCycleLR (cosine annealing, two phases): from maxLr/divFactor up to
 * maxLr over pctStart of the steps, then down to initial/finalDivFactor, per iteration.
 */
export function oneCycle(options: { maxLr: number; totalSteps: number; pctStart?: number; divFactor?: number; finalDivFactor?: number }): LrSchedule {
  const initial = options.maxLr / (options.divFactor ?? 25);
  const final = initial / (options.finalDivFactor ?? 1e4);
  const peak = (options.pctStart ?? 0.3) * options.totalSteps - 1;
  const end = options.totalSteps - 1;
  const anneal = (from: number, to: number, pct: number): number => to + ((from - to) / 2) * (Math.cos(Math.PI * pct) + 1);
  return {
    lrAt(iteration: number): number {
      if (iteration <= peak) return anneal(initial, options.maxLr, peak > 0 ? iteration / peak : 1);
      return anneal(options.maxLr, final, Math.min((iteration - peak) / (end - peak), 1));
    },
  };
}
