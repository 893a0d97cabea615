import { platform } from '#platform';
import type { Helper } from './platform.js';
import { runtime, type KernelExports } from './runtime.js';

/**
 * Splits kernel work across worker threads that share the wasm memory. `parallelFor(total, name,
 * args)` cuts [0, total) into `chunking(total).chunks` contiguous chunks, a few per thread, and every
 * participating thread (the calling one and the helpers woken for the job) claims chunks from a
 * shared counter until none is left, calling the export `name(...args, start, end)` for each. A
 * thread that starts late, or is preempted by V8's background threads on a busy machine, then
 * leaves its share to the others instead of making them wait: with one chunk per thread the calling
 * thread spent 12–14 % of a 2-thread training step waiting for the helper's half. The cut depends
 * only on `total` and the thread count, and every chunk writes only its own outputs, so results are
 * identical whatever the thread count and whichever thread ran which chunk. Small jobs stay on the
 * calling thread, in one call. Helpers come from the platform adapter: worker_threads in Node,
 * started on first use; Web Workers in a browser, started (and awaited) by `startThreads` when the
 * package loads.
 *
 * The protocol (README "Thread pool protocol"; test/pool-protocol.test.ts checks every interleaving
 * of a model of it). Shared words in `control`: PENDING, the helpers of the current job that have not
 * finished claiming; NEXT, the next chunk to claim; per helper w a slot holding TICKET (jobs posted
 * to w), OFFER (1 while the current job's offer to w stands), POSTED (the ticket of the job in the
 * slot), FROM_THE_END (whether the job's two threads run chunks from opposite ends), the export,
 * argument count and chunking (its arguments in `args` row w), and TAKEN / DONE / FAILED /
 * FAILED_CHUNK (progress, for reports only).
 *
 *   main, per job                         helper w (worker-loop.mjs), `taken` local, from 0
 *   M0 store NEXT = 0                     H1 while load TICKET == taken: wait(TICKET, taken)
 *   M1 store PENDING = helpers            H2 seen = load TICKET; if cas(OFFER, 1 → 2) failed:
 *   for each helper w of this job:           taken = seen, back to H1 (withdrawn); else read
 *     M2 write slot w (with POSTED, the      slot w (taken = its POSTED) and args row w
 *        ticket it goes out as), args row w H3 while (c = add(NEXT, 1)) < chunks: run a chunk (M5)
 *     M3 store OFFER_w = 1, add(TICKET_w, 1) H4 if sub(PENDING, 1) returned 1: notify(PENDING)
 *     M4 notify(TICKET_w)
 *   M5 while (c = add(NEXT, 1)) < chunks: run a chunk (try … finally M6): chunk c, or with one
 *      helper the calling thread's k-th claim runs chunk k and the helper's chunk (chunks − 1 − k)
 *   M6 if every chunk was claimed: per helper, if cas(OFFER_w, 1 → 0) won: sub(PENDING, 1);
 *      then while (p = load PENDING) != 0: wait(PENDING, p)
 *
 * Why each order: NEXT is reset (M0) before any ticket moves, and a helper claims only after it
 * took an offer, so no claim of this job reads the last job's count (a chunk would run twice, or
 * not at all). PENDING is set (M1) before any offer stands, so no decrement can land before it. A
 * helper decrements PENDING once, after its claim loop ended (H3 → H4), and main leaves M6 only once
 * PENDING is 0: so when main returns, every chunk has been claimed and run, and no helper can claim
 * again before it takes another offer, which is what makes the next job's M0 safe. The offer is one
 * word that exactly one side moves away from 1: the helper taking it (then main waits for its
 * decrement, as before) or main withdrawing it once every chunk is claimed (then main decrements for
 * it and the helper, when it wakes, goes back to sleep without reading its slot or touching NEXT).
 * So main never waits for a helper that has not started: on this machine's virtual cores a helper
 * can be descheduled for a millisecond or two, and the calling thread, having run every chunk
 * itself, used to wait that long for it to wake up and report. A helper reads its slot only after
 * it took the offer, which main stored after writing the slot, and main rewrites a slot only after
 * M6, which needs that helper's decrement, made after its last read. A helper that took a later
 * job's offer while it answered an earlier ticket (it read the ticket, was descheduled, main
 * withdrew and posted again) serves the job its slot holds, the current one, since the offer stands
 * only while its job does; it counts the slot's POSTED ticket as taken, so its reports name that
 * job. Each wait names the value it last saw, so a notify that comes before the wait finds the word
 * changed and the wait returns at once; and each waiter re-reads its word when it wakes, so a late
 * notify only costs a loop. Only the helpers the job can use are woken (their own ticket; at most
 * chunks − 1), so the others sleep on. M6 runs even when a chunk of the calling thread throws,
 * without withdrawing (the helpers claim what it left), so a slot is never rewritten, nor NEXT
 * reset, under a helper still using it.
 */

