import { afterAll, describe, expect, it } from 'vitest';
import { setParallelThreshold } from '@parcnet/wasm';
import { getNumThreads, manualSeed, models, nn, noGrad, randint, randn, setNumThreads, tidy } from 'parcnet';

// Issue 21: for a given configuration a training step gives the same numbers on any number of
// kernel threads. ParC-Net-XS (CIFAR stem, dropout on), two AdamW steps and then an evaluation
// forward, from the same seeds on 1, 2 and 3 threads; on 3 threads every job of two or more units
// is split (the smallest jobs too), where by default small ones stay on the calling thread. A batch
// of 8 takes both of batch norm's splits (by images on 2 threads, by channels on 3) and the fused
// inference blocks (two images or more a thread).

interface Run {
  losses: number[];
  parameters: Float32Array[];
  logits: Float32Array;
}

function trainThenEvaluate(threads: number, splitEverything: boolean): Run {
  setNumThreads(threads);
  setParallelThreshold(splitEverything ? 2 : 8, splitEverything ? 0 : 50_000);
  manualSeed(7);
  const model = models.parcnetXS({ numClasses: 10, cifarStem: true, seed: 3 });
  const optimizer = new nn.AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0.025 });
  const x = randn([8, 3, 32, 32], { seed: 1 });
  const y = randint(0, 10, [8], { seed: 2 });
  const losses: number[] = [];
  model.train();
  for (let step = 0; step < 2; step++) {
    tidy(() => {
      optimizer.zeroGrad();
      const loss = nn.crossEntropy(model.forward(x), y);
      loss.backward();
      optimizer.step();
      losses.push(loss.item());
    });
  }
  model.eval();
  const logits = noGrad(() => model.forward(x)).toTypedArray() as Float32Array;
  return { losses, parameters: model.parameters().map((p) => p.toTypedArray() as Float32Array), logits };
}

/** Labels of the arrays that differ from the expected ones in any bit. */
function differences(got: Run, expected: Run): string[] {
  const same = (a: ArrayLike<number>, b: ArrayLike<number>): boolean => a.length === b.length && Array.from(a).every((v, i) => Object.is(v, b[i]));
  const out: string[] = [];
  if (!same(got.losses, expected.losses)) out.push(`losses ${got.losses} against ${expected.losses}`);
  got.parameters.forEach((p, i) => { if (!same(p, expected.parameters[i])) out.push(`parameter ${i}`); });
  if (!same(got.logits, expected.logits)) out.push('evaluation logits');
  return out;
}

describe('a ParC-Net-XS training step on any number of threads', () => {
  const initialThreads = getNumThreads();
  afterAll(() => {
    setNumThreads(initialThreads);
    setParallelThreshold(8, 50_000);
  });

  it('gives the same losses, parameters and evaluation logits, bit for bit, on 1, 2 and 3 threads', () => {
    const one = trainThenEvaluate(1, false);
    expect(one.losses.every(Number.isFinite)).toBe(true);
    expect(differences(trainThenEvaluate(2, false), one)).toEqual([]);
    expect(differences(trainThenEvaluate(3, true), one)).toEqual([]);
  });
});
