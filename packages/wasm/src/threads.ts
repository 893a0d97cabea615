import { platform } from '#platform';
import type { Helper } from './platform.js';
import { runtime, type KernelExports } from './runtime.js';

/**
 * Splits kernel work across worker threads that share the wasm memory. `parallelFor(total, name,
 * args)` cuts [0, total) into one contiguous chunk per thread and calls the export `name(...args,
 * start, end)` for each chunk — the calling thread takes the first chunk — then waits (Atomics) for
 * the others. The split depends only on `total` and the thread count and every chunk writes its own
 * outputs, so results are identical whatever the thread count. Small jobs stay on the calling thread.
 * Helpers come from the platform adapter: worker_threads in Node, started on first use; Web Workers
 * in a browser, started (and awaited) by `startThreads` when the package loads.
 */

type ExportName = keyof KernelExports;

/** Exports a worker may be asked to run, by index (the index travels through shared memory). */
const callable: ExportName[] = [
  'gemm', 'depthwise', 'depthwise3x3', 'depthwise3x3BackpropInput', 'depthwise3x3BackpropFilter', 'depthwiseBackpropInput', 'depthwiseBackpropFilter', 'parcGather', 'parcConvBackpropKernel',
  'bnStats', 'bnApply', 'bnBackward', 'convImages', 'convBackpropInputImages', 'convBackpropFilterImages',
  'avgPool', 'avgPoolGrad', 'maxPool', 'maxPoolGrad', 'adaptiveAvgPool', 'adaptiveAvgPoolGrad', 'resizeBilinear', 'resizeBilinearGrad',
  'sumReduce', 'softmax', 'softmaxGrad', 'binaryArrays',
  'silu', 'siluGrad', 'sigmoid', 'sigmoidGrad', 'hardswish', 'hardswishGrad', 'hardsigmoid', 'hardsigmoidGrad',
];

const MAX_ARGS = 32;
const GENERATION = 0;
const PENDING = 1;
const SLOTS = 4;
/** Per worker: the export index, the argument count, the generation it picked up, the generation it finished. */
const PER_WORKER = 4;
/** Waits are cut into slices of this many ms; each slice re-checks the counters (a lost wake-up costs one slice, not a hang). */
const WAIT_SLICE_MS = 100;
/** A job whose helper chunks are not done after this long is reported as an error instead of waiting forever. */
const STALL_MS = 300_000;

let numThreads = platform.maxThreads;
let workers: Helper[] = [];
// Allocated with the first helpers: a page without shared memory has no SharedArrayBuffer at all.
let control!: Int32Array<SharedArrayBuffer>;
let args!: Float64Array<SharedArrayBuffer>;

