import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tensor, type Tensor } from '@parcnet/tensor';
import '@parcnet/autograd';
import * as nn from '../src/index';

// Replays spec/fixtures/nn-goldens.json (spec/make_nn_goldens.py, PyTorch 1.13.1).
const file = fileURLToPath(new URL('../../../spec/fixtures/nn-goldens.json', import.meta.url));
interface Packed { shape: number[]; data: number[] }
const g = JSON.parse(readFileSync(file, 'utf8')) as {
  losses: { name: string; options: Record<string, unknown>; inputs: Record<string, Packed>; targets: Record<string, Packed>; value: Packed; grads: Record<string, Packed> }[];
  optimizers: { name: string; options: Record<string, unknown> & { kind: string; lr: number }; start: number[]; target: number[]; trajectory: number[][] }[];
  oneCycle: { maxLr: number; totalSteps: number; lrs: number[] };
  batchNorm: Record<string, Packed & number[]> & { x: Packed; y: Packed; gy: Packed; gx: Packed; yEval: number[]; runningMean: number[]; runningVar: number[]; weight: number[]; bias: number[]; gWeight: number[]; gBias: number[] };
  layerNorm: { x: Packed; y: number[] };
};

const f64 = (p: Packed): Tensor => tensor(p.data, { shape: p.shape, dtype: 'float64' });
const i32 = (p: Packed): Tensor => tensor(p.data, { shape: p.shape, dtype: 'int32' });
function expectClose(actual: ArrayLike<number>, expected: readonly number[], what: string, tolerance = 1e-10): void {
  expect(actual.length, what).toBe(expected.length);
  expected.forEach((e, i) => expect(Math.abs(actual[i] - e), `${what}[${i}]: ${actual[i]} vs ${e}`).toBeLessThanOrEqual(tolerance * Math.max(1, Math.abs(e))));
}

describe('losses against PyTorch', () => {
  for (const c of g.losses) {
    it(c.name, () => {
      const x = f64(c.inputs.x).requiresGrad_();
      const o = c.options as { labelSmoothing?: number; ignoreIndex?: number; reduction?: nn.Reduction; beta?: number; weighted?: boolean; posWeight?: boolean };
      let value: Tensor;
      if (c.name.startsWith('cross entropy')) {
        value = nn.crossEntropy(x, i32(c.targets.t), { labelSmoothing: o.labelSmoothing, ignoreIndex: o.ignoreIndex, reduction: o.reduction, weight: o.weighted ? f64(c.targets.w) : null });
      } else if (c.name === 'nll') {
        value = nn.nllLoss(x, i32(c.targets.t));
      } else if (c.name === 'mse') {
        value = nn.mseLoss(x, f64(c.targets.t));
      } else if (c.name.startsWith('smooth l1')) {
        value = nn.smoothL1Loss(x, f64(c.targets.t), { beta: o.beta });
      } else {
        value = nn.binaryCrossEntropyWithLogits(x, f64(c.targets.t), { posWeight: o.posWeight ? f64(c.targets.p) : null });
      }
      expectClose(value.toTypedArray(), c.value.data, 'value');
      value.backward();
      expectClose(x.grad!.toTypedArray(), c.grads.x.data, 'gradient');
    });
  }
});

/** Replays optimiser case `c` (five steps on its loss) with parameters of `dtype`, each step against PyTorch's. */
function replayOptimizer(c: (typeof g.optimizers)[number], dtype: 'float32' | 'float64', tolerance: number): void {
  const p = tensor(c.start, { shape: [4, 3], dtype, requiresGrad: true });
  const target = tensor(c.target, { shape: [4, 3], dtype });
  const scale = tensor(Array.from({ length: 12 }, (_, i) => i + 1), { shape: [4, 3], dtype });
  const o = c.options as unknown as nn.SgdHyper & nn.AdamHyper;
  const optimizer = c.options.kind === 'SGD' ? new nn.SGD([p], o) : c.options.kind === 'Adam' ? new nn.Adam([p], o) : new nn.AdamW([p], o);
  for (const expected of c.trajectory) {
    optimizer.zeroGrad();
    p.sub(target).pow(2).mul(scale).sum().add(p.pow(3).sum().mul(0.1)).backward();
    optimizer.step();
    expectClose(p.toTypedArray(), expected, 'parameter', tolerance);
  }
}

