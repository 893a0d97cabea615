// Where the time of a training step goes on the main thread (issue 21, item 2): ParC-Net-XS with
// the CIFAR stem, batch 64, 32×32, AdamW, each step in `tidy`, 2 warm-ups, then each timed step's
// wall time split into time inside kernels (split across threads or not; WASM or JavaScript) and
// outside them (GC pauses, and the rest per phase: forward, backward, optimizer, scope end). Runs
// on 2 threads, then on 1, so the gain per category shows what scales with the second thread.
// Run: npx tsx --conditions parcnet-source benchmarks/step-breakdown.ts [steps=5] [batch=64] [--json] [--no-baseline]
import { loadavg } from 'node:os';
import { constants as perfConstants, PerformanceObserver } from 'node:perf_hooks';
import { crossEntropy } from '@parcnet/nn';
import { poolStats } from '@parcnet/wasm';
import {
  listKernels, observeKernels, randn, registerKernel, runKernel, setBackendEnabled, setNumThreads, tidy, WASM,
  type KernelName,
} from 'parcnet';
import { xsWorkload } from './xs-workload.js';

const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const steps = Number(positional[0] ?? 5);
const batch = Number(positional[1] ?? 64);
const asJson = process.argv.includes('--json');
// Plain steps (no timer) alternate with the timed ones to measure the instrumentation's cost.
const withBaseline = !process.argv.includes('--no-baseline');
const WARM_UP = 2;
const THREAD_COUNTS = [2, 1] as const;
const PHASES = ['forward', 'backward', 'optimizer', 'scope end'] as const;
const [FORWARD, BACKWARD, OPTIMIZER, SCOPE_END] = [0, 1, 2, 3];
if (!Number.isInteger(steps) || steps < 1 || !Number.isInteger(batch) || batch < 1) {
  throw new RangeError(`step-breakdown: expected [steps ≥ 1] [batch ≥ 1], got ${positional.join(' ')}`);
}

// ---------------------------------------------------------------------------------------------
// The kernel timer. It registers above every backend (as benchmarks/kernel-time.ts does) and
// dispatches again with itself switched off, so each call runs exactly the registration (and guard)
// it would run untimed; a kernel that calls another counts once, with the inner one's time in it.
// The registrations' guards and priorities are private to the registry, so wrapping them in place
// is not possible from outside; this needs no change to registry.ts. The observer tells which
// backend the inner dispatch chose: the first call it sees after the timer switched itself off.
// ---------------------------------------------------------------------------------------------
const TIMER = 'step-breakdown-timer';
const dispatch = runKernel as (name: KernelName, ...args: unknown[]) => unknown;

/** One timed step: its phase marks, and kernel and GC time per phase. */
interface StepTally {
  /** performance.now() before tidy, after zeroGrad, after the loss, after backward, after step, after tidy. */
  marks: number[];
  /** Kernel time per phase in calls that dispatched ≥ 1 parallelFor job (on 2 threads; see `plan`). */
  split: number[];
  /** Kernel time per phase in WASM calls that ran on the calling thread only. */
  wasm: number[];
  /** Kernel time per phase in JavaScript (reference) calls: always one thread. */
  js: number[];
  /** GC pause time per phase that fell inside a kernel call (already part of the kernel time). */
  gcInKernels: number[];
  /** GC pause time per phase outside kernel calls. */
  gcOutside: number[];
  calls: number;
  splitCalls: number;
  jobs: number;
  /** Start and end of every (outermost) kernel call, in order: what GC pauses are matched against. */
  kernelStart: number[];
  kernelEnd: number[];
}

/** One kernel name's totals over the timed steps of a run. */
interface KernelStats {
  calls: number;
  ms: number;
  splitCalls: number;
  splitMs: number;
  wasmMs: number;
  jsMs: number;
  jobs: number;
}

