import { describe, expect, it } from 'vitest';
import { mean, pad, conv2d, randn, tensor, variance, zeros, Generator, type Tensor } from '@parcnet/tensor';
import '@parcnet/autograd';
import * as nn from '../src/index';

class Tiny extends nn.Module {
  readonly scale = this.parameter('scale', tensor([2]));
  readonly conv = this.child('conv', new nn.Conv2d(2, 3, 3, { padding: 1 }));
  readonly norm = this.child('norm', new nn.BatchNorm2d(3));
  readonly head = this.child('head', new nn.Sequential(new nn.Dropout(0.5), new nn.Identity()));
  forward(x: Tensor): Tensor {
    return this.head.forward(this.norm.forward(this.conv.forward(x))).mul(this.scale);
  }
}

describe('Module', () => {
  it('names parameters, buffers and children like PyTorch, own entries first', () => {
    const m = new Tiny();
    expect(m.namedParameters().map(([k]) => k)).toEqual(['scale', 'conv.weight', 'conv.bias', 'norm.weight', 'norm.bias']);
    expect(m.namedBuffers().map(([k]) => k)).toEqual(['norm.running_mean', 'norm.running_var', 'norm.num_batches_tracked']);
    expect(Object.keys(m.stateDict())).toEqual([
      'scale', 'conv.weight', 'conv.bias', 'norm.weight', 'norm.bias', 'norm.running_mean', 'norm.running_var', 'norm.num_batches_tracked',
    ]);
    expect(m.namedModules().map(([k]) => k)).toEqual(['', 'conv', 'norm', 'head', 'head.0', 'head.1']);
    expect(m.children().length).toBe(3);
    expect(m.numParameters()).toBe(1 + 54 + 3 + 3 + 3);
  });

  it('train() and eval() recurse; apply visits children first', () => {
    const m = new Tiny().eval();
    expect(m.modules().every((x) => !x.training)).toBe(true);
    m.train();
    expect(m.head.at(0).training).toBe(true);
    const order: string[] = [];
    m.apply((x) => order.push(x.constructor.name));
    expect(order).toEqual(['Conv2d', 'BatchNorm2d', 'Dropout', 'Identity', 'Sequential', 'Tiny']);
  });

  it('zeroGrad clears gradients', () => {
    const m = new Tiny().eval();
    m.forward(randn([1, 2, 4, 4], { seed: 1 })).sum().backward();
    expect(m.conv.weight.grad).not.toBeNull();
    m.zeroGrad();
    expect(m.parameters().every((p) => p.grad === null)).toBe(true);
  });

  it('loadStateDict copies in place, strips module. prefixes, and reports missing and unexpected keys when not strict', () => {
    const a = new Tiny();
    const b = new Tiny();
    const weight = b.conv.weight;
    const prefixed = Object.fromEntries(Object.entries(a.stateDict()).map(([k, v]) => [`module.${k}`, v]));
    b.loadStateDict(prefixed);
    expect(b.conv.weight).toBe(weight);
    expect(Array.from(b.conv.weight.toTypedArray())).toEqual(Array.from(a.conv.weight.toTypedArray()));
    const partial: Record<string, Tensor> = { ...a.stateDict(), extra: zeros([1]) };
    delete partial['norm.bias'];
    expect(() => b.loadStateDict(partial)).toThrow(/missing key norm.bias[\s\S]*unexpected key extra/);
    const report = b.loadStateDict(partial, { strict: false });
    expect(report.missingKeys).toEqual(['norm.bias']);
    expect(report.unexpectedKeys).toEqual(['extra']);
  });

  it('to(float64) converts parameters and buffers in place, keeping the objects', () => {
    const m = new Tiny();
    const w = m.conv.weight;
    m.to('float64');
    expect(m.conv.weight).toBe(w);
    expect(w.dtype).toBe('float64');
    expect(m.norm.numBatchesTracked!.dtype).toBe('int32');
  });
});

describe('layers', () => {
  it('Conv2d with circular padding equals circular pad + conv', () => {
    const c = new nn.Conv2d(2, 3, 3, { padding: 1, paddingMode: 'circular' });
    const x = randn([1, 2, 5, 4], { seed: 2 });
    const expected = conv2d(pad(x, [1, 1, 1, 1], { mode: 'circular' }), c.weight, { bias: c.bias });
    expect(Array.from(c.forward(x).toTypedArray())).toEqual(Array.from(expected.toTypedArray()));
  });

  it('Linear computes x·Wᵀ + b', () => {
    const l = new nn.Linear(3, 2);
    l.weight.storage.set([1, 2, 3, 4, 5, 6]);
    l.bias!.storage.set([10, 20]);
    expect(l.forward(tensor([[1, 1, 1]])).toArray()).toEqual([[16, 35]]);
  });

  it('LayerNorm channels-first equals the last-dim LayerNorm on permuted NHWC', () => {
    const x = randn([2, 4, 3, 3], { dtype: 'float64', seed: 3 });
    const cf = new nn.LayerNorm(4, { channelsFirst: true }).to('float64');
    const last = new nn.LayerNorm(4).to('float64');
    const a = cf.forward(x).toTypedArray();
    const b = last.forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2).toTypedArray();
    a.forEach((v, i) => expect(v).toBeCloseTo(b[i], 12));
  });

  it('Dropout zeroes about p of the elements and rescales the rest in training; identity in eval', () => {
    const d = new nn.Dropout(0.3, new Generator(1));
    const y = d.forward(zeros([10000]).add(1)).toTypedArray();
    const kept = Array.from(y).filter((v) => v !== 0);
    expect(kept.length / 10000).toBeCloseTo(0.7, 1);
    expect(kept[0]).toBeCloseTo(1 / 0.7, 6);
    d.eval();
    expect(Array.from(d.forward(tensor([1, 2])).toTypedArray())).toEqual([1, 2]);
    const d2 = new nn.Dropout2d(0.5, new Generator(2));
    const z = d2.forward(zeros([4, 8, 3, 3]).add(1));
    const perChannel = z.sum([2, 3]).toTypedArray();
    expect(Array.from(perChannel).every((v) => v === 0 || Math.abs(v - 18) < 1e-4)).toBe(true);
  });

  it('BatchNorm2d refuses one value per channel in training', () => {
    expect(() => new nn.BatchNorm2d(3).forward(randn([1, 3, 1, 1]))).toThrow(/expected more than 1 value per channel when training/);
  });
});

