import { registerKernel, type AdamMoments, type Tensor } from '@parcnet/tensor';
import { allFloat32, PRIORITY, WASM } from './registration.js';
import { alloc, copyIn, f32, heap, outputIn, outputTensor, runtime, scoped } from './runtime.js';
import { parallelFor } from './threads.js';

// Adam / AdamW's step over a group of float32 parameters (assembly/optim.ts), as one job: the
// optimiser makes one call per parameter group (torch's foreach AdamW), and the thread pool splits
// the group's concatenated weights into equal blocks, so the step runs on every thread however the
// tensors' sizes run. One call per parameter, as before, was 259 calls for ParC-Net-XS on the calling
// thread only. The moments live in wasm memory from the first step on (tensor blocks, which the
// optimiser keeps across steps), so a step reads and writes them in place, as it reads a gradient
// that a kernel wrote. A parameter is an ordinary array: it is copied in and back.

/** Elements a block (assembly/optim.ts ADAM_BLOCK) and bytes a table row (ADAM_ROW). */
const BLOCK = 4096;
const ROW_WORDS = 6;

registerKernel({
  name: 'AdamStep', backend: WASM, priority: PRIORITY,
  guard: (params, grads, moments) => params.length > 0
    && params.every((p, i) => p.size > 0 && allFloat32(p, grads[i], moments[i]?.expAvg, moments[i]?.expAvgSq)),
  fn: (params, grads, moments, attrs) => scoped(() => {
    const rows = params.map((param, i) => {
      const size = param.size;
      return [copyIn(param), copyIn(grads[i]), momentIn(moments[i], 'expAvg', size), momentIn(moments[i], 'expAvgSq', size), size];
    });
    const table = alloc(rows.length * ROW_WORDS * 4);
    // The view after every allocation: growing the memory detaches earlier ones.
    const words = new Int32Array(runtime.memory.buffer, table, rows.length * ROW_WORDS);
    let total = 0;
    rows.forEach((row, i) => {
      words.set(row, i * ROW_WORDS);
      words[i * ROW_WORDS + 5] = total;
      total += row[4];
    });
    const { beta1, beta2, eps, stepSize, biasCorrection2Sqrt, decay, l2 } = attrs;
    parallelFor(Math.ceil(total / BLOCK), 'adamSteps', [table, rows.length, beta1, beta2, eps, stepSize, biasCorrection2Sqrt, decay, l2], total * 4);
    return params.map((param, i) => {
      if (heap.pointerOf(param.storage) < 0) param.storage.set(f32(rows[i][0], param.size), param.offset);
      return {
        expAvg: momentOut(moments[i], 'expAvg', rows[i][2], param.shape),
        expAvgSq: momentOut(moments[i], 'expAvgSq', rows[i][3], param.shape),
      };
    });
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
