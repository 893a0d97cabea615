// The loop a kernel helper thread runs, in Node (worker.mjs) and in browsers (worker.browser.mjs):
// instantiate the module on the shared memory, then serve kernel calls posted through `control`.
// Plain JavaScript so that a Node worker runs it without a TypeScript loader.

const GENERATION = 0;
const PENDING = 1;

export function serve(data) {
  const { module, memory, control, args, index, callable, maxArgs, slots, perWorker, waitSliceMs } = data;
  const instance = new WebAssembly.Instance(module, { env: { memory, abort: () => { throw new Error('@parcnet/wasm: abort'); } } });
  // Start from the generation the pool was created with, so work posted before this thread came up is not missed.
  let generation = data.generation;
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
}
