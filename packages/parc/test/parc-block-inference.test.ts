import { describe, expect, it } from 'vitest';
import { feedForwardNormAct, randn, withGradMode, type Tensor } from '@parcnet/tensor';
import { kernelsOf, relativeError } from '@parcnet/testing';
import { ParcBlock } from '../src/parc-block';
import { parcMixer, parcTables } from '../src/ops/parc-conv';

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

  it('the branches as one ParcMixer (pre-norms and PEs folded into the ParC tables) equal the modules within float32 rounding: with and without PEs and biases, square and not', () => {
    const cases: [number, number, boolean][] = [[8, 8, true], [4, 6, true], [2, 2, true], [5, 3, false], [8, 4, false]];
    for (const [i, [h, w, extras]] of cases.entries()) {
      const block = new ParcBlock(6, { metaKernelSize: 8, ffnDim: 24, usePE: extras, bias: extras });
      for (const [j, norm] of [block.preNorm1, block.preNorm2].entries()) {
        const stats = norm as unknown as { runningMean: Tensor; runningVar: Tensor };
        stats.runningMean.storage.set(randn([6], { seed: 30 + 2 * i + j }).toTypedArray());
        stats.runningVar.storage.set(randn([6], { seed: 40 + 2 * i + j }).abs().add(0.5).toTypedArray());
      }
      block.eval();
      const x = randn([3, 12, h, w], { seed: 50 + i });
      const fused = noGrad(() => kernelsOf(() => block.forward(x)));
      expect(fused.kernels).toContain('ParcMixer');
      expect(fused.kernels).not.toContain('ParcConv');
      const modules = kernelsOf(() => block.forward(x));
      expect(modules.kernels).not.toContain('ParcMixer');
      expect(relativeError(fused.out, modules.out)).toBeLessThan(1e-5);
    }
  });

  it('training keeps the modules', () => {
    const block = new ParcBlock(4, { metaKernelSize: 8, ffnDim: 16, usePE: false });
    const x = randn([2, 8, 4, 4], { seed: 1 });
    const kernels = noGrad(() => kernelsOf(() => block.forward(x))).kernels;
    expect(kernels).not.toContain('FeedForwardNormAct');
    expect(kernels).not.toContain('ParcMixer');
  });

  it('parcMixer refuses tables of the wrong shape, an odd channel count and an input that wants a gradient, naming them', () => {
    const kernel = randn([3, 1, 8, 1]);
    const kernelW = randn([3, 1, 1, 8]);
    const x = randn([2, 6, 4, 5]);
    const good = [
      { first: parcTables(kernel, 'H', 4), second: parcTables(kernelW, 'W', 5) },
      { first: parcTables(kernelW, 'W', 5), second: parcTables(kernel, 'H', 4) },
    ] as const;
    expect(noGrad(() => parcMixer(x, good)).shape).toEqual([2, 6, 4, 5]);
    const swapped = [good[1], good[0]] as const;
    expect(() => noGrad(() => parcMixer(x, swapped))).toThrow(/parcMixer: half 1's first conv \(axis H\) needs a kernel \[3, 4\] for input \[2, 6, 4, 5\], got \[3, 5\]/);
    expect(() => noGrad(() => parcMixer(randn([2, 5, 4, 5]), good))).toThrow(/parcMixer: expected input \[B, C, H, W\] with C even, got \[2, 5, 4, 5\]/);
    expect(() => parcMixer(randn([2, 6, 4, 5]).requiresGrad_(), good)).toThrow(/parcMixer: inference only/);
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
