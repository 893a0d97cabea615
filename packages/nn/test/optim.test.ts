import { describe, expect, it } from 'vitest';
import { FormatError, randn, tensor, type Tensor } from '@parcnet/tensor';
import '@parcnet/autograd';
import * as nn from '../src/index';

// The optimisers' state: its dtype, and its round trip through stateDict / loadStateDict (the
// trajectories themselves are PyTorch's: torch-goldens.test.ts).

/** Two float32 (or float64) parameters, one of an odd size, starting from fixed values. */
function parameters(dtype: 'float32' | 'float64'): Tensor[] {
  return [randn([3, 5], { seed: 1, dtype }).requiresGrad_(), randn([7], { seed: 2, dtype }).requiresGrad_()];
}

/** One step on a fixed loss whose gradient changes with the parameters: Σ (p − 0.3)² · (1 + p). */
function step(params: Tensor[], optimizer: nn.Optimizer<{ lr: number }>): void {
  optimizer.zeroGrad();
  for (const p of params) p.sub(0.3).pow(2).mul(p.add(1)).sum().backward();
  optimizer.step();
}

const bits = (params: Tensor[]): number[][] => params.map((p) => Array.from(p.toTypedArray()));
/** A state dict as a checkpoint gives it back: through JSON. */
const roundTrip = <T>(saved: T): T => JSON.parse(JSON.stringify(saved)) as T;

describe('Adam and AdamW state', () => {
  it('dispose gives the moments back and forgets the state: the next step starts as a new optimiser\'s first', () => {
    const params = parameters('float32');
    const start = bits(params);
    const optimizer = new nn.AdamW(params, { lr: 0.01 });
    step(params, optimizer);
    const moments = (optimizer as unknown as { state: Map<Tensor, Record<string, unknown>> }).state.get(params[0])!;
    const expAvg = moments.expAvg as Tensor;
    optimizer.dispose();
    expect(expAvg.isDisposed).toBe(true);
    expect(optimizer.stateDict().state).toEqual([null, null]);
    // A fresh optimiser's first step from the same point lands on the same bits.
    const twin = params.map((p) => p.detach().clone().requiresGrad_());
    const fresh = new nn.AdamW(twin, { lr: 0.01 });
    step(params, optimizer);
    step(twin, fresh);
    expect(bits(params)).toEqual(bits(twin));
    expect(bits(params)).not.toEqual(start);
  });

  it('keeps the moments in the parameter\'s dtype, as torch\'s exp_avg and exp_avg_sq', () => {
    for (const dtype of ['float32', 'float64'] as const) {
      const params = parameters(dtype);
      const optimizer = new nn.AdamW(params, { lr: 0.01 });
      step(params, optimizer);
      step(params, optimizer);
      const moments = optimizer.stateDict().state.flatMap((s) => [...(s!.expAvg as number[]), ...(s!.expAvgSq as number[])]);
      expect(moments.every((x) => Math.fround(x) === x), dtype).toBe(dtype === 'float32');
    }
  });

  it('saved, loaded (through JSON) and continued, equals the uninterrupted run bit for bit', () => {
    for (const Rule of [nn.Adam, nn.AdamW]) {
      const uninterrupted = parameters('float32');
      const optimizer = new Rule(uninterrupted, { lr: 0.05, weightDecay: 0.1 });
      for (let i = 0; i < 3; i++) step(uninterrupted, optimizer);
      const resumed = parameters('float32');
      resumed.forEach((p, i) => p.storage.set(uninterrupted[i].storage));
      const loaded = new Rule(resumed, {});
      loaded.loadStateDict(roundTrip(optimizer.stateDict()));
      for (let i = 0; i < 3; i++) {
        step(uninterrupted, optimizer);
        step(resumed, loaded);
      }
      expect(bits(resumed), Rule.name).toEqual(bits(uninterrupted));
      expect(loaded.stateDict(), Rule.name).toEqual(optimizer.stateDict());
    }
  });

  it('loads a state whose moments were saved as float64 (the earlier format) into float32 parameters: rounded, and the run goes on as the float64 one within float32 rounding', () => {
    const wide = parameters('float64');
    const wideOptimizer = new nn.AdamW(wide, { lr: 0.05 });
    for (let i = 0; i < 3; i++) step(wide, wideOptimizer);
    const saved = roundTrip(wideOptimizer.stateDict());
    const narrow = parameters('float32');
    narrow.forEach((p, i) => p.storage.set(wide[i].storage));
    const narrowOptimizer = new nn.AdamW(narrow, {});
    narrowOptimizer.loadStateDict(saved);
    const rounded = saved.state.map((s) => ({ ...s, expAvg: (s!.expAvg as number[]).map(Math.fround), expAvgSq: (s!.expAvgSq as number[]).map(Math.fround) }));
    expect(narrowOptimizer.stateDict().state).toEqual(rounded);
    for (let i = 0; i < 3; i++) {
      step(wide, wideOptimizer);
      step(narrow, narrowOptimizer);
    }
    const expected = bits(wide).flat();
    bits(narrow).flat().forEach((x, i) => expect(Math.abs(x - expected[i])).toBeLessThan(1e-6 * Math.max(1, Math.abs(expected[i]))));
  });

  it('refuses a state whose moments do not fit a parameter, with a FormatError, and keeps its own', () => {
    const params = parameters('float32');
    const optimizer = new nn.AdamW(params, { lr: 0.01 });
    step(params, optimizer);
    const before = optimizer.stateDict();
    const wrong = roundTrip(before);
    wrong.groups[0].lr = 0.5;
    wrong.state[1] = { ...wrong.state[1]!, expAvgSq: [1, 2, 3] };
    expect(() => optimizer.loadStateDict(wrong)).toThrow(FormatError);
    expect(() => optimizer.loadStateDict(wrong)).toThrow('parameter 1 has 7 elements, its saved expAvgSq 3');
    expect(optimizer.stateDict()).toEqual(before);
  });

  it('SGD\'s momentum buffer still round-trips as float64', () => {
    const p = tensor([0.5, -1.25, 2], { requiresGrad: true });
    const optimizer = new nn.SGD([p], { lr: 0.1, momentum: 0.9 });
    step([p], optimizer);
    const twin = new nn.SGD([p], { lr: 0.1 });
    twin.loadStateDict(roundTrip(optimizer.stateDict()));
    expect(twin.stateDict()).toEqual(optimizer.stateDict());
  });
});
