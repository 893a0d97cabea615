import { registerKernel, splitAtAxis, type Tensor } from '@parcnet/tensor';
import { allFloat32, PRIORITY, register, WASM } from './registration.js';
import { alloc, copyIn, outputIn, outputTensor, scoped } from './runtime.js';
import { parallelFor } from './threads.js';

// Sums over axes, and softmax / log-softmax along one axis, of float32 tensors (assembly/reduce.ts,
// assembly/softmax.ts).

/**
 * A reduction as [A, K, M, J, B] summed over A, M and B: the kept axes form at most two blocks,
 * with reduced blocks before, between and after them (size-1 axes go either way). M = J = 1 is the
 * common [A, K, B] (a bias gradient, a total); a broadcast along a middle axis (a ParC PE's
 * gradient, [N, C, H, W] → [C, W]) has two kept blocks. Null for any other pattern, which stays with
 * the reference kernel.
 */
export function sumBlocks(shape: readonly number[], axes: readonly number[]): { a: number; k: number; m: number; j: number; b: number } | null {
  const blocks = [1, 1, 1, 1, 1]; // a, k, m, j, b
  let stage = 0; // the block the axis goes to: even stages reduce, odd ones keep
  for (let i = 0; i < shape.length; i++) {
    const size = shape[i];
    if (size === 1) continue;
    const reduced = axes.includes(i);
    if (reduced !== (stage % 2 === 0)) stage++;
    if (stage > 4) return null;
    blocks[stage] *= size;
  }
  const [a, k, m, j, b] = blocks;
  // Adjacent reduced blocks are one: with J = 1, M joins B; with K = 1 too, A does. The kernels then
  // sum contiguous runs of B floats four lanes at a time, where a run of B = 1 would be one scalar
  // load and store per float (a bias gradient [N, C, H, W] → [C] had been M = H·W, B = 1: 1.75 ms
  // for [64, 192, 8, 8], 0.2 ms as B = H·W).
  if (j > 1) return { a, k, m, j, b };
  if (k > 1) return { a, k, m: 1, j: 1, b: m * b };
  return { a: 1, k: 1, m: 1, j: 1, b: a * m * b };
}

registerKernel({
  name: 'Sum', backend: WASM, priority: PRIORITY,
  guard: (x, axes) => allFloat32(x) && x.size > 0 && sumBlocks(x.shape, axes) !== null,
  fn: (x, axes) => scoped(() => {
    const { a, k, m, j, b } = sumBlocks(x.shape, axes)!;
    const xp = copyIn(x);
    const yp = outputIn(k * j);
    if (m === 1 && j === 1) {
      parallelFor(k, 'sumReduce', [xp, yp, alloc(k * 8), a, k, b], x.size);
    } else {
      parallelFor(k, 'sumReduceSplit', [xp, yp, alloc(k * j * 8), a, k, m, j, b], x.size);
    }
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
