import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as P from '../src/index';
import { at } from './oracle';

const arange = (...shape: number[]): P.Tensor => P.arange(shape.reduce((a, b) => a * b, 1), undefined, 1, { dtype: 'float32' }).reshape(...shape);

describe('zero-copy views', () => {
  it('reshape of a contiguous tensor shares storage; of a transposed one it copies', () => {
    const x = arange(2, 3, 4);
    const r = x.reshape(6, -1);
    expect(r.shape).toEqual([6, 4]);
    expect(r.storage).toBe(x.storage);
    const t = x.transpose(1, 2);
    expect(t.storage).toBe(x.storage);
    expect(t.isContiguous()).toBe(false);
    const flat = t.reshape(-1);
    expect(flat.storage).not.toBe(x.storage);
    expect(Array.from(flat.toTypedArray()).slice(0, 4)).toEqual([0, 4, 8, 1]);
  });

  it('reshape keeps a view when merged dims stay contiguous among themselves', () => {
    const x = arange(4, 6).slice(0, 0, 4, 2); // rows 0 and 2: strides [12, 1]
    expect(x.reshape(2, 2, 3).storage).toBe(x.storage);
  });

  it('permute, slice with step, flip and expand are views with the expected elements', () => {
    const x = arange(3, 4);
    const p = x.permute(1, 0);
    expect(p.toArray()).toEqual([[0, 4, 8], [1, 5, 9], [2, 6, 10], [3, 7, 11]]);
    const s = x.slice(1, -3, undefined, 2);
    expect(s.storage).toBe(x.storage);
    expect(s.toArray()).toEqual([[1, 3], [5, 7], [9, 11]]);
    const f = x.flip(0, 1);
    expect(f.storage).toBe(x.storage);
    expect(f.strides).toEqual([-4, -1]);
    expect(f.toArray()).toEqual([[11, 10, 9, 8], [7, 6, 5, 4], [3, 2, 1, 0]]);
    const e = P.tensor([1, 2, 3]).reshape(3, 1).expand(3, 2);
    expect(e.strides).toEqual([1, 0]);
    expect(e.toArray()).toEqual([[1, 1], [2, 2], [3, 3]]);
  });

  it('squeeze, unsqueeze, select and flatten', () => {
    const x = arange(1, 3, 1, 2);
    expect(x.squeeze().shape).toEqual([3, 2]);
    expect(x.squeeze(2).shape).toEqual([1, 3, 2]);
    expect(x.squeeze(1).shape).toEqual([1, 3, 1, 2]);
    expect(x.unsqueeze(-1).shape).toEqual([1, 3, 1, 2, 1]);
    expect(P.select(x, 1, -1).toArray()).toEqual([[[4, 5]]]);
    expect(x.flatten(1).shape).toEqual([1, 6]);
  });

  it('contiguous copies only when needed', () => {
    const x = arange(2, 3);
    expect(x.contiguous()).toBe(x);
    const t = x.transpose(0, 1).contiguous();
    expect(t.isContiguous()).toBe(true);
    expect(Array.from(t.storage)).toEqual([0, 3, 1, 4, 2, 5]);
  });

  it('roll shifts circularly, like torch.roll', () => {
    const x = arange(2, 4);
    expect(P.roll(x, 1, 1).toArray()).toEqual([[3, 0, 1, 2], [7, 4, 5, 6]]);
    expect(P.roll(x, [-1, 5], [1, 0]).toArray()).toEqual([[5, 6, 7, 4], [1, 2, 3, 0]]);
  });

  it('every permutation of a random tensor reads the same elements as index arithmetic', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }).chain((shape) =>
        fc.tuple(fc.constant(shape), fc.shuffledSubarray(shape.map((_, i) => i), { minLength: shape.length }))),
      ([shape, order]) => {
        const x = arange(...shape);
        const p = x.permute(...order).contiguous();
        const flat = p.toTypedArray();
        const pShape = order.map((d) => shape[d]);
        const idx = new Array<number>(pShape.length).fill(0);
        for (let n = 0; n < flat.length; n++) {
          const source = new Array<number>(shape.length);
          order.forEach((d, i) => (source[d] = idx[i]));
          expect(flat[n]).toBe(at(x, ...source));
          for (let d = pShape.length - 1; d >= 0; d--) {
            if (++idx[d] < pShape[d]) break;
            idx[d] = 0;
          }
        }
      }),
      { seed: 3, numRuns: 100 },
    );
  });
});

describe('joining, splitting and gathering', () => {
  it('concat, stack, split and chunk', () => {
    const a = arange(2, 2);
    const b = arange(2, 1).add(10);
    expect(P.concat([a, b], 1).toArray()).toEqual([[0, 1, 10], [2, 3, 11]]);
    expect(P.stack([a, a], 0).shape).toEqual([2, 2, 2]);
    expect(P.split(arange(5), 2).map((t) => t.toArray())).toEqual([[0, 1], [2, 3], [4]]);
    expect(P.split(arange(5), [1, 4]).map((t) => t.shape[0])).toEqual([1, 4]);
    expect(P.chunk(arange(6), 4).map((t) => t.shape[0])).toEqual([2, 2, 2]);
  });

  it('concat promotes dtypes', () => {
    expect(P.concat([P.tensor([1], { dtype: 'int32' }), P.tensor([0.5], { dtype: 'float64' })]).dtype).toBe('float64');
  });

  it('gather and indexSelect follow torch', () => {
    const x = arange(2, 3);
    expect(P.gather(x, 1, P.tensor([[2, 0], [1, 1]], { dtype: 'int32' })).toArray()).toEqual([[2, 0], [4, 4]]);
    expect(P.indexSelect(x, 1, [2, 2, 0]).toArray()).toEqual([[2, 2, 0], [5, 5, 3]]);
  });

  it('pad: constant, circular and reflect, in PyTorch order (last dim first)', () => {
    const x = P.tensor([[1, 2, 3]]);
    expect(P.pad(x, [1, 2], { value: 9 }).toArray()).toEqual([[9, 1, 2, 3, 9, 9]]);
    expect(P.pad(x, [2, 1], { mode: 'circular' }).toArray()).toEqual([[2, 3, 1, 2, 3, 1]]);
    expect(P.pad(x, [2, 2], { mode: 'reflect' }).toArray()).toEqual([[3, 2, 1, 2, 3, 2, 1]]);
    expect(P.pad(x, [0, 0, 1, 0]).toArray()).toEqual([[0, 0, 0], [1, 2, 3]]);
    expect(P.pad(x, [-1, 0]).toArray()).toEqual([[2, 3]]);
  });
});
