import { describe, expect, it } from 'vitest';
import {
  dispose, DisposedTensorError, keep, manageStorage, memoryStats, ones, startScope, tidy, Tensor,
} from '../src/index';

/** A tensor on managed storage, as a backend hands it out, with a counter of how often its memory went back. */
function managedTensor(values: number[], released: { count: number }): Tensor {
  const storage = Float32Array.from(values);
  manageStorage(storage, () => released.count++);
  return new Tensor(storage, [values.length]);
}

describe('deterministic tensor memory (scopes, dispose, managed storage)', () => {
  it('storage goes back when its last tensor is disposed, not before: a view keeps it', () => {
    const released = { count: 0 };
    const base = managedTensor([1, 2, 3, 4], released);
    const view = base.reshape(2, 2);
    base.dispose();
    expect(base.isDisposed).toBe(true);
    expect(released.count).toBe(0);
    expect(Array.from(view.toTypedArray())).toEqual([1, 2, 3, 4]);
    view.dispose();
    expect(released.count).toBe(1);
    view.dispose(); // twice does nothing
    expect(released.count).toBe(1);
  });

  it('tidy disposes what it made, except what it returns (deep), what it keeps and parameters', () => {
    const released = { count: 0 };
    const made: Tensor[] = [];
    const result = tidy(() => {
      for (let i = 0; i < 5; i++) made.push(managedTensor([i], released));
      keep(made[1]);
      made[2].requiresGrad_();
      return { nested: [made[3]], other: new Map([['x', made[4]]]) };
    });
    expect(made.map((t) => t.isDisposed)).toEqual([true, false, false, false, false]);
    expect(released.count).toBe(1);
    expect(result.nested[0].item()).toBe(3);
  });

  it('a returned tensor passes to the enclosing scope and goes back when that one ends', () => {
    const released = { count: 0 };
    let inner!: Tensor;
    tidy(() => {
      inner = tidy(() => managedTensor([7], released));
      expect(inner.isDisposed).toBe(false);
    });
    expect(inner.isDisposed).toBe(true);
    expect(released.count).toBe(1);
  });

  it('an in-place update of a leaf made outside survives the scope (setData is not taken in)', () => {
    const released = { count: 0 };
    const buffer = ones([2]);
    tidy(() => buffer.setData(managedTensor([5, 6], released)));
    expect(Array.from(buffer.toTypedArray())).toEqual([5, 6]);
    expect(released.count).toBe(0);
    buffer.setData(ones([2]));
    expect(released.count).toBe(1);
  });

  it('scopes close innermost first, a throwing body still closes its scope, and tidy refuses async bodies', () => {
    const released = { count: 0 };
    const outer = startScope();
    const inner = startScope();
    expect(() => outer.end()).toThrow(/innermost first/);
    inner.end();
    outer.end();
    let made!: Tensor;
    expect(() => tidy(() => {
      made = managedTensor([1], released);
      throw new Error('step failed');
    })).toThrow('step failed');
    expect(made.isDisposed).toBe(true);
    expect(() => tidy(() => Promise.resolve(1))).toThrow(/synchronous/);
  });

  it('every way into a disposed tensor throws and names the op that made it', () => {
    const released = { count: 0 };
    const t = managedTensor([1, 2, 3, 4], released);
    t.madeBy = 'conv2d';
    const storage = t.storage;
    dispose([t]);
    const uses: [string, () => unknown][] = [
      ['storage', () => t.storage],
      ['item', () => t.reshape(4).item()],
      ['toArray', () => t.toArray()],
      ['toTypedArray', () => t.toTypedArray()],
      ['a view', () => t.reshape(2, 2)],
      ['an op', () => t.add(1)],
      ['setData from it', () => ones([4]).setData(t)],
    ];
    for (const [way, use] of uses) {
      expect(use, way).toThrow(DisposedTensorError);
      expect(use, way).toThrow(/made by conv2d .*shape \[4\].*released/);
    }
    // The typed array itself went back: wrapping it again would read recycled memory.
    expect(released.count).toBe(1);
    expect(() => new Tensor(storage, [4])).toThrow(DisposedTensorError);
  });

  it('ordinary storage is not tracked by scopes but can still be disposed', () => {
    const before = memoryStats().disposed;
    let plain!: Tensor;
    tidy(() => {
      plain = ones([3]);
    });
    expect(plain.isDisposed).toBe(false);
    plain.dispose();
    expect(() => plain.sum()).toThrow(DisposedTensorError);
    expect(memoryStats().disposed).toBe(before + 1);
  });
});
