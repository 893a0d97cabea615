import { registerKernel, type AdamMoments, type Tensor } from '@parcnet/tensor';
import { allFloat32, PRIORITY, WASM } from './registration.js';
import { copyIn, f32, heap, outputIn, outputTensor, scoped, wasm } from './runtime.js';

// Adam / AdamW's step over a float32 parameter (assembly/optim.ts). The moments live in wasm memory
// from the first step on (tensor blocks, which the optimiser keeps across steps), so a step reads
// and writes them in place, as it reads a gradient that a kernel wrote. The parameter is an ordinary
// array: it is copied in and back, which for ParC-Net-XS takes about as long as the kernel (1.5 ms).
// One call per parameter, on the calling thread (the kernel is not among the thread pool's exports,
// threads.ts; split over two threads it could save at most half of its 1.5 ms).
registerKernel({
  name: 'AdamStep', backend: WASM, priority: PRIORITY,
  guard: (param, grad, moments) => allFloat32(param, grad, moments?.expAvg, moments?.expAvgSq) && param.size > 0,
  fn: (param, grad, moments, attrs) => scoped(() => {
    const size = param.size;
    const inPlace = heap.pointerOf(param.storage) >= 0;
    const p = copyIn(param);
    const g = copyIn(grad);
    const m = momentIn(moments, 'expAvg', size);
    const v = momentIn(moments, 'expAvgSq', size);
    const { beta1, beta2, eps, stepSize, biasCorrection2Sqrt, decay, l2 } = attrs;
    wasm.adamStep(p, g, m, v, size, beta1, beta2, eps, stepSize, biasCorrection2Sqrt, decay, l2);
    if (!inPlace) param.storage.set(f32(p, size), param.offset);
    return { expAvg: momentOut(moments, 'expAvg', m, param.shape), expAvgSq: momentOut(moments, 'expAvgSq', v, param.shape) };
  }),
});

/**
 * Where the kernel updates one moment: in place when it lies in wasm memory; otherwise a new output
 * block, zeros before the first step, or the values of an ordinary array (a loaded checkpoint).
 */
function momentIn(moments: AdamMoments | null, key: keyof AdamMoments, size: number): number {
  if (moments === null) return outputIn(size, true);
  const moment = moments[key];
  const resident = heap.pointerOf(moment.storage);
  if (resident >= 0) return resident + moment.offset * 4;
  const at = outputIn(size);
  f32(at, size).set(moment.storage.subarray(moment.offset, moment.offset + size));
  return at;
}

/** The moment's tensor after the step: the given one when it was updated in place, else the block at `at` as a new tensor, the moment from now on. */
function momentOut(moments: AdamMoments | null, key: keyof AdamMoments, at: number, shape: readonly number[]): Tensor {
  const moment = moments?.[key];
  return moment !== undefined && heap.pointerOf(moment.storage) >= 0 ? moment : outputTensor(at, shape);
}
