import { registerKernel, splitAtAxis, type Tensor } from '@parcnet/tensor';
import { allFloat32, PRIORITY, register, WASM } from './registration.js';
import { alloc, copyIn, outputIn, outputTensor, scoped } from './runtime.js';
import { parallelFor } from './threads.js';

// Sums over axes, and softmax / log-softmax along one axis, of float32 tensors (assembly/reduce.ts,
// assembly/softmax.ts).

/**
 * A reduction as [A, K, B] summed over A and B: the reduced axes must form at most one block before
 * the kept ones and one after (size-1 axes go either way). Null for any other pattern, which stays
 * with the reference kernel.
 */
export function sumBlocks(shape: readonly number[], axes: readonly number[]): { a: number; k: number; b: number } | null {
  let a = 1;
  let k = 1;
  let b = 1;
  let stage = 0; // 0: leading reduced block, 1: kept block, 2: trailing reduced block
  for (let i = 0; i < shape.length; i++) {
    const size = shape[i];
    if (size === 1) continue;
    const reduced = axes.includes(i);
    if (!reduced) {
      if (stage === 2) return null;
      stage = 1;
      k *= size;
    } else if (stage === 0) {
      a *= size;
    } else {
      stage = 2;
      b *= size;
    }
  }
  return { a, k, b };
}

registerKernel({
  name: 'Sum', backend: WASM, priority: PRIORITY,
  guard: (x, axes) => allFloat32(x) && x.size > 0 && sumBlocks(x.shape, axes) !== null,
  fn: (x, axes) => scoped(() => {
    const { a, k, b } = sumBlocks(x.shape, axes)!;
    const xp = copyIn(x);
    const yp = outputIn(k);
    const acc = alloc(k * 8);
    parallelFor(k, 'sumReduce', [xp, yp, acc, a, k, b], x.size);
    return outputTensor(yp, x.shape.map((d, i) => (axes.includes(i) ? 1 : d)));
  }),
});

function softmaxKernel(mode: 0 | 1): (x: Tensor, axis: number) => Tensor {
  return (x, axis) => scoped(() => {
    const { outer, length, inner } = splitAtAxis(x.shape, axis);
    const xp = copyIn(x);
    const yp = outputIn(x.size);
    parallelFor(outer, 'softmax', [xp, yp, length, inner, mode], x.size * 8);
    return outputTensor(yp, x.shape);
  });
}

function softmaxGradKernel(mode: 0 | 1): (y: Tensor, gradOutput: Tensor, axis: number) => Tensor {
  return (y, gradOutput, axis) => scoped(() => {
    const { outer, length, inner } = splitAtAxis(y.shape, axis);
    const yp = copyIn(y);
    const gp = copyIn(gradOutput);
    const dxp = outputIn(y.size);
    parallelFor(outer, 'softmaxGrad', [yp, gp, dxp, length, inner, mode], y.size * 4);
    return outputTensor(dxp, y.shape);
  });
}

register('Softmax', softmaxKernel(0));
register('LogSoftmax', softmaxKernel(1));
register('SoftmaxGrad', softmaxGradKernel(0));
register('LogSoftmaxGrad', softmaxGradKernel(1));