describe('optimisers against PyTorch (five steps)', () => {
  for (const c of g.optimizers) {
    it(c.name, () => replayOptimizer(c, 'float64', 1e-12));
    // float32 parameters keep float32 moments, as torch does: the same trajectory within float32 rounding.
    it(`${c.name}, float32`, () => replayOptimizer(c, 'float32', 1e-6));
  }

  it('saves and restores its state, continuing exactly', () => {
    const make = (): [Tensor, nn.AdamW] => {
      const p = tensor([1, -2, 3], { dtype: 'float64', requiresGrad: true });
      return [p, new nn.AdamW([p], { lr: 0.1 })];
    };
    const step = (p: Tensor, o: nn.AdamW): void => {
      o.zeroGrad();
      p.pow(2).sum().backward();
      o.step();
    };
    const [a, oa] = make();
    step(a, oa);
    const [b, ob] = make();
    b.storage.set(a.storage);
    ob.loadStateDict(JSON.parse(JSON.stringify(oa.stateDict())));
    step(a, oa);
    step(b, ob);
    expect(Array.from(b.toTypedArray())).toEqual(Array.from(a.toTypedArray()));
  });
});

describe('schedules', () => {
  it('one-cycle equals torch.optim.lr_scheduler.OneCycleLR', () => {
    const s = nn.oneCycle({ maxLr: g.oneCycle.maxLr, totalSteps: g.oneCycle.totalSteps });
    expectClose(g.oneCycle.lrs.map((_, i) => s.lrAt(i, 0)), g.oneCycle.lrs, 'lr', 1e-12);
  });

  it('warm-up + cosine follows the official formula: linear warm-up per iteration, cosine constant within an epoch', () => {
    const s = nn.warmupCosine({ maxLr: 0.004, minLr: 0.0004, warmupIterations: 10, warmupInitLr: 0.0004, maxEpochs: 4 });
    expect(s.lrAt(0, 0)).toBe(0.0004);
    expect(s.lrAt(5, 0)).toBeCloseTo(0.0022, 12);
    expect(s.lrAt(10, 0)).toBe(0.004);
    expect(s.lrAt(25, 2)).toBe(s.lrAt(29, 2));
    expect(s.lrAt(25, 2)).toBeCloseTo(0.0004 + 0.5 * 0.0036 * (1 + Math.cos(Math.PI / 2)), 8);
    const smooth = nn.warmupCosine({ maxLr: 1, minLr: 0, warmupIterations: 0, warmupInitLr: 0, maxEpochs: 2, per: 'iteration', iterationsPerEpoch: 10 });
    expect(smooth.lrAt(10, 1)).toBeCloseTo(0.5, 8);
    expect(smooth.lrAt(11, 1)).toBeLessThan(smooth.lrAt(10, 1));
  });

  it('step decay', () => {
    const s = nn.stepLr({ lr: 1, stepSize: 3, gamma: 0.5 });
    expect([0, 2, 3, 6].map((e) => s.lrAt(0, e))).toEqual([1, 1, 0.5, 0.25]);
  });
});

describe('norm layers against PyTorch', () => {
  it('BatchNorm2d: training output, gradients, running statistics (unbiased variance), eval output', () => {
    const b = g.batchNorm;
    const bn = new nn.BatchNorm2d(3).to('float64');
    bn.weight!.storage.set(b.weight);
    bn.bias!.storage.set(b.bias);
    const x = f64(b.x).requiresGrad_();
    const y = bn.forward(x);
    expectClose(y.toTypedArray(), b.y.data, 'y', 1e-9);
    y.mul(f64(b.gy)).sum().backward();
    expectClose(x.grad!.toTypedArray(), b.gx.data, 'grad x', 1e-9);
    expectClose(bn.weight!.grad!.toTypedArray(), b.gWeight, 'grad weight', 1e-9);
    expectClose(bn.bias!.grad!.toTypedArray(), b.gBias, 'grad bias', 1e-9);
    expectClose(bn.runningMean!.toTypedArray(), b.runningMean, 'running mean', 1e-12);
    expectClose(bn.runningVar!.toTypedArray(), b.runningVar, 'running var', 1e-12);
    expect(bn.numBatchesTracked!.item()).toBe(1);
    bn.eval();
    expectClose(bn.forward(f64(b.x)).toTypedArray(), b.yEval, 'eval y', 1e-9);
  });

  it('LayerNorm over the last dim', () => {
    const ln = new nn.LayerNorm(5).to('float64');
    expectClose(ln.forward(f64(g.layerNorm.x)).toTypedArray(), g.layerNorm.y, 'y', 1e-9);
  });
});
