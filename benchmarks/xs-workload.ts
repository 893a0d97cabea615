// The workload the ParC-Net-XS benchmarks time: the model with the CIFAR stem, AdamW, one fixed
// random batch of 32×32 images; a training step and an evaluation forward as the trainer runs
// them (each in a tidy scope; the forward without gradients). One definition, so that every
// benchmark's figures are of the same step.
import { AdamW, crossEntropy } from '@parcnet/nn';
import { models, noGrad, randint, randn, tidy, type Tensor } from 'parcnet';

export interface XsWorkload {
  model: ReturnType<typeof models.parcnetXS>;
  optimizer: AdamW;
  /** Images [batch, 3, 32, 32], seed 1. */
  x: Tensor;
  /** Labels [batch] in 0 … 9, seed 2. */
  y: Tensor;
  /** One training step (the model should be in train mode): zero the gradients, forward, cross-entropy, backward, AdamW. */
  trainStep(): void;
  /** One evaluation forward (the model should be in eval mode), without gradients. */
  evalForward(): void;
}

export function xsWorkload(batch = 64): XsWorkload {
  const model = models.parcnetXS({ numClasses: 10, cifarStem: true });
  const optimizer = new AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0.025 });
  const x = randn([batch, 3, 32, 32], { seed: 1 });
  const y = randint(0, 10, [batch], { seed: 2 });
  return {
    model, optimizer, x, y,
    trainStep: () => tidy(() => {
      optimizer.zeroGrad();
      crossEntropy(model.forward(x), y).backward();
      optimizer.step();
    }),
    evalForward: () => noGrad(() => tidy(() => void model.forward(x))),
  };
}