type ExportName = keyof KernelExports;

/** Exports a worker may be asked to run, by index (the index travels through shared memory). */
const callable: ExportName[] = [
  'gemm', 'depthwise', 'depthwise3x3', 'invertedResidual', 'feedForward', 'depthwise3x3BackpropInput', 'depthwise3x3BackpropFilterSlices', 'depthwiseBackpropInput', 'depthwiseBackpropFilter', 'parcGather', 'parcMixer', 'parcConvBackpropKernelSlices',
  'bnStats', 'bnApply', 'bnBackwardSums', 'bnBackwardApply', 'convImages', 'convBackpropInputImages', 'convBackpropFilterImages',
  'winogradInput', 'winogradGradOutput', 'winogradGemms', 'winogradOutput', 'winogradInputAdjoint', 'winogradFilter', 'winogradFilterAdjoint',
  'avgPool', 'avgPoolGrad', 'maxPool', 'maxPoolGrad', 'adaptiveAvgPool', 'adaptiveAvgPoolGrad', 'resizeBilinear', 'resizeBilinearGrad',
  'sumReduce', 'sumReduceSplit', 'softmax', 'softmaxGrad', 'binaryArrays', 'binaryStrided',
  'silu', 'siluGrad', 'sigmoid', 'sigmoidGrad', 'hardswish', 'hardswishGrad', 'hardsigmoid', 'hardsigmoidGrad',
  'sliceGrad', 'concatRows',
];

const MAX_ARGS = 32;
// Shared words in `control`; helpers get this layout with their data (worker-loop.mjs).
const PENDING = 0;
/** Test only (`setHelperJitter`): helpers spin a random while at their protocol's gaps; 0 in production. */
const JITTER = 1;
/** How long (µs) a waiting thread polls its word before it sleeps: `setThreadSpin`. */
const SPIN = 2;
/** The next chunk to claim: on a 64-byte line of its own, since every thread of a job adds to it. */
const NEXT = 16;
/** Helper w's slot starts at SLOTS + PER_WORKER · w: one 64-byte line each, apart from PENDING's and NEXT's. */
const SLOTS = 32;
const PER_WORKER = 16;
// Words of a slot: the jobs posted to the helper, what to run and how it is cut, and its progress
// (read by reports only).
const TICKET = 0;
const EXPORT = 1;
const ARG_COUNT = 2;
const TOTAL = 3;
const CHUNK = 4;
const CHUNKS = 5;
const TAKEN = 6;
const DONE = 7;
const FAILED = 8;
/** The first chunk that threw on the helper, in the job FAILED names. */
const FAILED_CHUNK = 9;
/** 1 while the current job's offer to the helper stands; the helper takes it (2) or main withdraws it (0). */
const OFFER = 10;
/** The ticket the slot's job is posted as: what a helper that took the offer counts as taken. */
const POSTED = 11;
/** 1 when the job's two threads run chunks from opposite ends (see parallelFor), else 0. */
const FROM_THE_END = 12;
/**
 * The calling thread waits for the helpers in watchdog slices of this many ms. A slice that runs out
 * only counts (`poolStats.slowSlices`) and waits again: nothing is re-notified, since the protocol
 * loses no wake-up (test/pool-protocol.test.ts). It fires for a chunk slower than this, or a helper
 * still starting up.
 */
const WATCHDOG_MS = 1000;
/** A job whose helpers are not done after this long is reported as an error instead of waiting forever. */
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

