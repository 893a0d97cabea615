import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { autograd, gradcheck, randn, type Tensor } from 'parcnet';

const root = fileURLToPath(new URL('../../../', import.meta.url));

describe('a custom model (examples/custom-model.ts)', () => {
  it('reaches autograd.Function through the umbrella', () => {
    class Cube extends autograd.Function {
      static forward(ctx: autograd.FunctionCtx, x: Tensor): Tensor {
        ctx.saveForBackward(x);
        return x.mul(x).mul(x);
      }
      static backward(ctx: autograd.FunctionCtx, g: Tensor): Tensor {
        const [x] = ctx.savedTensors;
        return g.mul(x.mul(x).mul(3));
      }
    }
    expect(gradcheck((x) => Cube.apply(x), [randn([3], { dtype: 'float64', seed: 1 }).requiresGrad_()])).toBe(true);
  });

  it('runs with npx tsx: gradchecks pass, the loss falls, accuracy beats chance, the reload answers the same', () => {
    const out = execFileSync('npx', ['tsx', 'examples/custom-model.ts'], { cwd: root, encoding: 'utf8', env: { ...process.env, EPOCHS: '3' } });
    expect(out).toContain('gradcheck HardSwish (autograd.Function): true, equal to the built-in hardswish: true');
    expect(out).toMatch(/gradcheck ParcMixer .*: true/);
    const losses = [...out.matchAll(/epoch \d+\/3: loss ([\d.]+)/g)].map((m) => Number(m[1]));
    expect(losses).toHaveLength(3);
    expect(losses[2]).toBeLessThan(losses[0]);
    const accuracy = Number(/test accuracy: ([\d.]+)%/.exec(out)![1]);
    expect(accuracy).toBeGreaterThan(15); // chance is 10 %
    expect(out).toMatch(/reloaded model's outputs equal: true/);
  }, 180_000);
});