/**
 * Sets how many threads (the calling one included) kernels split their work across. In a browser
 * the helpers must have been started first (`await startThreads(n)`), and a page that is not
 * cross-origin isolated has one thread only.
 */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setNumThreads: expected a positive integer, got ${n}`);
  if (n > 1 && !platform.kernels.shared) {
    throw new RangeError(`setNumThreads(${n}): this page is not cross-origin isolated, so it has no shared memory and runs kernels on 1 thread (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)`);
  }
  if (platform.startsAsync && n - 1 > workers.length) {
    throw new RangeError(`setNumThreads(${n}): only ${workers.length + 1} kernel threads are running; in a browser start more first with await startThreads(${n})`);
  }
  numThreads = n;
}

/** How many threads kernels split their work across, the calling one included (default: every core; 1 in a page that is not cross-origin isolated). */
export function getNumThreads(): number {
  return numThreads;
}

/** Sets the thread count and waits until every helper thread is listening (needed in browsers; immediate in Node). */
export async function startThreads(n: number): Promise<void> {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`startThreads: expected a positive integer, got ${n}`);
  if (n > 1 && platform.kernels.shared) {
    ensureWorkers(n - 1);
    await Promise.all(workers.map((w) => w.ready));
  }
  setNumThreads(n);
}

function ensureWorkers(count: number): void {
  if (workers.length >= count) return;
  for (const w of workers) w.terminate();
  control = new Int32Array(new SharedArrayBuffer(4 * (SLOTS + PER_WORKER * count)));
  args = new Float64Array(new SharedArrayBuffer(8 * MAX_ARGS * count));
  workers = Array.from({ length: count }, (_, index) => platform.startHelper({
    module: runtime.module, memory: runtime.memory, control, args, index, callable, maxArgs: MAX_ARGS, slots: SLOTS, perWorker: PER_WORKER, waitSliceMs: WAIT_SLICE_MS, generation: 0,
  }));
}

/** Work below these sizes (units: rows, planes, channels; cost: multiply-adds) stays on the calling thread. */
let minParallelUnits = 8;
let minParallelCost = 50_000;

/** Sets the smallest job split across threads (tests set 0 to force the threaded path; tuning). */
export function setParallelThreshold(units: number, cost: number): void {
  minParallelUnits = units;
  minParallelCost = cost;
}

/** How many chunks parallelFor cuts `total` into, and their size (kernels with per-chunk scratch need both). */
export function chunking(total: number): { chunks: number; chunk: number } {
  const chunks = Math.max(1, Math.min(numThreads, total));
  return { chunks, chunk: Math.ceil(total / chunks) };
}

/** Jobs split across threads so far, and wait slices that ran out (each one re-notified the helpers). */
export const poolStats = {
  /** Jobs split across threads since the process started. */
  jobs: 0,
  /** 100 ms waits for the helpers that ran out before they finished (a slow or lost wake-up). */
  slowSlices: 0,
};

export function parallelFor(total: number, name: ExportName, prefix: readonly number[], cost = total): void {
  const fn = runtime.exports[name] as unknown as (...a: number[]) => void;
  const threads = Math.min(numThreads, total);
  if (threads <= 1 || total < minParallelUnits || cost < minParallelCost) {
    fn(...prefix, 0, total);
    return;
  }
  const helpers = threads - 1;
  ensureWorkers(helpers);
  const chunk = Math.ceil(total / threads);
  const index = callable.indexOf(name);
  if (index < 0) throw new Error(`parallelFor: ${name} is not callable from workers`);
  Atomics.store(control, PENDING, helpers);
  for (let w = 0; w < helpers; w++) {
    const start = Math.min(total, (w + 1) * chunk);
    const end = Math.min(total, (w + 2) * chunk);
    control[SLOTS + PER_WORKER * w] = index;
    control[SLOTS + PER_WORKER * w + 1] = prefix.length + 2;
    args.set([...prefix, start, end], w * MAX_ARGS);
  }
  const generation = Atomics.add(control, GENERATION, 1) + 1;
  poolStats.jobs++;
  Atomics.notify(control, GENERATION);
  fn(...prefix, 0, Math.min(total, chunk));
  const started = Date.now();
  for (let pending = Atomics.load(control, PENDING); pending !== 0; pending = Atomics.load(control, PENDING)) {
    if (platform.wait(control, PENDING, pending, WAIT_SLICE_MS) === 'timed-out') {
      poolStats.slowSlices++;
      // Wake the helpers again in case a notification was lost; they re-check the generation.
      Atomics.notify(control, GENERATION);
      if (Date.now() - started > STALL_MS) throw new Error(stallReport(name, generation, helpers));
    }
  }
}

function stallReport(name: ExportName, generation: number, helpers: number): string {
  const states = Array.from({ length: helpers }, (_, w) => {
    const base = SLOTS + PER_WORKER * w;
    return `worker ${w}: picked up generation ${Atomics.load(control, base + 2)}, finished ${Atomics.load(control, base + 3)}`;
  });
  return `parallelFor(${name}): helper threads have not finished generation ${generation} after ${STALL_MS / 1000} s (pending ${Atomics.load(control, PENDING)}; ${states.join('; ')})`;
}