describe('initialisers', () => {
  it('kaiming normal (fan_out) has std √(2 / fan_out), groups not counted', () => {
    const w = nn.kaimingNormal_(zeros([256, 1, 3, 3]), { mode: 'fan_out', generator: new Generator(1) });
    expect(Math.sqrt(variance(w).item())).toBeCloseTo(Math.sqrt(2 / 2304), 2);
  });

  it('kaiming uniform (a = √5) of a [C, 1, K, 1] meta kernel is U(±1/√K)', () => {
    const w = nn.kaimingUniform_(zeros([64, 1, 16, 1]), Math.sqrt(5), new Generator(2));
    const values = Array.from(w.toTypedArray());
    expect(Math.max(...values.map(Math.abs))).toBeLessThanOrEqual(0.25);
    expect(Math.sqrt(variance(w).item())).toBeCloseTo(1 / Math.sqrt(3 * 16), 2);
  });

  it('trunc normal stays within its absolute bounds', () => {
    const w = nn.truncNormal_(zeros([5000]), { std: 1, a: -0.5, b: 0.5, generator: new Generator(3) });
    expect(Math.max(...Array.from(w.toTypedArray()).map(Math.abs))).toBeLessThanOrEqual(0.5);
    expect(Math.abs(mean(w).item())).toBeLessThan(0.05);
  });

  it('trunc normal with little mass inside [a, b] draws by the inverse CDF (rejection took ~30,000 draws an element here) and follows the tail', () => {
    // [4, 5] standard deviations above the mean: 3.2e-5 of the mass; the truncated mean is ≈ 4.22.
    const w = nn.truncNormal_(zeros([2000]), { std: 1, a: 4, b: 5, generator: new Generator(4) });
    const values = Array.from(w.toTypedArray());
    expect(Math.min(...values)).toBeGreaterThanOrEqual(4);
    expect(Math.max(...values)).toBeLessThanOrEqual(5);
    expect(mean(w).item()).toBeCloseTo(4.22, 1);
    expect(() => nn.truncNormal_(zeros([2]), { a: 1, b: 1 })).toThrow(/a < b/);
  });

  it('initialisers fill a strided view\'s own elements, not the storage after its offset', () => {
    const base = zeros([4, 4]);
    nn.uniform_(base.slice(1, 1, 2), 1, 2, new Generator(5)); // column 1: storage 1, 5, 9, 13
    for (const row of base.toArray() as number[][]) {
      expect(row[1] >= 1 && row[1] < 2).toBe(true);
      expect([row[0], row[2], row[3]]).toEqual([0, 0, 0]);
    }
  });
});

describe('Dropout', () => {
  it('p = 1 zeroes everything, as torch, instead of 0 · ∞ = NaN; p = 0 and eval pass x through', () => {
    const x = randn([2, 3, 4, 4], { seed: 6 });
    for (const layer of [new nn.Dropout(1), new nn.Dropout2d(1)]) {
      const y = layer.train().forward(x);
      expect(Array.from(y.toTypedArray()).every((v) => v === 0)).toBe(true);
      expect(layer.eval().forward(x)).toBe(x);
    }
    expect(new nn.Dropout(0).train().forward(x)).toBe(x);
  });

  it('the gradient is the mask: 1/(1 − p) where kept, 0 where dropped (Dropout2d: per channel)', () => {
    for (const [layer, twin] of [
      [new nn.Dropout(0.4, new Generator(3)), new nn.Dropout(0.4, new Generator(3))],
      [new nn.Dropout2d(0.4, new Generator(3)), new nn.Dropout2d(0.4, new Generator(3))],
    ] as const) {
      const x = randn([2, 5, 3, 3], { seed: 8 }).requiresGrad_();
      layer.forward(x).sum().backward();
      // `twin` draws the same mask from the same seed.
      const mask = Array.from(twin.forward(zeros([2, 5, 3, 3]).add(1)).toTypedArray());
      expect(Array.from(x.grad!.toTypedArray())).toEqual(mask);
      expect(new Set(mask)).toEqual(new Set([0, Math.fround(1 / 0.6)]));
    }
  });
});
