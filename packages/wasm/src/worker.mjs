// A kernel thread: instantiates the same wasm module on the shared memory, then waits for work.
// Plain JavaScript so that it runs in a worker without a TypeScript loader.
import { workerData } from 'node:worker_threads';

const { module, memory, control, args, index, callable, maxArgs, slots } = workerData;
const instance = new WebAssembly.Instance(module, { env: { memory, abort: () => { throw new Error('@parcnet/wasm: abort'); } } });
const GENERATION = 0;
const PENDING = 1;
// Start from the generation the pool was created with, so work posted before this thread came up is not missed.
let generation = workerData.generation;
for (;;) {
  Atomics.wait(control, GENERATION, generation);
  generation = Atomics.load(control, GENERATION);
  const fn = instance.exports[callable[control[slots + 2 * index]]];
  const count = control[slots + 2 * index + 1];
  fn(...args.subarray(index * maxArgs, index * maxArgs + count));
  if (Atomics.sub(control, PENDING, 1) === 1) Atomics.notify(control, PENDING);
}