/**
 * Which calls of a step count as split. On 2 threads, a call that dispatched ≥ 1 job (poolStats.jobs
 * moved): the 2-thread run records that per call index. A step's calls are the same sequence on any
 * number of threads, so the 1-thread run classifies call i as the 2-thread run saw it and the gain of
 * "split kernels" compares the same calls; `mismatched` counts calls whose name differed (expect 0).
 */
const plan = { mode: 'none' as 'none' | 'learn' | 'apply', names: [] as KernelName[], split: [] as boolean[], mismatched: 0, inconsistent: 0 };

let recording: StepTally | null = null;
let kernelStats = new Map<KernelName, KernelStats>();
let phase = FORWARD;
let callIndex = 0;
let chosenBackend = '';

function record(step: StepTally, name: KernelName, start: number, end: number, jobs: number): void {
  const ms = end - start;
  const index = callIndex++;
  let split = jobs > 0;
  if (plan.mode === 'learn') {
    if (index >= plan.names.length) {
      plan.names[index] = name;
      plan.split[index] = split;
    } else if (plan.names[index] !== name || plan.split[index] !== split) {
      plan.inconsistent++;
    }
  } else if (plan.mode === 'apply') {
    if (plan.names[index] === name) split = plan.split[index];
    else plan.mismatched++;
  }
  const backendIsWasm = chosenBackend === WASM;
  if (split) step.split[phase] += ms;
  else if (backendIsWasm) step.wasm[phase] += ms;
  else step.js[phase] += ms;
  step.calls++;
  if (split) step.splitCalls++;
  step.jobs += jobs;
  step.kernelStart.push(start);
  step.kernelEnd.push(end);
  let stats = kernelStats.get(name);
  if (!stats) kernelStats.set(name, (stats = { calls: 0, ms: 0, splitCalls: 0, splitMs: 0, wasmMs: 0, jsMs: 0, jobs: 0 }));
  stats.calls++;
  stats.ms += ms;
  stats.jobs += jobs;
  if (split) {
    stats.splitCalls++;
    stats.splitMs += ms;
  }
  if (backendIsWasm) stats.wasmMs += ms;
  else stats.jsMs += ms;
}

for (const name of Object.keys(listKernels()) as KernelName[]) {
  registerKernel({
    name, backend: TIMER, priority: Number.MAX_SAFE_INTEGER,
    fn: ((...args: unknown[]) => {
      const jobsBefore = poolStats.jobs;
      chosenBackend = '';
      setBackendEnabled(TIMER, false);
      const start = performance.now();
      try {
        return dispatch(name, ...args);
      } finally {
        const end = performance.now();
        setBackendEnabled(TIMER, true);
        if (recording) record(recording, name, start, end, poolStats.jobs - jobsBefore);
      }
    }) as never,
  });
}
const noteBackend = (_name: KernelName, _args: readonly unknown[], backend: string): void => {
  if (chosenBackend === '' && backend !== TIMER) chosenBackend = backend;
};
let stopObserving: (() => void) | null = null;

function instrument(on: boolean): void {
  setBackendEnabled(TIMER, on);
  if (on && !stopObserving) stopObserving = observeKernels(noteBackend);
  if (!on && stopObserving) {
    stopObserving();
    stopObserving = null;
  }
}

