import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** One point of a curve: its step, value, series (legend label) and panel. */
export interface Point { step: number; value: number; series: string; panel: string }

/** One curve drawn from the evaluation lines (and, for a training measurement, the epoch lines): a field of theirs, its legend label and its panel. */
export interface PlotSeries {
  /** Key of the evaluation log line to draw (`top1`, `val2017_AP`, …). */
  field: string;
  /** Legend label. */
  label: string;
  /** The panel it goes in. */
  panel: 'loss' | 'accuracy';
  /**
   * A training measurement (the epoch's training loss or top-1), which the epoch lines of epochs
   * not evaluated carry too: drawn from both, so a run evaluated only after its last epoch still has
   * a curve of it. Default false: evaluation lines only.
   */
  training?: boolean;
}

/** The series of the training lines (one point a logged step), drawn as a line without dots. */
const BATCH_LOSS = 'train loss (batch)';

const CLASSIFICATION_SERIES: PlotSeries[] = [
  { field: 'loss', label: 'test loss', panel: 'loss' },
  { field: 'top1', label: 'test top-1', panel: 'accuracy' },
  { field: 'ema_top1', label: 'test top-1 (EMA)', panel: 'accuracy' },
  { field: 'train_top1', label: 'train top-1', panel: 'accuracy', training: true },
];

/** The points of the plot, from the text of a training log: the batch loss, then `evalSeries`. */
export function plotPoints(log: string, evalSeries: readonly PlotSeries[]): Point[] {
  const points: Point[] = [];
  for (const line of log.split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line) as Record<string, number | string>;
    const step = Number(r.step);
    if (r.type === 'train') points.push({ step, value: Number(r.loss), series: BATCH_LOSS, panel: 'loss' });
    const fromThisLine = r.type === 'eval' ? evalSeries : r.type === 'epoch' ? evalSeries.filter((s) => s.training) : [];
    for (const s of fromThisLine) if (r[s.field] !== undefined) points.push({ step, value: Number(r[s.field]), series: s.label, panel: s.panel });
  }
  return points;
}

/**
 * Loss and accuracy curves from a training log (log.jsonl) as a PNG: vega-lite → vega → SVG →
 * resvg. Training lines give the loss curve; evaluation lines give the per-epoch loss and top-1,
 * and the epoch lines of epochs not evaluated the training series (`PlotSeries.training`).
 */
export async function plotTrainingLog(logFile: string, pngFile: string, title = 'training', options: { evalSeries?: PlotSeries[] } = {}): Promise<void> {
  const points = plotPoints(readFileSync(logFile, 'utf8'), options.evalSeries ?? CLASSIFICATION_SERIES);
  const spec: TopLevelSpec = {
    title,
    data: { values: points },
    facet: { column: { field: 'panel', type: 'nominal', sort: ['loss', 'accuracy'], title: null } },
    spec: {
      width: 360,
      height: 240,
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'optimiser step' },
        y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
        color: { field: 'series', type: 'nominal', title: null, legend: { labelLimit: 240 } },
      },
      // Lines, and a dot at each epoch's point: a series with one point (one evaluation) has no line.
      layer: [
        { mark: { type: 'line', clip: true } },
        { mark: { type: 'point', filled: true, size: 30, clip: true }, transform: [{ filter: `datum.series !== '${BATCH_LOSS}'` }] },
      ],
    },
    resolve: { scale: { y: 'independent' } },
  };
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const png = new Resvg(svg, { background: 'white', fitTo: { mode: 'zoom', value: 2 }, font: { loadSystemFonts: true } }).render().asPng();
  const temporary = `${pngFile}.tmp-${process.pid}`;
  writeFileSync(temporary, png);
  renameSync(temporary, pngFile);
}
