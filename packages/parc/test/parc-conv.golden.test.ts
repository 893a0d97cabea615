import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sum, mul, type Tensor } from '@parcnet/tensor';
import '@parcnet/autograd';
import { loadSafetensors } from '@parcnet/io';
import { parcConv, resampleKernel } from '../src/index';
import { goldenDir, relativeError } from '@parcnet/testing';

interface OpCase { file: string; axis: 'H' | 'W'; pe: boolean; bias: boolean; dtype: 'float32' | 'float64'; B: number; C: number; H: number; W: number; K: number }

const index = JSON.parse(readFileSync(join(goldenDir, 'index.json'), 'utf8')) as { parc_op: OpCase[] };
const worstErrors: Record<string, number> = {};
afterAll(() => console.log(`ParC operator golden worst relative errors: ${JSON.stringify(worstErrors)}`));

describe('ParC operator against the official PyTorch goldens (spec §2.1)', () => {
  it('has all 15 cases in both dtypes', () => expect(index.parc_op.length).toBe(30));

  for (const c of index.parc_op) {
    it(`${c.file}: B${c.B} C${c.C} ${c.H}×${c.W} K${c.K} axis ${c.axis}${c.pe ? ' +PE' : ''}${c.bias ? ' +bias' : ''}`, async () => {
      const { tensors: g } = await loadSafetensors(join(goldenDir, c.file));
      const tolerance = c.dtype === 'float64' ? 1e-12 : 1e-5;
      const x = g.x.requiresGrad_();
      const metaKernel = g.meta_kernel.requiresGrad_();
      const metaPE = c.pe ? g.meta_pe.requiresGrad_() : null;
      const bias = c.bias ? g.bias.requiresGrad_() : null;
      const n = c.axis === 'H' ? c.H : c.W;
      const checks: [string, Tensor, Tensor][] = [['kernel', resampleKernel(g.meta_kernel, n, c.axis), g.kernel]];
      if (metaPE) checks.push(['pe', resampleKernel(g.meta_pe, n, c.axis), g.pe]);
      const y = parcConv(x, metaKernel, { axis: c.axis, metaPE, bias });
      checks.push(['y', y, g.y]);
      sum(mul(y, g.gy)).backward();
      checks.push(['grad.x', x.grad!, g['grad.x']], ['grad.meta_kernel', metaKernel.grad!, g['grad.meta_kernel']]);
      if (metaPE) checks.push(['grad.meta_pe', metaPE.grad!, g['grad.meta_pe']]);
      if (bias) checks.push(['grad.bias', bias.grad!, g['grad.bias']]);
      for (const [name, actual, expected] of checks) {
        expect(actual.shape, name).toEqual(expected.shape);
        const error = relativeError(actual, expected);
        worstErrors[`${c.dtype} ${name}`] = Math.max(worstErrors[`${c.dtype} ${name}`] ?? 0, error);
        expect(error, `${name} relative error`).toBeLessThanOrEqual(tolerance);
      }
    });
  }
});
