import { registerKernel } from '../../registry.js';
import { Tensor } from '../../tensor.js';
import { REFERENCE, rowMajorFloat } from './util.js';

// The optimisers' update rules, run over every weight each step (packages/nn's optim.ts computes
// the step's scalars).

registerKernel({
  name: 'AdamStep',
  backend: REFERENCE,
  priority: 0,
  fn: (param, grad, moments, attrs) => {
    const expAvg = moments?.expAvg ?? Tensor.empty(param.shape, param.dtype);
    const expAvgSq = moments?.expAvgSq ?? Tensor.empty(param.shape, param.dtype);
    const p = rowMajorFloat('AdamStep', param);
    const g = rowMajorFloat('AdamStep', grad);
    const m = rowMajorFloat('AdamStep', expAvg);
    const v = rowMajorFloat('AdamStep', expAvgSq);
    // The scalars in locals, one loop: this runs over every weight of a model each step.
    const { beta1, beta2, eps, stepSize, biasCorrection2Sqrt, decay, l2 } = attrs;
    for (let i = 0; i < p.length; i++) {
      // Stored, so rounded to the parameter's dtype before the step, as torch's p.mul_ then p.addcdiv_.
      p[i] *= decay;
      const gi = g[i] + l2 * p[i];
      const mi = beta1 * m[i] + (1 - beta1) * gi;
      const vi = beta2 * v[i] + (1 - beta2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      p[i] -= (stepSize * mi) / (Math.sqrt(vi) / biasCorrection2Sqrt + eps);
    }
    return { expAvg, expAvgSq };
  },
});
