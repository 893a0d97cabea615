import { describe, expect, it } from 'vitest';
import {
  DTypeError, GradientError, ShapeError, Tensor, recordOp, tensor, randn, zeros, isGradEnabled,
} from '@parcnet/tensor';
import { enableGrad, grad, gradcheck, noGrad } from '../src/index';

describe('backward', () => {
  it('accumulates into .grad over several backward calls', () => {
    const x = tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
    x.mul(x).sum().backward();
    x.mul(3).sum().backward();
    expect(Array.from(x.grad!.toTypedArray())).toEqual([5, 7, 9]);
  });

  it('accumulates in place, as PyTorch: the .grad a caller holds sees the sum, float32 and float64 leaves alike', () => {
    const x = tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
    x.mul(x).sum().backward();
    const first = x.grad!;
    x.mul(3).sum().backward();
    expect(x.grad).toBe(first);
    expect(Array.from(first.toTypedArray())).toEqual([5, 7, 9]);
    const w = tensor([0.5, 0.25], { requiresGrad: true });
    w.mul(2).sum().backward();
    const held = w.grad!;
    w.to('float64').mul(tensor([3, 4], { dtype: 'float64' })).sum().backward();
    expect(w.grad).toBe(held);
    expect(held.dtype).toBe('float32');
    expect(Array.from(held.toTypedArray())).toEqual([5, 6]);
  });

  it('a contiguous view as .grad takes the sum in place, as in PyTorch; a strided one is replaced by a new sum', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const base = tensor([10, 20, 30, 40]);
    x.grad = base.slice(0, 1, 3);
    x.mul(x).sum().backward();
    expect(Array.from(base.toTypedArray())).toEqual([10, 22, 34, 40]);
    const y = tensor([[1, 2], [3, 4]], { requiresGrad: true });
    const held = tensor([[10, 20], [30, 40]]);
    y.grad = held.transpose(0, 1);
    y.mul(2).sum().backward();
    expect(Array.from(y.grad!.contiguous().toTypedArray())).toEqual([12, 32, 22, 42]);
    expect(Array.from(held.toTypedArray())).toEqual([10, 20, 30, 40]);
  });

  it('sums the gradients of a tensor used twice', () => {
    const x = tensor([2], { dtype: 'float64', requiresGrad: true });
    const y = x.mul(x).add(x.exp());
    y.backward();
    expect(x.grad!.item()).toBeCloseTo(4 + Math.exp(2), 12);
  });

  it('takes an explicit gradient for a non-scalar output', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    x.mul(x).backward(tensor([1, 10]));
    expect(Array.from(x.grad!.toTypedArray())).toEqual([2, 40]);
  });

  it('refuses a non-scalar output without a gradient, naming the shape', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    expect(() => x.mul(2).backward()).toThrow(GradientError);
    expect(() => x.mul(2).backward()).toThrow(/one-element output; got shape \[2\]/);
  });

  it('refuses a gradient of the wrong shape', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    expect(() => x.mul(2).backward(tensor([1, 2, 3]))).toThrow(ShapeError);
  });

  it('refuses a second backward through a freed graph, and allows it with retainGraph', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = x.exp().sum();
    y.backward(undefined, { retainGraph: true });
    y.backward();
    expect(x.grad!.toTypedArray()[0]).toBeCloseTo(2 * Math.E, 5);
    expect(() => y.backward()).toThrow(/a second time.*retainGraph/);
  });

  it('frees the saved tensors of each node after backward', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const e = x.exp();
    e.sum().backward();
    expect(e.gradFn!.freed).toBe(true);
    expect(e.gradFn!.backward).toBeUndefined();
  });

  it('throws a named error for an op without a backward rule', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = recordOp('myOp', new Tensor(new Float32Array([3, 4]), [2]), [x], undefined);
    expect(() => y.sum().backward()).toThrow(/op myOp has no backward rule/);
  });

  it('refuses backward on a tensor that does not require a gradient', () => {
    expect(() => tensor([1]).backward()).toThrow(GradientError);
  });

  it('casts gradients back through a dtype change', () => {
    const x = tensor([1.5], { dtype: 'float32', requiresGrad: true });
    x.to('float64').mul(4).sum().backward();
    expect(x.grad!.dtype).toBe('float32');
    expect(x.grad!.item()).toBe(4);
  });
});