// GC pauses of the main isolate (the helper threads' isolates are their own), matched to steps,
// phases and kernel calls by their start time afterwards; entries arrive asynchronously.
interface GcPause { start: number; ms: number; kind: string }
const gcPauses: GcPause[] = [];
const gcKinds: Record<number, string> = {
  [perfConstants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [perfConstants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
  [perfConstants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental marking',
  [perfConstants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks',
};
const gcObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    // Node's gc entries carry { kind } in `detail`; the DOM lib's PerformanceEntry type lacks it.
    const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind;
    gcPauses.push({ start: entry.startTime, ms: entry.duration, kind: kind === undefined ? 'other' : gcKinds[kind] ?? `kind ${kind}` });
  }
});
gcObserver.observe({ entryTypes: ['gc'] });

// ---------------------------------------------------------------------------------------------
// The step, as parcnet-xs.bench.ts and the trainer run it.
// ---------------------------------------------------------------------------------------------
// The model, optimiser and batch of xs-workload.ts; the step is spelled out here to mark its phases.
const { model, optimizer, x, y } = xsWorkload(batch);
model.train();

/** One training step; `marks` receives the phase boundaries (see StepTally.marks). */
function trainStep(marks: number[]): void {
  callIndex = 0;
  phase = OPTIMIZER; // zeroGrad belongs to the optimizer's share
  marks.push(performance.now());
  tidy(() => {
    optimizer.zeroGrad();
    marks.push(performance.now());
    phase = FORWARD;
    const loss = crossEntropy(model.forward(x), y);
    marks.push(performance.now());
    phase = BACKWARD;
    loss.backward();
    marks.push(performance.now());
    phase = OPTIMIZER;
    optimizer.step();
    marks.push(performance.now());
    phase = SCOPE_END;
  });
  marks.push(performance.now());
}

/** Wall time per phase from the marks: the optimizer has zeroGrad (and tidy's entry) too. */
function phaseWalls(m: number[]): number[] {
  return [m[2] - m[1], m[3] - m[2], m[1] - m[0] + (m[4] - m[3]), m[5] - m[4]];
}

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const sum = (values: number[]): number => values.reduce((a, b) => a + b, 0);
const zeros = (): number[] => [0, 0, 0, 0];

interface Run {
  threads: number;
  tallies: StepTally[];
  kernels: Map<KernelName, KernelStats>;
  /** Wall times of the plain (uninstrumented) steps that alternated with the timed ones. */
  plainWalls: number[];
  gcByKind: Record<string, { count: number; ms: number }>;
}

async function measure(threads: number): Promise<Run> {
  setNumThreads(threads);
  kernelStats = new Map();
  plan.mode = 'none';
  instrument(true);
  for (let r = 0; r < WARM_UP; r++) {
    trainStep([]);
    await yieldToLoop();
  }
  if (withBaseline) {
    // The plain path warms up too: its dispatch differs (no timer), so its JIT state may.
    instrument(false);
    trainStep([]);
    await yieldToLoop();
  }
  const tallies: StepTally[] = [];
  const plainWalls: number[] = [];
  for (let r = 0; r < steps; r++) {
    instrument(true);
    plan.mode = threads === 2 ? 'learn' : 'apply';
    const tally: StepTally = {
      marks: [], split: zeros(), wasm: zeros(), js: zeros(), gcInKernels: zeros(), gcOutside: zeros(),
      calls: 0, splitCalls: 0, jobs: 0, kernelStart: [], kernelEnd: [],
    };
    recording = tally;
    trainStep(tally.marks);
    recording = null;
    plan.mode = 'none';
    tallies.push(tally);
    await yieldToLoop();
    if (withBaseline) {
      instrument(false);
      const marks: number[] = [];
      trainStep(marks);
      plainWalls.push(marks[5] - marks[0]);
      await yieldToLoop();
    }
  }
  instrument(true);
  // Let the last GC entries arrive, then match each pause to its step, phase and kernel call.
  await new Promise((resolve) => setTimeout(resolve, 50));
  const gcByKind: Record<string, { count: number; ms: number }> = {};
  for (const tally of tallies) {
    const m = tally.marks;
    for (const pause of gcPauses) {
      if (pause.start < m[0] || pause.start >= m[5]) continue;
      const p = pause.start < m[1] ? OPTIMIZER : pause.start < m[2] ? FORWARD : pause.start < m[3] ? BACKWARD : pause.start < m[4] ? OPTIMIZER : SCOPE_END;
      if (insideKernel(tally, pause.start)) tally.gcInKernels[p] += pause.ms;
      else tally.gcOutside[p] += pause.ms;
      const k = (gcByKind[pause.kind] ??= { count: 0, ms: 0 });
      k.count++;
      k.ms += pause.ms;
    }
  }
  return { threads, tallies, kernels: kernelStats, plainWalls, gcByKind };
}

/** Whether `time` falls in one of the step's kernel calls (they are disjoint and in order). */
function insideKernel(tally: StepTally, time: number): boolean {
  let lo = 0;
  let hi = tally.kernelStart.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (tally.kernelStart[mid] > time) hi = mid - 1;
    else if (tally.kernelEnd[mid] < time) lo = mid + 1;
    else return true;
  }
  return false;
}

