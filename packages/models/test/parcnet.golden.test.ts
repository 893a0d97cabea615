import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { mul, sum, type Tensor } from '@parcnet/tensor';
import '@parcnet/autograd';
import { Dropout } from '@parcnet/nn';
import { loadSafetensors } from '@parcnet/io';
import { parcnetStageNames, parcnetXS } from '../src/index';
import { goldenDir, relativeError } from '@parcnet/testing';

// ParC-Net-XS, 10 classes, weights and numbers from the official model (../shared/golden, spec §5, §7).
const worst: Record<string, number> = {};
const note = (key: string, error: number): number => {
  worst[key] = Math.max(worst[key] ?? 0, error);
  return error;
};

afterAll(() => {
  console.log(`ParC-Net-XS golden worst relative errors: ${JSON.stringify(worst)}`);
});

async function loadModel(): Promise<ReturnType<typeof parcnetXS>> {
  const { tensors } = await loadSafetensors(join(goldenDir, 'parcnet_xs_c10_state_dict.safetensors'));
  const model = parcnetXS({ numClasses: 10 });
  const report = model.loadStateDict(tensors);
  expect(report.aliasKeys.length).toBe(18);
  for (const m of model.modules()) if (m instanceof Dropout) m.p = 0;
  return model;
}

describe('ParC-Net-XS against the official model', () => {
  const cases = [
    { file: 'parcnet_xs_c10_eval_64.safetensors', mode: 'eval', forward: 1e-4, gradient: 2e-4 },
    { file: 'parcnet_xs_c10_eval_32.safetensors', mode: 'eval', forward: 1e-4, gradient: 2e-4 },
    { file: 'parcnet_xs_c10_train_64.safetensors', mode: 'train', forward: 5e-4, gradient: 5e-4 },
  ] as const;

  for (const c of cases) {
    it(`${c.file}: stages, logits, input gradient and all 259 parameter gradients${c.mode === 'train' ? ', BN buffers' : ''}`, async () => {
      const model = await loadModel();
      const { tensors: g } = await loadSafetensors(join(goldenDir, c.file));
      c.mode === 'eval' ? model.eval() : model.train();
      const x = g.x.requiresGrad_();
      const stages = model.forwardStages(x);
      for (const name of parcnetStageNames) {
        expect(note(`${c.mode} stages`, relativeError(stages[name], g[`stage.${name}`])), `stage ${name}`).toBeLessThan(c.forward);
      }
      const y = model.classifier!.forward(stages.conv_1x1_exp);
      expect(note(`${c.mode} logits`, relativeError(y, g.y))).toBeLessThan(c.forward);
      sum(mul(y, g.gy)).backward();
      expect(note(`${c.mode} grad.x`, relativeError(x.grad!, g['grad.x']))).toBeLessThan(c.gradient);

      const params = model.namedParameters();
      expect(params.length).toBe(259);
      // Gradients that are analytically zero are noise: compare each against a floor of
      // 1e-3 × the largest gradient in the model (the goldens' README).
      const largest = Math.max(...params.map(([name]) => maxAbs(g[`grad.${name}`])));
      for (const [name, p] of params) {
        const expected = g[`grad.${name}`];
        expect(expected, `golden has grad.${name}`).toBeDefined();
        const error = maxAbsDiff(p.grad!, expected) / Math.max(maxAbs(expected), 1e-3 * largest);
        expect(note(`${c.mode} parameter gradients`, error), `grad.${name}`).toBeLessThan(c.gradient);
      }
      if (c.mode === 'train') {
        // Some running means are analytically zero (a BN fed by a BN's output with no bias in
        // between) and hold float noise of order 1e-9: the same floor as for the gradients applies.
        const buffers = model.namedBuffers();
        const largestBuffer = Math.max(...buffers.map(([name]) => maxAbs(g[`after.${name}`])));
        for (const [name, b] of buffers) {
          const expected = g[`after.${name}`];
          const error = maxAbsDiff(b, expected) / Math.max(maxAbs(expected), 1e-3 * largestBuffer);
          expect(note('train BN buffers', error), `after.${name}`).toBeLessThan(1e-4);
        }
      }
    });
  }
});

function maxAbs(t: Tensor): number {
  let m = 0;
  for (const v of t.toTypedArray()) m = Math.max(m, Math.abs(v));
  return m;
}

function maxAbsDiff(a: Tensor, b: Tensor): number {
  const x = a.toTypedArray();
  const y = b.toTypedArray();
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]));
  return m;
}
