import { describe, expect, it } from 'vitest';
import { GradientError, isGradEnabled, randn, ShapeError, tanh, Tensor, tensor, zeros } from '@parcnet/tensor';
import { Function, FunctionCtx, gradcheck, noGrad } from '../src/index';

/** s · tanh(x), with its derivative s · (1 − tanh² x) written by hand; `scale` is a plain number. */
class ScaledTanh extends Function {
  static forward(ctx: FunctionCtx & { scale: number }, x: Tensor, scale: number): Tensor {
    const y = tanh(x);
    ctx.saveForBackward(y);
    ctx.scale = scale;
    return y.mul(scale);
  }

  static backward(ctx: FunctionCtx & { scale: number }, gradOutput: Tensor): [Tensor, null] {
    const [y] = ctx.savedTensors;
    return [gradOutput.mul(y.mul(y).neg().add(1)).mul(ctx.scale), null];
  }
}

/** x · w + b elementwise (same shapes), returning null for every input that needs no gradient. */
class MulAdd extends Function {
  static seen: (readonly boolean[])[] = [];

  static forward(ctx: FunctionCtx, x: Tensor, w: Tensor, b: Tensor): Tensor {
    ctx.saveForBackward(x, w);
    MulAdd.seen.push(ctx.needsInputGrad);
    return x.mul(w).add(b);
  }

  static backward(ctx: FunctionCtx, g: Tensor): (Tensor | null)[] {
    const [x, w] = ctx.savedTensors;
    const [needX, needW, needB] = ctx.needsInputGrad;
    return [needX ? g.mul(w) : null, needW ? g.mul(x) : null, needB ? g : null];
  }
}

const f64 = (shape: number[], seed: number): Tensor => randn(shape, { dtype: 'float64', seed }).requiresGrad_();