describe('grad mode, detach, requiresGrad', () => {
  it('records nothing inside noGrad, and enableGrad switches it back on', () => {
    const x = tensor([1], { requiresGrad: true });
    const y = noGrad(() => x.mul(2));
    expect(y.requiresGrad).toBe(false);
    expect(y.gradFn).toBeNull();
    const z = noGrad(() => enableGrad(() => x.mul(2)));
    expect(z.requiresGrad).toBe(true);
    expect(isGradEnabled()).toBe(true);
  });

  it('restores grad mode when the function throws', () => {
    expect(() => noGrad(() => { throw new Error('boom'); })).toThrow('boom');
    expect(isGradEnabled()).toBe(true);
  });

  it('detach shares storage and cuts the graph', () => {
    const x = tensor([1, 2], { requiresGrad: true });
    const y = x.mul(2);
    const d = y.detach();
    expect(d.requiresGrad).toBe(false);
    expect(d.storage).toBe(y.storage);
    const z = d.mul(3).add(y).sum();
    z.backward();
    expect(Array.from(x.grad!.toTypedArray())).toEqual([2, 2]);
  });

  it('only float tensors can require gradients; non-leaves cannot be switched off', () => {
    expect(() => tensor([1], { dtype: 'int32' }).requiresGrad_()).toThrow(DTypeError);
    const y = tensor([1], { requiresGrad: true }).mul(2);
    expect(() => { y.requiresGrad = false; }).toThrow(/non-leaf tensor made by mul/);
  });
});

describe('grad (functional)', () => {
  it('returns gradients without touching .grad, zeros for unrelated inputs', () => {
    const x = tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
    const unrelated = zeros([2], { dtype: 'float64', requiresGrad: true });
    const [gx, gu] = grad(x.pow(3).sum(), [x, unrelated]);
    expect(Array.from(gx.toTypedArray())).toEqual([3, 12, 27]);
    expect(Array.from(gu.toTypedArray())).toEqual([0, 0]);
    expect(x.grad).toBeNull();
  });
});

describe('gradcheck', () => {
  it('passes a correct backward', () => {
    const x = randn([3, 4], { dtype: 'float64', seed: 1 }).requiresGrad_();
    expect(gradcheck((x) => x.tanh().mul(x), [x])).toBe(true);
  });

  it('fails a wrong backward and names the worst element', () => {
    const x = randn([2, 3], { dtype: 'float64', seed: 2 }).requiresGrad_();
    // A deliberately wrong rule: d(x²)/dx reported as x instead of 2x, and off by 10 at element [1, 2].
    const wrongSquare = (t: Tensor): Tensor => {
      const out = noGrad(() => t.mul(t));
      return recordOp('wrongSquare', out, [t], (g) => {
        const bias = zeros(t.shape, { dtype: 'float64' });
        bias.storage[5] = 10;
        return [g.mul(t).add(bias.mul(g))];
      });
    };
    expect(() => gradcheck(wrongSquare, [x])).toThrow(GradientError);
    expect(() => gradcheck(wrongSquare, [x])).toThrow(/worst at output 0 element \[1, 2\] w\.r\.t\. input 0 element \[1, 2\]/);
  });

  it('refuses float32 inputs', () => {
    const x = randn([2], { seed: 3 }).requiresGrad_();
    expect(() => gradcheck((t) => t.mul(2), [x])).toThrow(DTypeError);
  });

  it('notices an output that should depend on an input but has no gradient path', () => {
    const x = randn([2], { dtype: 'float64', seed: 4 }).requiresGrad_();
    expect(() => gradcheck((t) => noGrad(() => t.mul(2)), [x])).toThrow(/does not require a gradient, but depends on input 0/);
  });
});
