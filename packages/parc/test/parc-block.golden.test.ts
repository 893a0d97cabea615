import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { mul, sum, type Tensor } from '@parcnet/tensor';
import '@parcnet/autograd';
import { loadSafetensors } from '@parcnet/io';
import { ParcBlock } from '../src/index';
import { goldenDir, relativeError } from '@parcnet/testing';

// One ParC block as built for layer_3 of ParC-Net-XS (dim 48, K 32, with PE, no bias), dropouts 0.
describe('ParC block against the official gcc_ca_mf_block (spec §3)', () => {
  for (const mode of ['eval', 'train'] as const) {
    it(`${mode} mode: output, input gradient, every parameter gradient${mode === 'train' ? ', BN buffers after the step' : ''}`, async () => {
      const { tensors: g } = await loadSafetensors(join(goldenDir, `parc_block_${mode}.safetensors`));
      const state: Record<string, Tensor> = {};
      for (const [k, v] of Object.entries(g)) if (k.startsWith('state.')) state[k.slice(6)] = v;
      const block = new ParcBlock(48, { metaKernelSize: 32, ffnDim: 192, usePE: true, dropout: 0 });
      const report = block.loadStateDict(state);
      expect(report.missingKeys).toEqual([]);
      mode === 'eval' ? block.eval() : block.train();
      const x = g.x.requiresGrad_();
      const y = block.forward(x);
      const tolerance = 1e-4;
      expect(relativeError(y, g.y)).toBeLessThan(tolerance);
      sum(mul(y, g.gy)).backward();
      expect(relativeError(x.grad!, g['grad.x'])).toBeLessThan(2e-4);
      const params = block.namedParameters();
      expect(params.length).toBe(Object.keys(g).filter((k) => k.startsWith('grad.') && k !== 'grad.x').length);
      for (const [name, p] of params) {
        expect(relativeError(p.grad!, g[`grad.${name}`]), `grad.${name}`).toBeLessThan(mode === 'train' ? 5e-4 : 2e-4);
      }
      if (mode === 'train') {
        for (const [name, b] of block.namedBuffers()) {
          expect(relativeError(b, g[`after.${name}`]), `after.${name}`).toBeLessThan(1e-5);
        }
      }
    });
  }
});
