import { registerKernel } from '../../registry.js';
import { Tensor } from '../../tensor.js';
import { REFERENCE, rowMajorFloat } from './util.js';

// The optimisers' update rules, run over every weight each step (packages/nn's optim.ts computes
// the step's scalars).

registerKernel({
  name: 'AdamStep',
  backend: REFERENCE,
  priority: 0,
  fn: (params, grads, moments, attrs) => params.map((param, i) => {
    const expAvg = moments[i]?.expAvg ?? Tensor.empty(param.shape, param.dtype);
    const expAvgSq = moments[i]?.expAvgSq ?? Tensor.empty(param.shape, param.dtype);
    const p = rowMajorFloat('AdamStep', param);
    const g = rowMajorFloat('AdamStep', grads[i]);
    const m = rowMajorFloat('AdamStep', expAvg);
    const v = rowMajorFloat('AdamStep', expAvgSq);
    // The scalars in locals, one loop: this runs over every weight of a model each step.
    const { beta1, beta2, eps, stepSize, biasCorrection2Sqrt, decay, l2 } = attrs;
    for (let j = 0; j < p.length; j++) {
      // Stored, so rounded to the parameter's dtype before the step, as torch's p.mul_ then p.addcdiv_.
      p[j] *= decay;
      const gj = g[j] + l2 * p[j];
      const mj = beta1 * m[j] + (1 - beta1) * gj;
      const vj = beta2 * v[j] + (1 - beta2) * gj * gj;
      m[j] = mj;
      v[j] = vj;
      p[j] -= (stepSize * mj) / (Math.sqrt(vj) / biasCorrection2Sqrt + eps);
    }
    return { expAvg, expAvgSq };
  }),
});
