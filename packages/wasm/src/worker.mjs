// A kernel thread: instantiates the same wasm module on the shared memory, then waits for work.
// Plain JavaScript so that it runs in a worker without a TypeScript loader.
import { workerData } from 'node:worker_threads';

const { module, memory, control, args, index, callable, maxArgs, slots, perWorker, waitSliceMs } = workerData;
const instance = new WebAssembly.Instance(module, { env: { memory, abort: () => { throw new Error('@parcnet/wasm: abort'); } } });
const GENERATION = 0;
const PENDING = 1;
// Start from the generation the pool was created with, so work posted before this thread came up is not missed.
let generation = workerData.generation;
const base = slots + perWorker * index;
for (;;) {
  // Sleep until the generation moves on; the timed slices re-read it, so a lost wake-up costs one slice.
  while (Atomics.load(control, GENERATION) === generation) Atomics.wait(control, GENERATION, generation, waitSliceMs);
  generation = Atomics.load(control, GENERATION);
  Atomics.store(control, base + 2, generation);
  const fn = instance.exports[callable[control[base]]];
  const count = control[base + 1];
  fn(...args.subarray(index * maxArgs, index * maxArgs + count));
  Atomics.store(control, base + 3, generation);
  if (Atomics.sub(control, PENDING, 1) === 1) Atomics.notify(control, PENDING);
}
