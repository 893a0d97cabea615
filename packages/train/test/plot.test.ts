import { describe, expect, it } from 'vitest';
import { plotPoints, type PlotSeries } from '../src/plot';

const series: PlotSeries[] = [
  { field: 'loss', label: 'test loss', panel: 'loss' },
  { field: 'top1', label: 'test top-1', panel: 'accuracy' },
  { field: 'train_top1', label: 'train top-1', panel: 'accuracy', training: true },
];

// Two epochs not evaluated, then the last one evaluated, as the 2-hour recipe logs them: the epoch
// lines carry the training loss under `loss`, the evaluation line the test loss.
const log = [
  { type: 'train', epoch: 0, step: 10, loss: 2.2 },
  { type: 'epoch', epoch: 0, step: 20, loss: 1.6, train_top1: 0.46 },
  { type: 'epoch', epoch: 1, step: 40, loss: 1.2, train_top1: 0.66 },
  { type: 'eval', epoch: 2, step: 60, loss: 0.41, top1: 0.88, train_top1: 0.93 },
].map((l) => JSON.stringify(l)).join('\n') + '\n';

describe('the training plot', () => {
  it('draws a training series from the epoch lines too, and an evaluation series only from the evaluation lines', () => {
    const points = plotPoints(log, series);
    const of = (label: string): [number, number][] => points.filter((p) => p.series === label).map((p) => [p.step, p.value]);
    expect(of('train loss (batch)')).toEqual([[10, 2.2]]);
    expect(of('train top-1')).toEqual([[20, 0.46], [40, 0.66], [60, 0.93]]);
    expect(of('test loss')).toEqual([[60, 0.41]]);
    expect(of('test top-1')).toEqual([[60, 0.88]]);
  });
});
