import { describe, expect, it } from 'vitest';
import { randn } from '@parcnet/tensor';
import { gradcheck } from '@parcnet/autograd';
import { ParcBlock, ParcStage } from '../src/index';

// Float64 gradient checks of the composed blocks at small sizes (spec §3, §4), non-square maps.
describe('ParC block and stage under gradcheck', () => {
  it('ParC block in eval mode: input, meta kernels and PEs', () => {
    const block = new ParcBlock(8, { metaKernelSize: 5, ffnDim: 16, usePE: true, dropout: 0 }).to('float64').eval();
    // Non-trivial BN statistics so that eval mode is not the identity.
    for (const [name, b] of block.namedBuffers()) {
      if (name.endsWith('running_var')) b.storage.fill(1.7);
      if (name.endsWith('running_mean')) b.storage.fill(0.2);
    }
    const x = randn([1, 16, 3, 4], { dtype: 'float64', seed: 1 }).requiresGrad_();
    const params = [block.metaKernel1H, block.metaKernel2W, block.metaPE1W!, block.metaPE2H!];
    expect(gradcheck((x) => block.forward(x), [x])).toBe(true);
    expect(gradcheck(() => block.forward(x.detach()), params)).toBe(true);
  });

  it('ParC block in train mode (batch statistics)', () => {
    const block = new ParcBlock(8, { metaKernelSize: 3, ffnDim: 16, usePE: true, dropout: 0 }).to('float64').train();
    const x = randn([3, 16, 4, 3], { dtype: 'float64', seed: 2 }).requiresGrad_();
    expect(gradcheck((x) => block.forward(x), [x], { atol: 1e-5, rtol: 1e-3 })).toBe(true);
  });

  it('ParC stage (concat fusion) in eval mode', () => {
    const stage = new ParcStage(8, { spatialChannels: 16, ffnChannels: 16, blocks: 1, metaKernelSize: 4, fusion: 'concat', dropout: 0 }).to('float64').eval();
    const x = randn([1, 8, 3, 5], { dtype: 'float64', seed: 3 }).requiresGrad_();
    expect(gradcheck((x) => stage.forward(x), [x])).toBe(true);
  });
});