/**
 * The cost of the timer per kernel call: a small kernel (Add on 16 floats) called with the timer on
 * (and recording into a scratch tally) and off, best of several rounds each.
 */
function perCallOverheadMs(): number {
  const a = randn([16], { seed: 3 });
  const b = randn([16], { seed: 4 });
  const calls = 4000;
  const round = (on: boolean): number => {
    instrument(on);
    const scratch: StepTally = {
      marks: [], split: zeros(), wasm: zeros(), js: zeros(), gcInKernels: zeros(), gcOutside: zeros(),
      calls: 0, splitCalls: 0, jobs: 0, kernelStart: [], kernelEnd: [],
    };
    recording = on ? scratch : null;
    const t = performance.now();
    tidy(() => {
      for (let i = 0; i < calls; i++) runKernel('Add', a, b);
    });
    const ms = (performance.now() - t) / calls;
    recording = null;
    return ms;
  };
  const saved = kernelStats;
  kernelStats = new Map();
  let on = Infinity;
  let off = Infinity;
  for (let r = 0; r < 7; r++) {
    on = Math.min(on, round(true));
    off = Math.min(off, round(false));
  }
  kernelStats = saved;
  instrument(true);
  return Math.max(0, on - off);
}

// ---------------------------------------------------------------------------------------------
// Categories and report.
// ---------------------------------------------------------------------------------------------
const CATEGORIES = [
  ['wall', 'step (wall)'],
  ['kernels', 'in kernels (main thread)'],
  ['kernelsSplit', '  split across threads (≥1 parallelFor job on 2 threads)'],
  ['kernelsOneThread', '  on one thread only'],
  ['kernelsOneThreadWasm', '    WASM, job too small or not split'],
  ['kernelsOneThreadJs', '    JavaScript (reference kernels)'],
  ['outside', 'outside kernels'],
  ['gcOutside', '  GC pauses'],
  ['outsideForward', '  forward: ops, shape checks, recordOp, ParC PE/bias loops'],
  ['outsideBackward', '  backward: autograd engine, gradient accumulation'],
  ['outsideOptimizer', '  optimizer: zeroGrad, AdamW loops in JS'],
  ['outsideScopeEnd', '  scope end: tidy disposing the step\'s tensors'],
  ['gcInKernels', '(memo) GC pauses inside kernels, counted above'],
] as const;
type Category = (typeof CATEGORIES)[number][0];

function categories(t: StepTally): Record<Category, number> {
  const walls = phaseWalls(t.marks);
  const kernelsIn = (p: number): number => t.split[p] + t.wasm[p] + t.js[p];
  const outsideIn = (p: number): number => walls[p] - kernelsIn(p) - t.gcOutside[p];
  const kernels = sum(t.split) + sum(t.wasm) + sum(t.js);
  const wall = t.marks[5] - t.marks[0];
  return {
    wall,
    kernels,
    kernelsSplit: sum(t.split),
    kernelsOneThread: sum(t.wasm) + sum(t.js),
    kernelsOneThreadWasm: sum(t.wasm),
    kernelsOneThreadJs: sum(t.js),
    outside: wall - kernels,
    gcOutside: sum(t.gcOutside),
    outsideForward: outsideIn(FORWARD),
    outsideBackward: outsideIn(BACKWARD),
    outsideOptimizer: outsideIn(OPTIMIZER),
    outsideScopeEnd: outsideIn(SCOPE_END),
    gcInKernels: sum(t.gcInKernels),
  };
}

