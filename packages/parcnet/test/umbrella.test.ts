import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as parcnet from '../src/index';
import { gradcheck, noGrad, randn, tensor } from 'parcnet';

const root = fileURLToPath(new URL('../../../', import.meta.url));

describe('the parcnet umbrella', () => {
  it('re-exports the public names of every package', () => {
    for (const name of ['tensor', 'randn', 'zeros', 'ones', 'matmul', 'conv2d', 'noGrad', 'gradcheck', 'grad', 'Tensor', 'registerKernel', 'nn', 'parc', 'models', 'io', 'setNumThreads', 'getNumThreads']) {
      expect(parcnet, name).toHaveProperty(name);
    }
  });

  it('works by its package name: tensor, backward, noGrad, gradcheck', () => {
    const x = tensor([1, 2, 3], { dtype: 'float64', requiresGrad: true });
    x.mul(x).sum().backward();
    expect(x.grad!.toArray()).toEqual([2, 4, 6]);
    expect(noGrad(() => x.mul(2)).requiresGrad).toBe(false);
    expect(gradcheck((t) => t.sigmoid(), [randn([3], { dtype: 'float64', seed: 1 }).requiresGrad_()])).toBe(true);
  });

  it('runs examples/quickstart.ts with npx tsx: the loss falls and gradcheck passes', () => {
    const out = execFileSync('npx', ['tsx', 'examples/quickstart.ts'], { cwd: root, encoding: 'utf8' });
    expect(out).toContain('d(sum a²)/da = [[2,4],[6,8]]');
    const [, first, last] = /loss: step 0 ([\d.]+) → step \d+ ([\d.]+)/.exec(out)!;
    expect(Number(last)).toBeLessThan(Number(first) / 10);
    expect(out).toContain('gradcheck conv2d → relu → mean: true');
  });
});
