import { assertFloat } from '../dtype.js';
import { runKernel } from '../registry.js';
import { normalizeAxis } from '../shape.js';
import { recordOp } from '../tape.js';
import type { Tensor } from '../tensor.js';

/** softmax along `axis`; backward: dx = y · (g − Σ g·y) (kernel SoftmaxGrad). */
export function softmax(x: Tensor, axis: number): Tensor {
  assertFloat('softmax', x.dtype);
  const a = normalizeAxis('softmax', axis, x.ndim);
  const y = runKernel('Softmax', x, a);
  return recordOp('softmax', y, [x], (g) => [runKernel('SoftmaxGrad', y, g, a)], { axis: a });
}

/** log-softmax along `axis`; backward: dx = g − exp(y) · Σ g (kernel LogSoftmaxGrad). */
export function logSoftmax(x: Tensor, axis: number): Tensor {
  assertFloat('logSoftmax', x.dtype);
  const a = normalizeAxis('logSoftmax', axis, x.ndim);
  const y = runKernel('LogSoftmax', x, a);
  return recordOp('logSoftmax', y, [x], (g) => [runKernel('LogSoftmaxGrad', y, g, a)], { axis: a });
}