interface Summary {
  threads: number;
  steps: number;
  /** Per category: median over the timed steps, total over them, and total / total wall. */
  categories: Record<Category, { median: number; total: number; share: number }>;
  /** Every category of every timed step, for a reader who wants the spread. */
  perStep: Record<Category, number>[];
  /** Per phase (mean ms per step): wall, kernels split / one thread, outside without GC, GC outside kernels. */
  phases: Record<(typeof PHASES)[number], { wall: number; kernelsSplit: number; kernelsOneThread: number; outsideNoGc: number; gcOutside: number }>;
  kernels: { name: KernelName; callsPerStep: number; msPerStep: number; splitCallsPerStep: number; splitMsPerStep: number; jobsPerStep: number; wasmShare: number }[];
  gcByKind: Record<string, { count: number; msPerStep: number }>;
  callsPerStep: number;
  jobsPerStep: number;
  /** Median wall of the plain steps (no timer) alternated with the timed ones; null with --no-baseline. */
  plainWallMedian: number | null;
  checks: { phasesMinusWallMs: number; kernelNamesMinusKernelsMs: number; splitPlusOneThreadMinusKernelsMs: number };
}

function summarize(run: Run): Summary {
  const perStep = run.tallies.map(categories);
  const wallTotal = sum(perStep.map((c) => c.wall));
  const cats = {} as Summary['categories'];
  for (const [key] of CATEGORIES) {
    const values = perStep.map((c) => c[key]);
    cats[key] = { median: median(values), total: sum(values), share: sum(values) / wallTotal };
  }
  const n = run.tallies.length;
  const phases = {} as Summary['phases'];
  PHASES.forEach((name, p) => {
    const mean = (f: (t: StepTally) => number): number => sum(run.tallies.map(f)) / n;
    phases[name] = {
      wall: mean((t) => phaseWalls(t.marks)[p]),
      kernelsSplit: mean((t) => t.split[p]),
      kernelsOneThread: mean((t) => t.wasm[p] + t.js[p]),
      outsideNoGc: mean((t) => phaseWalls(t.marks)[p] - t.split[p] - t.wasm[p] - t.js[p] - t.gcOutside[p]),
      gcOutside: mean((t) => t.gcOutside[p]),
    };
  });
  const kernels = [...run.kernels].map(([name, s]) => ({
    name, callsPerStep: s.calls / n, msPerStep: s.ms / n, splitCallsPerStep: s.splitCalls / n, splitMsPerStep: s.splitMs / n,
    jobsPerStep: s.jobs / n, wasmShare: s.ms > 0 ? s.wasmMs / s.ms : 0,
  })).sort((a, b) => b.msPerStep - a.msPerStep);
  const gcByKind: Summary['gcByKind'] = {};
  for (const [kind, k] of Object.entries(run.gcByKind)) gcByKind[kind] = { count: k.count / n, msPerStep: k.ms / n };
  const phaseSum = sum(Object.values(phases).map((p) => p.wall)) * n;
  return {
    threads: run.threads,
    steps: n,
    categories: cats,
    perStep,
    phases,
    kernels,
    gcByKind,
    callsPerStep: sum(run.tallies.map((t) => t.calls)) / n,
    jobsPerStep: sum(run.tallies.map((t) => t.jobs)) / n,
    plainWallMedian: run.plainWalls.length > 0 ? median(run.plainWalls) : null,
    checks: {
      phasesMinusWallMs: phaseSum - wallTotal,
      kernelNamesMinusKernelsMs: sum(kernels.map((k) => k.msPerStep)) * n - cats.kernels.total,
      splitPlusOneThreadMinusKernelsMs: cats.kernelsSplit.total + cats.kernelsOneThread.total - cats.kernels.total,
    },
  };
}

