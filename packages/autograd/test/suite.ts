import fc from 'fast-check';
import { it } from 'vitest';
import type { Tensor } from '@parcnet/tensor';
import { gradcheck } from '../src/index';
import { RUNS, SEED } from './arbitraries';

export interface GradCase {
  fn: (...inputs: Tensor[]) => Tensor | Tensor[];
  inputs: Tensor[];
}

/**
 * One property of the gradient-check suite: for every generated case, backward's Jacobian equals
 * float64 central differences (gradcheck's default tolerances).
 */
export function gradProperty<T>(name: string, arb: fc.Arbitrary<T>, build: (value: T) => GradCase, runs = RUNS): void {
  it(`${name}: gradient equals central differences`, () => {
    fc.assert(
      fc.property(arb, (value) => {
        const { fn, inputs } = build(value);
        gradcheck(fn, inputs);
      }),
      { seed: SEED, numRuns: runs },
    );
  });
}
