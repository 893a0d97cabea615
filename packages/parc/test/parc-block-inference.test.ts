import { describe, expect, it } from 'vitest';
import { feedForwardNormAct, randn, withGradMode, type Tensor } from '@parcnet/tensor';
import { kernelsOf, relativeError } from '@parcnet/testing';
import { ParcBlock } from '../src/parc-block';

const noGrad = <T>(fn: () => T): T => withGradMode(false, fn);

describe('ParcBlock in evaluation without gradients: the FFN as one kernel', () => {
  it('equals the differentiable path (norm, convs and Hardswish as modules) within float32 rounding, at 8 × 8 and 2 × 2', () => {
    for (const [i, size] of [8, 2].entries()) {
      const block = new ParcBlock(6, { metaKernelSize: 8, ffnDim: 24, usePE: true, bias: true });
      const norm = block.ffn.children()[0] as unknown as { runningMean: Tensor; runningVar: Tensor };
      norm.runningMean.storage.set(randn([12], { seed: 10 + i }).toTypedArray());
      norm.runningVar.storage.set(randn([12], { seed: 20 + i }).abs().add(0.5).toTypedArray());
      block.eval();
      const x = randn([4, 12, size, size], { seed: i });
      const fused = noGrad(() => kernelsOf(() => block.forward(x)));
      expect(fused.kernels).toContain('FeedForwardNormAct');
      const modules = kernelsOf(() => block.forward(x));
      expect(modules.kernels).not.toContain('FeedForwardNormAct');
      // The channel attention's Hardswish stays; the FFN's went into the kernel.
      const count = (kernels: string[], name: string) => kernels.filter((k) => k === name).length;
      expect(count(fused.kernels, 'Hardswish')).toBe(count(modules.kernels, 'Hardswish') - 1);
      expect(fused.out.shape).toEqual(modules.out.shape);
      expect(relativeError(fused.out, modules.out)).toBeLessThan(1e-5);
    }
  });

  it('training keeps the modules', () => {
    const block = new ParcBlock(4, { metaKernelSize: 8, ffnDim: 16, usePE: false });
    const x = randn([2, 8, 4, 4], { seed: 1 });
    expect(noGrad(() => kernelsOf(() => block.forward(x))).kernels).not.toContain('FeedForwardNormAct');
  });

  it('feedForwardNormAct refuses a norm of the wrong width and a stage that is not 1×1, naming them', () => {
    const x = randn([2, 4, 3, 3]);
    const stage = (weight: Tensor) => ({ weight, scale: new Float64Array(weight.shape[0]).fill(1), shift: new Float64Array(weight.shape[0]), activation: null });
    const norm = { scale: new Float64Array(3), shift: new Float64Array(3) };
    expect(() => noGrad(() => feedForwardNormAct(x, { norm, hidden: stage(randn([6, 4, 1, 1])), output: stage(randn([4, 6, 1, 1])) })))
      .toThrow(/feedForwardNormAct: the norm's scale and shift must have 4 entries for input \[2, 4, 3, 3\], got 3 and 3/);
    expect(() => noGrad(() => feedForwardNormAct(x, { hidden: stage(randn([6, 4, 3, 3])), output: stage(randn([4, 6, 1, 1])) })))
      .toThrow(/feedForwardNormAct: the hidden stage must be a 1×1 conv over 4 channels/);
  });
});