const loadBefore = loadavg()[0];
const runs: Run[] = [];
for (const threads of THREAD_COUNTS) runs.push(await measure(threads));
const overheadPerCall = perCallOverheadMs();
const loadAfter = loadavg()[0];
gcObserver.disconnect();
const [two, one] = runs.map(summarize);

const report = {
  config: {
    model: 'parcnetXS({ numClasses: 10, cifarStem: true })', batch, image: [32, 32], optimizer: 'AdamW', warmUp: WARM_UP, steps,
    baseline: withBaseline, loadAverage1mBefore: loadBefore, loadAverage1mAfter: loadAfter,
  },
  instrumentation: {
    perCallMs: overheadPerCall,
    callsPerStep: two.callsPerStep,
    estimatedMsPerStep: overheadPerCall * two.callsPerStep,
    callMismatchesOneThread: plan.mismatched,
    splitInconsistentAcrossSteps: plan.inconsistent,
    untimedKernelNames: Object.entries(listKernels()).filter(([, backends]) => backends[0] !== TIMER).map(([name]) => name),
  },
  runs: { twoThreads: two, oneThread: one },
};

if (asJson) {
  console.log(JSON.stringify(report, null, 2));
} else {
  const ms = (v: number, width = 9): string => v.toFixed(1).padStart(width);
  const pct = (v: number): string => `${(100 * v).toFixed(1)}%`.padStart(7);
  const gain = (oneThread: number, twoThreads: number): string => (twoThreads > 0.05 ? `${(oneThread / twoThreads).toFixed(2)}×` : '—').padStart(7);
  const label = (s: string, width: number): string => (s.length > width ? `${s.slice(0, width - 1)}…` : s.padEnd(width));

  console.log(`ParC-Net-XS, CIFAR stem, batch ${batch}, 32×32, AdamW, each step in tidy: ${steps} timed steps after ${WARM_UP} warm-ups`);
  console.log(`load average (1 min) ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after: on a busy machine read shares, not times`);
  console.log('ms/step is the median over the timed steps (medians of parts need not add up); share = category total / wall total; gain = 1-thread total / 2-thread total.\n');

  const W = 58;
  console.log(`${''.padEnd(W)}${'2 threads'.padStart(27)}${'1 thread'.padStart(27)}`);
  console.log(`${'category'.padEnd(W)}${'ms/step'.padStart(9)}${'total'.padStart(11)}${'share'.padStart(7)}${'ms/step'.padStart(9)}${'total'.padStart(11)}${'share'.padStart(7)}${'gain'.padStart(7)}`);
  for (const [key, text] of CATEGORIES) {
    const a = two.categories[key];
    const b = one.categories[key];
    console.log(`${label(text, W)}${ms(a.median)}${ms(a.total, 11)}${pct(a.share)}${ms(b.median)}${ms(b.total, 11)}${pct(b.share)}${gain(b.total, a.total)}`);
  }
  const gcKinds = (s: Summary): string => Object.entries(s.gcByKind).map(([kind, k]) => `${kind} ${k.count.toFixed(1)}× ${k.msPerStep.toFixed(1)} ms`).join(', ') || 'none';
  console.log(`GC pauses per step, by kind: 2 threads: ${gcKinds(two)}; 1 thread: ${gcKinds(one)}`);

  for (const s of [two, one]) {
    console.log(`\nphases, ${s.threads} thread${s.threads > 1 ? 's' : ''} (mean ms/step; the columns add up to the wall)`);
    console.log(`${'phase'.padEnd(12)}${'wall'.padStart(9)}${'kernels split'.padStart(15)}${'kernels 1-thread'.padStart(18)}${'outside, no GC'.padStart(16)}${'GC outside'.padStart(12)}${'share'.padStart(8)}`);
    const wall = sum(Object.values(s.phases).map((p) => p.wall));
    for (const name of PHASES) {
      const p = s.phases[name];
      console.log(`${name.padEnd(12)}${ms(p.wall)}${ms(p.kernelsSplit, 15)}${ms(p.kernelsOneThread, 18)}${ms(p.outsideNoGc, 16)}${ms(p.gcOutside, 12)}${pct(p.wall / wall).padStart(8)}`);
    }
  }

  console.log('\nkernels by name (mean per step; "split" = calls that dispatched ≥1 parallelFor job on 2 threads; the 1-thread column times the same calls)');
  console.log(`${'kernel'.padEnd(26)}${'calls'.padStart(7)}${'split'.padStart(7)}${'jobs'.padStart(7)}${'wasm'.padStart(6)}${'2t ms'.padStart(9)}${'split ms'.padStart(10)}${'share'.padStart(8)}${'1t ms'.padStart(9)}${'gain'.padStart(7)}`);
  const oneByName = new Map(one.kernels.map((k) => [k.name, k]));
  const wallTwo = two.categories.wall.total / two.steps;
  let shown = 0;
  let rest = 0;
  for (const k of two.kernels) {
    const k1 = oneByName.get(k.name);
    if (shown < 40 && k.msPerStep / wallTwo >= 0.001) {
      console.log(`${label(k.name, 26)}${k.callsPerStep.toFixed(0).padStart(7)}${k.splitCallsPerStep.toFixed(0).padStart(7)}${k.jobsPerStep.toFixed(0).padStart(7)}${`${(100 * k.wasmShare).toFixed(0)}%`.padStart(6)}${ms(k.msPerStep)}${ms(k.splitMsPerStep, 10)}${pct(k.msPerStep / wallTwo).padStart(8)}${ms(k1?.msPerStep ?? 0)}${gain(k1?.msPerStep ?? 0, k.msPerStep)}`);
      shown++;
    } else {
      rest += k.msPerStep;
    }
  }
  if (shown < two.kernels.length) console.log(`${label(`(${two.kernels.length - shown} more)`, 26)}${''.padStart(33)}${ms(rest)}`);

  console.log('\nchecks and instrumentation');
  console.log(`  kernel calls per step ${two.callsPerStep.toFixed(0)} (2 threads), ${one.callsPerStep.toFixed(0)} (1 thread); parallelFor jobs per step ${two.jobsPerStep.toFixed(0)} / ${one.jobsPerStep.toFixed(0)}`);
  console.log(`  kernel names the timer does not see (registered after it started): ${report.instrumentation.untimedKernelNames.join(', ') || 'none'}`);
  console.log(`  1-thread calls that did not match the 2-thread sequence: ${plan.mismatched}; 2-thread calls whose split differed between steps: ${plan.inconsistent}`);
  for (const s of [two, one]) {
    console.log(`  ${s.threads} thread${s.threads > 1 ? 's' : ' '}: phases − wall ${s.checks.phasesMinusWallMs.toFixed(3)} ms, kernel names − kernels ${s.checks.kernelNamesMinusKernelsMs.toFixed(3)} ms, split + one-thread − kernels ${s.checks.splitPlusOneThreadMinusKernelsMs.toFixed(3)} ms (all over ${s.steps} steps)`);
  }
  console.log(`  timer cost ≈ ${(overheadPerCall * 1000).toFixed(2)} µs per kernel call × ${two.callsPerStep.toFixed(0)} calls ≈ ${(overheadPerCall * two.callsPerStep).toFixed(1)} ms per step, mostly counted as "outside kernels"`);
  for (const s of [two, one]) {
    if (s.plainWallMedian !== null) {
      const timed = s.categories.wall.median;
      console.log(`  ${s.threads} thread${s.threads > 1 ? 's' : ' '}: median step timed ${timed.toFixed(1)} ms, plain (no timer, alternating) ${s.plainWallMedian.toFixed(1)} ms: difference ${(timed - s.plainWallMedian).toFixed(1)} ms (${(100 * (timed / s.plainWallMedian - 1)).toFixed(1)}%)`);
    }
  }
}
