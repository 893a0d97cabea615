import { describe, expect, it } from 'vitest';
import * as P from '../src/index';

describe('creation', () => {
  it('tensor from nested arrays, numbers and typed arrays', () => {
    const t = P.tensor([[1, 2, 3], [4, 5, 6]]);
    expect(t.shape).toEqual([2, 3]);
    expect(t.dtype).toBe('float32');
    expect(P.tensor(3).shape).toEqual([]);
    expect(P.tensor(new Float64Array([1, 2])).dtype).toBe('float64');
    expect(P.tensor(new Int32Array([1, 2, 3, 4]), { shape: [2, 2] }).toArray()).toEqual([[1, 2], [3, 4]]);
    expect(P.tensor([1.7, -1.7], { dtype: 'int32' }).toArray()).toEqual([1, -1]);
  });

  it('copies the typed array it is given', () => {
    const data = new Float32Array([1, 2]);
    const t = P.tensor(data);
    data[0] = 9;
    expect(t.toArray()).toEqual([1, 2]);
  });

  it('refuses ragged arrays and mismatched shapes', () => {
    expect(() => P.tensor([[1, 2], [3]])).toThrow(P.ShapeError);
    expect(() => P.tensor([1, 2, 3], { shape: [2, 2] })).toThrow(/needs 4 values, got 3/);
  });

  it('zeros, ones, full, arange, linspace and eye', () => {
    expect(P.zeros([2]).toArray()).toEqual([0, 0]);
    expect(P.ones([2], { dtype: 'int32' }).dtype).toBe('int32');
    expect(P.full([2], 7).toArray()).toEqual([7, 7]);
    expect(P.arange(5).toArray()).toEqual([0, 1, 2, 3, 4]);
    expect(P.arange(5).dtype).toBe('int32');
    expect(P.arange(1, 2, 0.25).toArray()).toEqual([1, 1.25, 1.5, 1.75]);
    expect(P.arange(5, 0, -2).toArray()).toEqual([5, 3, 1]);
    const l = P.linspace(0, 1, 5, { dtype: 'float64' });
    expect(l.toArray()).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(P.eye(2, 3).toArray()).toEqual([[1, 0, 0], [0, 1, 0]]);
  });

  it('random tensors come from a seeded generator, reproducibly', () => {
    const a = P.randn([100], { seed: 42 });
    const b = P.randn([100], { seed: 42 });
    const c = P.randn([100], { seed: 43 });
    expect(a.toArray()).toEqual(b.toArray());
    expect(a.toArray()).not.toEqual(c.toArray());
    const g = new P.Generator(5);
    const first = P.rand([3], { generator: g }).toArray();
    const second = P.rand([3], { generator: g }).toArray();
    expect(first).not.toEqual(second);
    expect(P.rand([3], { generator: new P.Generator(5) }).toArray()).toEqual(first);
  });

  it('randn is standard normal, rand uniform in [0, 1), randint in [low, high)', () => {
    const n = P.randn([20000], { dtype: 'float64', seed: 1 });
    expect(P.mean(n).item()).toBeCloseTo(0, 1);
    expect(P.variance(n).item()).toBeCloseTo(1, 1);
    const u = P.rand([20000], { dtype: 'float64', seed: 2 });
    expect(P.min(u).item()).toBeGreaterThanOrEqual(0);
    expect(P.max(u).item()).toBeLessThan(1);
    expect(P.mean(u).item()).toBeCloseTo(0.5, 1);
    const r = P.randint(-2, 3, [5000], { seed: 3 });
    expect(r.dtype).toBe('int32');
    expect(new Set(Array.from(r.toTypedArray()))).toEqual(new Set([-2, -1, 0, 1, 2]));
  });

  it('the default generator is reseeded by manualSeed', () => {
    P.manualSeed(10);
    const a = P.randn([4]).toArray();
    P.manualSeed(10);
    expect(P.randn([4]).toArray()).toEqual(a);
  });

  it('a generator state saves and restores', () => {
    const g = new P.Generator(9);
    g.normal();
    const state = g.getState();
    const next = [g.normal(), g.normal(), g.uniform()];
    const h = new P.Generator(0);
    h.setState(state);
    expect([h.normal(), h.normal(), h.uniform()]).toEqual(next);
  });
});