describe('Function: a new op with a hand-written backward', () => {
  it('passes gradcheck, with a number argument beside the tensor', () => {
    const x = f64([2, 3], 1);
    expect(gradcheck((t) => ScaledTanh.apply(t, 3), [x])).toBe(true);
    expect(gradcheck((a, b, c) => MulAdd.apply(a, b, c), [f64([4], 2), f64([4], 3), f64([4], 4)])).toBe(true);
  });

  it('equals the built-in op it rewrites, forward and gradient', () => {
    const x = f64([5], 5);
    const mine = ScaledTanh.apply(x, 1);
    mine.sum().backward();
    const ours = x.grad!.toTypedArray();
    x.grad = null;
    tanh(x).sum().backward();
    expect(Array.from(mine.toTypedArray())).toEqual(Array.from(noGrad(() => tanh(x)).toTypedArray()));
    Array.from(x.grad!.toTypedArray()).forEach((v, i) => expect(ours[i]).toBeCloseTo(v, 14));
  });

  it('records one node named after the class; forward ran without recording', () => {
    let recordingInside: boolean | null = null;
    class Probe extends Function {
      static forward(_ctx: FunctionCtx, x: Tensor): Tensor {
        recordingInside = isGradEnabled();
        return x.mul(2).add(1);
      }
      static backward(_ctx: FunctionCtx, g: Tensor): Tensor {
        return g.mul(2);
      }
    }
    const x = f64([3], 6);
    const y = Probe.apply(x);
    expect(recordingInside).toBe(false);
    expect(y.gradFn!.opName).toBe('Probe');
    expect(y.gradFn!.inputs).toEqual([x]);
    y.sum().backward();
    expect(Array.from(x.grad!.toTypedArray())).toEqual([2, 2, 2]);
  });

  it('sets needsInputGrad per argument: false for inputs not requiring a gradient, and everywhere under noGrad', () => {
    MulAdd.seen = [];
    const x = f64([3], 7);
    const w = randn([3], { dtype: 'float64', seed: 8 });
    const b = f64([3], 9);
    MulAdd.apply(x, w, b).sum().backward();
    expect(MulAdd.seen[0]).toEqual([true, false, true]);
    expect(Array.from(b.grad!.toTypedArray())).toEqual([1, 1, 1]);
    expect(w.grad).toBeNull();

    const y = noGrad(() => MulAdd.apply(x, w, b));
    expect(MulAdd.seen[1]).toEqual([false, false, false]);
    expect(y.requiresGrad).toBe(false);
    expect(y.gradFn).toBeNull();
  });

  it('gives non-tensor arguments no gradient and needsInputGrad false', () => {
    let flags: readonly boolean[] = [];
    class Scale extends Function {
      static forward(ctx: FunctionCtx, x: Tensor, factor: number, label: string): Tensor {
        flags = ctx.needsInputGrad;
        ctx.factor = factor;
        expect(label).toBe('scaled');
        return x.mul(factor);
      }
      static backward(ctx: FunctionCtx, g: Tensor): [Tensor, null, null] {
        return [g.mul(ctx.factor as number), null, null];
      }
    }
    const x = f64([2], 10);
    Scale.apply(x, 4, 'scaled').sum().backward();
    expect(flags).toEqual([true, false, false]);
    expect(Array.from(x.grad!.toTypedArray())).toEqual([4, 4]);
    expect(gradcheck((t) => Scale.apply(t, -0.5, 'scaled'), [f64([2, 2], 11)])).toBe(true);
  });

  it('works when used twice in one graph, and on the same tensor twice', () => {
    const x = f64([2, 3], 12);
    const twice = (t: Tensor): Tensor => ScaledTanh.apply(ScaledTanh.apply(t, 2), 0.5).add(ScaledTanh.apply(t, 1));
    expect(gradcheck(twice, [x])).toBe(true);

    const w = f64([3], 13);
    const zero = zeros([3], { dtype: 'float64' });
    MulAdd.apply(w, w, zero).sum().backward(); // d(w²)/dw = 2w, the two gradients summed
    w.grad!.toTypedArray().forEach((v, i) => expect(v).toBeCloseTo(2 * w.storage[i], 14));
    expect(gradcheck((t) => MulAdd.apply(t, t, t), [f64([3], 14)])).toBe(true);
  });

  it('refuses the wrong number of gradients, naming the class and the inputs', () => {
    class TooFew extends Function {
      static forward(_ctx: FunctionCtx, x: Tensor, _scale: number): Tensor {
        return x.mul(2);
      }
      static backward(_ctx: FunctionCtx, g: Tensor): Tensor {
        return g.mul(2);
      }
    }
    const y = TooFew.apply(f64([2, 3], 15), 2).sum();
    expect(() => y.backward()).toThrow(GradientError);
    expect(() => TooFew.apply(f64([2, 3], 15), 2).sum().backward()).toThrow(
      'TooFew.backward returned 1 gradient, but forward took 2 inputs (Tensor [2, 3], number 2); return one per input, null where there is none',
    );
  });

  it('refuses a gradient of the wrong shape, naming the class and both shapes', () => {
    class WrongShape extends Function {
      static forward(_ctx: FunctionCtx, x: Tensor): Tensor {
        return x.mul(2);
      }
      static backward(_ctx: FunctionCtx, g: Tensor): Tensor {
        return g.sum(1);
      }
    }
    const run = (): void => WrongShape.apply(f64([2, 3], 16)).sum().backward();
    expect(run).toThrow(ShapeError);
    expect(run).toThrow('WrongShape.backward: gradient 0 has shape [2], expected [2, 3] (the shape of input 0)');
  });

  it('refuses a gradient for a non-tensor argument and a gradient that is not a tensor', () => {
    class GradForNumber extends Function {
      static forward(_ctx: FunctionCtx, x: Tensor, _scale: number): Tensor {
        return x.mul(2);
      }
      static backward(_ctx: FunctionCtx, g: Tensor): Tensor[] {
        return [g.mul(2), g];
      }
    }
    expect(() => GradForNumber.apply(f64([2], 17), 3).sum().backward()).toThrow(
      'GradForNumber.backward: returned a gradient for input 1, which is number 3, not a Tensor; return null there',
    );
    class NumberGrad extends Function {
      static forward(_ctx: FunctionCtx, x: Tensor): Tensor {
        return x.mul(2);
      }
      static backward(): number[] {
        return [2];
      }
    }
    // @ts-expect-error: backward must return tensors or null
    const y = NumberGrad.apply(f64([2], 18));
    expect(() => y.sum().backward()).toThrow('NumberGrad.backward: gradient 0 is number 2, expected a Tensor or null');
  });

  it('refuses a forward that does not return one tensor, and non-tensors in saveForBackward', () => {
    class Pair extends Function {
      static forward(_ctx: FunctionCtx, x: Tensor): Tensor {
        return [x, x] as unknown as Tensor;
      }
      static backward(_ctx: FunctionCtx, g: Tensor): Tensor {
        return g;
      }
    }
    expect(() => Pair.apply(f64([2], 19))).toThrow('Pair.forward must return one Tensor, got an array of 2');
    const ctx = new FunctionCtx([true]);
    expect(() => ctx.saveForBackward(tensor([1]), 3 as unknown as Tensor)).toThrow(/saveForBackward: argument 1 is number 3, not a Tensor/);
  });

  it('gives an input returned unchanged a node of its own, leaving the input a leaf', () => {
    class Identity extends Function {
      static forward(_ctx: FunctionCtx, x: Tensor): Tensor {
        return x;
      }
      static backward(_ctx: FunctionCtx, g: Tensor): Tensor {
        return g;
      }
    }
    const x = f64([3], 20);
    const y = Identity.apply(x);
    expect(y).not.toBe(x);
    expect(x.isLeaf).toBe(true);
    expect(y.gradFn!.opName).toBe('Identity');
    y.mul(3).sum().backward();
    expect(Array.from(x.grad!.toTypedArray())).toEqual([3, 3, 3]);
  });

  it('frees its saved state after backward like any op, and keeps it with retainGraph', () => {
    const x = f64([2], 21);
    const y = ScaledTanh.apply(x, 2);
    const seed = tensor([1, 1], { dtype: 'float64' });
    y.backward(seed, { retainGraph: true });
    y.backward(seed);
    expect(() => y.backward(seed)).toThrow(/go back through ScaledTanh a second time/);
  });

  it('works in float32', () => {
    const x = randn([4], { seed: 22 }).requiresGrad_();
    ScaledTanh.apply(x, 2).sum().backward();
    expect(x.grad!.dtype).toBe('float32');
    const t = Array.from(x.toTypedArray(), Math.tanh);
    x.grad!.toTypedArray().forEach((v, i) => expect(v).toBeCloseTo(2 * (1 - t[i] * t[i]), 5));
  });

  it('cannot be applied on the base class', () => {
    // @ts-expect-error: Function itself has no forward or backward
    expect(() => Function.apply(f64([2], 23))).toThrow('Function.apply: a Function subclass needs static forward(ctx, ...inputs) and static backward(ctx, gradOutput)');
  });
});