/**
 * Sets the thread count and waits until every helper thread is up. Without it helpers start with the
 * first job split across threads, which then runs on the calling thread alone until they are (about
 * 85 ms in Node on the project machine; a browser entry awaits it when it loads).
 */
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
  // A fresh control block: every ticket starts at 0, which is where a new helper's count starts,
  // so a job posted before a helper is up is still taken. The old helpers are idle (every job
  // waits for its helpers, even one that throws) and only ever saw the old block.
  control = new Int32Array(new SharedArrayBuffer(4 * (SLOTS + PER_WORKER * count)));
  control[JITTER] = helperJitter;
  control[SPIN] = spinMicroseconds;
  args = new Float64Array(new SharedArrayBuffer(8 * MAX_ARGS * count));
  workers = Array.from({ length: count }, (_, index) => platform.startHelper({
    module: runtime.module, memory: runtime.memory, control, args, index, callable, maxArgs: MAX_ARGS, slots: SLOTS, perWorker: PER_WORKER,
    words: { PENDING, JITTER, SPIN, NEXT, TICKET, OFFER, POSTED, FROM_THE_END, EXPORT, ARG_COUNT, TOTAL, CHUNK, CHUNKS, TAKEN, DONE, FAILED, FAILED_CHUNK },
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

/**
 * Chunks per thread a job is cut into. More chunks let a thread that is done take work left by one
 * that started late; each costs a claim (an atomic add on a shared line), a kernel call with its own
 * setup, and scratch for the kernels that need it. On 2 threads the calling thread's wait for the
 * helper in a ParC-Net-XS training step (batch 64) fell from ~100 ms/step at 1 chunk per thread to
 * ~70 at 2, ~50 at 4 and ~30 at 8, the step times at 4 and 8 equal within the noise of a shared
 * machine; 4 needs half the scratch of 8 (README "Thread pool protocol").
 */
const CHUNKS_PER_THREAD = 4;

/**
 * How parallelFor cuts `total` units: `chunks` chunks of `chunk` units (the last may be shorter;
 * none is empty), chunk c being [c · chunk, min(total, (c + 1) · chunk)). Kernels with scratch per
 * chunk allocate `chunks` of it and index it by start / chunk: any thread may run any chunk, so
 * scratch is per chunk, not per thread. A job that stays on the calling thread is one call over
 * [0, total), which uses chunk 0's scratch.
 */
export function chunking(total: number): { chunks: number; chunk: number } {
  const most = numThreads === 1 ? 1 : numThreads * CHUNKS_PER_THREAD;
  // At least 1, so that start / chunk stays defined for an empty job.
  const chunk = Math.max(1, Math.ceil(total / Math.max(1, Math.min(most, total))));
  return { chunks: Math.max(1, Math.ceil(total / chunk)), chunk };
}

/** Jobs split across threads so far, and watchdog slices that ran out. */
export const poolStats = {
  /** Jobs split across threads since the process started. */
  jobs: 0,
  /**
   * Watchdog slices (1 s) that ran out while the calling thread waited for helpers: a chunk slower
   * than a second or a helper starting up; a lost wake-up would show here (and then as a stall).
   */
  slowSlices: 0,
  /** Offers to helpers the calling thread took back because it had claimed every chunk before they woke. */
  withdrawn: 0,
};

let helperJitter = 0;

/**
 * Test only (test/pool-stress.test.ts, test/kernels.threads.test.ts): helpers spin up to `spins`
 * random steps after taking a ticket, after each chunk they claim and after reporting the job, to
 * shake the interleavings. 0 (the default) turns it off; a helper then pays one read per job.
 */
export function setHelperJitter(spins: number): void {
  helperJitter = spins;
  if (workers.length > 0) Atomics.store(control, JITTER, spins);
}

/**
 * Runs the export `name(...prefix, start, end)` over [0, total) in the chunks of `chunking(total)`,
 * on as many threads as the job can use; `cost` (its multiply-adds) decides whether it is small.
 */
export function parallelFor(total: number, name: ExportName, prefix: readonly number[], cost = total): void {
  const fn = runtime.exports[name] as unknown as (...a: number[]) => void;
  const { chunks, chunk } = chunking(total);
  if (chunks <= 1 || total < minParallelUnits || cost < minParallelCost) {
    fn(...prefix, 0, total);
    return;
  }
  // At most `chunks` threads get a chunk, this one among them: another helper would wake to find none.
  const helpers = Math.min(numThreads - 1, chunks - 1);
  // With one helper the two threads run chunks from opposite ends: the calling thread's k-th claim
  // runs chunk k, the helper's chunk (chunks − 1 − k). Claims still come from NEXT, so between them
  // they run exactly `chunks` chunks, [0, F) here and [chunks − B, chunks) there, never the same one.
  // Most kernels cut along the batch (images, planes, blocks of a flat tensor), so each core keeps
  // about the same images from one kernel to the next and reads what it wrote itself: on this
  // machine a cache line the other core wrote costs 60–90 ns to fetch (a round trip of 113–175 ns),
  // and the helper ran a chunk of a small job (ParC at 4×4, 32 KB in and 32 KB out) in 28 µs where
  // the calling thread, which had written its input, took 14. Evaluation forwards on 2 threads,
  // six alternating pairs of 10 steps: faster in four, 145 ms against 150 on average (ParC 5.5
  // against 6.8 ms, the adds 4.6 against 5.2); training steps, whose batch norm then cut by channels,
  // 533 ms against 546, within the noise (cut by images since, kernels.ts normSplit: its backward
  // 0.90×, its apply 0.88×). With more helpers every thread runs the chunk it claimed.
  const fromTheEnd = helpers === 1;
  ensureWorkers(helpers);
  const index = callable.indexOf(name);
  if (index < 0) throw new Error(`parallelFor: ${name} is not callable from workers`);
  // Checked before M0: a throw once tickets are posted would leave helpers running on this job.
  if (prefix.length + 2 > MAX_ARGS) throw new RangeError(`parallelFor(${name}): ${prefix.length + 2} arguments, at most ${MAX_ARGS}`);
  // M0: before any ticket moves. The last job's helpers all stopped claiming before its M6 ended,
  // and this job's claim only once their ticket moved.
  Atomics.store(control, NEXT, 0);
  // M1: before any ticket moves, so no helper's decrement can land before it.
  Atomics.store(control, PENDING, helpers);
  for (let w = 0; w < helpers; w++) {
    const slot = SLOTS + PER_WORKER * w;
    // M2: plain writes; the ticket's atomic add below publishes them to helper w.
    control[slot + EXPORT] = index;
    control[slot + ARG_COUNT] = prefix.length;
    control[slot + TOTAL] = total;
    control[slot + CHUNK] = chunk;
    control[slot + CHUNKS] = chunks;
    control[slot + POSTED] = control[slot + TICKET] + 1;
    control[slot + FROM_THE_END] = fromTheEnd ? 1 : 0;
    args.set(prefix, w * MAX_ARGS);
    // M3: the offer after the slot (a helper reads the slot only once it took the offer), before
    // the ticket (a helper that sees its ticket move finds the offer standing, or withdrawn). M4:
    // only this job's helpers wake; the others sleep on their own tickets.
    Atomics.store(control, slot + OFFER, 1);
    Atomics.add(control, slot + TICKET, 1);
    Atomics.notify(control, slot + TICKET);
  }
  poolStats.jobs++;
  let claimedAll = false;
  try {
    // M5: this thread claims chunks like the helpers; a throw leaves the rest to them.
    for (let c = Atomics.add(control, NEXT, 1), mine = 0; c < chunks; c = Atomics.add(control, NEXT, 1), mine++) {
      const run = fromTheEnd ? mine : c;
      fn(...prefix, run * chunk, Math.min(total, (run + 1) * chunk));
    }
    claimedAll = true;
  } finally {
    // M6, also when a chunk throws: the next job must not rewrite slots, or reset NEXT, under a
    // helper. Offers still standing once every chunk is claimed are withdrawn: those helpers would
    // find nothing left, and waiting for them to wake up is what withdrawing saves.
    if (claimedAll) withdrawOffers(helpers);
    awaitHelpers(name, helpers);
  }
  for (let w = 0; w < helpers; w++) {
    const slot = SLOTS + PER_WORKER * w;
    if (Atomics.load(control, slot + FAILED) === Atomics.load(control, slot + TICKET)) {
      const failed = Atomics.load(control, slot + FAILED_CHUNK);
      throw new Error(`parallelFor(${name}): helper thread ${w} threw in its chunk [${failed * chunk}, ${Math.min(total, (failed + 1) * chunk)}) (its message is on the console; setNumThreads(1) runs the same call on this thread)`);
    }
  }
}

/**
 * How long (µs) a thread that waits for the pool polls before it sleeps: the calling thread for its
 * helpers (M6), a helper for its next ticket (H1). A sleeping thread is woken through the operating
 * system, which on this machine's virtual cores costs more than many of a training step's several
 * hundred jobs take; the gaps between jobs are mostly shorter than 1 ms. Against sleeping at once,
 * in three runs of paired rounds (2 threads, ParC-Net-XS batch 64, benchmarks/thread-spin.ts,
 * docs/performance.md sixth round), 1 ms raised the evaluation forward's speed in 10 of 11 rounds
 * (median +8 %) and the training step's in 8 of 11 (+3 %); 100 µs gained about half as much.
 * OpenMP runtimes spin similarly (GOMP ~0.3 ms, KMP_BLOCKTIME 200 ms).
 */
let spinMicroseconds = 1000;

/**
 * Sets how long (µs) a thread waiting for the kernel pool polls its word before it sleeps, like
 * OpenMP's KMP_BLOCKTIME: the calling thread waiting for its helpers to finish a job, and a helper
 * waiting for the next job. 0 sleeps at once. Polling keeps a core busy while it lasts; a helper
 * polls only between jobs, so at most this long after each.
 */
export function setThreadSpin(microseconds: number): void {
  if (!Number.isFinite(microseconds) || microseconds < 0) throw new RangeError(`setThreadSpin: expected a non-negative number of microseconds, got ${microseconds}`);
  spinMicroseconds = Math.round(microseconds);
  if (workers.length > 0) Atomics.store(control, SPIN, spinMicroseconds);
}

/** How long (µs) a waiting kernel thread polls before it sleeps (`setThreadSpin`). */
export function getThreadSpin(): number {
  return spinMicroseconds;
}

/**
 * M6, first half: takes back each offer no helper has taken yet (exactly one side moves the word
 * away from 1) and reports for that helper. Only once every chunk is claimed, so nothing is left
 * that a withdrawn helper would have run.
 */
function withdrawOffers(helpers: number): void {
  for (let w = 0; w < helpers; w++) {
    const slot = SLOTS + PER_WORKER * w;
    if (Atomics.compareExchange(control, slot + OFFER, 1, 0) === 1) {
      Atomics.sub(control, PENDING, 1);
      poolStats.withdrawn++;
    }
  }
}

/**
 * M6: waits until PENDING is 0: polls for up to `spinMicroseconds`, then sleeps in watchdog slices;
 * a wait names the value it read, so a decrement in between returns it at once.
 */
function awaitHelpers(name: ExportName, helpers: number): void {
  if (spinMicroseconds > 0 && Atomics.load(control, PENDING) !== 0) {
    const until = performance.now() + spinMicroseconds / 1000;
    while (Atomics.load(control, PENDING) !== 0 && performance.now() < until);
  }
  const started = Date.now();
  for (let pending = Atomics.load(control, PENDING); pending !== 0; pending = Atomics.load(control, PENDING)) {
    if (platform.wait(control, PENDING, pending, WATCHDOG_MS) === 'timed-out') {
      poolStats.slowSlices++;
      if (Date.now() - started > STALL_MS) throw new Error(stallReport(name, helpers));
    }
  }
}

function stallReport(name: ExportName, helpers: number): string {
  const states = Array.from({ length: helpers }, (_, w) => {
    const slot = SLOTS + PER_WORKER * w;
    const word = (offset: number): number => Atomics.load(control, slot + offset);
    return `helper ${w}: posted ${word(TICKET)}, taken ${word(TAKEN)}, done ${word(DONE)}`;
  });
  return `parallelFor(${name}): helper threads have not finished after ${STALL_MS / 1000} s (pending ${Atomics.load(control, PENDING)}, next chunk ${Atomics.load(control, NEXT)}; ${states.join('; ')})`;
}
