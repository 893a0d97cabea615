import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';

// A model check of the thread pool's protocol (src/threads.ts, src/worker-loop.mjs; README "Thread
// pool protocol"). The calling thread and 1–2 helpers are step machines over the shared words, each
// atomic operation one step (a claim, Atomics.add on NEXT, is one; running the chunk it got is
// the next); `wait(word, v)` sleeps only if the word is v at that step, `notify` wakes every thread
// sleeping on the word. Every interleaving of 3 consecutive jobs of 2–4 chunks is explored, and the
// checks are: no deadlock (every state where no thread can move has all jobs done), the graph has
// no cycle (so every execution ends, in such a state), no helper serves a job with another job's
// arguments or twice, every chunk of every job runs exactly once and before the job returns, no job
// returns before its helpers have finished, and no claim meant for job j reads NEXT after main
// reset it for job j + 1 (or before main reset it for j). The old protocols, and broken orders of
// this one, are modelled too and must fail: the checks can fail.

/** One reachable state: the shared words, each thread's program counter, sleep and registers, and ghost bookkeeping. */
interface State {
  mem: number[];
  /** Per thread; END once the calling thread has returned from its last job (helpers never end). */
  pc: number[];
  /** Per thread: the word it sleeps on, or -1 (PARKED: never moves again). */
  sleep: number[];
  reg: number[][];
  /** Ghost, per helper: bit j is set once it served job j (took its ticket and read its slot). */
  ran: number[];
  /** Ghost, per helper: bit j is set once it reported job j (its decrement of PENDING). */
  reported: number[];
  /** Ghost, per job: bit c is set once chunk c of the job ran. */
  chunksRun: number[];
  /** Ghost: the job main last reset NEXT for (−1 before the first). */
  epoch: number;
}

const END = -1;
/** A `sleep` no notify wakes: where a runaway helper is parked. */
const PARKED = -2;

interface Config {
  /** Helper threads running. */
  helpers: number;
  /** Per job, how many chunks it is cut into (≥ 2: a job of one chunk stays on the calling thread, outside the protocol). */
  chunks: number[];
  /** Whether a chunk on the calling thread may throw; the caller catches and posts the next job. */
  chunkMayThrow?: boolean;
  /** Wake every helper for every job, not only the chunks − 1 that can get a chunk (the code does not; the claims must not care). */
  wakeAll?: boolean;
}

/** How many helpers job j wakes: as parallelFor, at most one fewer than its chunks (the calling thread claims too). */
const woken = (config: Config, j: number): number => (config.wakeAll ? config.helpers : Math.min(config.helpers, config.chunks[j] - 1));

/** A protocol: its shared words and how thread t (0 = the calling thread) takes one step. */
interface Model {
  words: string[];
  init(): State;
  step(s: State, t: number, fail: (message: string) => void): { label: string; next: State }[];
}

function clone(s: State): State {
  return {
    mem: [...s.mem], pc: [...s.pc], sleep: [...s.sleep], reg: s.reg.map((r) => [...r]),
    ran: [...s.ran], reported: [...s.reported], chunksRun: [...s.chunksRun], epoch: s.epoch,
  };
}

function initial(config: Config, words: number, mainRegs: number[], helperRegs: number[]): State {
  const threads = config.helpers + 1;
  return {
    mem: Array<number>(words).fill(0),
    pc: Array<number>(threads).fill(0),
    sleep: Array<number>(threads).fill(-1),
    reg: [mainRegs, ...Array.from({ length: config.helpers }, () => [...helperRegs])],
    ran: Array<number>(config.helpers).fill(0),
    reported: Array<number>(config.helpers).fill(0),
    chunksRun: Array<number>(config.chunks.length).fill(0),
    epoch: -1,
  };
}

/** Atomics.wait: sleeps if the word still holds `value`, and goes on at `then` (woken, or at once with 'not-equal'). */
function wait(s: State, t: number, word: number, value: number, then: number): void {
  if (s.mem[word] === value) s.sleep[t] = word;
  s.pc[t] = then;
}

/** Atomics.notify(word) with no count: wakes every thread sleeping on it. */
function notify(s: State, word: number): void {
  s.sleep = s.sleep.map((w) => (w === word ? -1 : w));
}

/**
 * Ghost checks when helper w takes up a job: the one the calling thread is running (`expected`),
 * posted to w, with that job's arguments (`argsOf`) in its slot, and not one it served before. A
 * helper that runs past the last job posted is parked (it would run away, and the state space with
 * it).
 */
function serveJob(s: State, config: Config, w: number, expected: number, argsOf: number, fail: (m: string) => void): void {
  if (expected >= config.chunks.length) {
    fail(`helper ${w} served a job past the last one posted`);
    s.sleep[w + 1] = PARKED;
  } else if (w >= woken(config, expected)) fail(`helper ${w} served job ${expected}, which was not posted to it (its slot holds job ${argsOf}'s arguments)`);
  else if (argsOf !== expected) fail(`helper ${w} served job ${expected} with job ${argsOf}'s arguments`);
  if (s.ran[w] & (1 << argsOf)) fail(`helper ${w} served job ${argsOf} twice`);
  s.ran[w] |= 1 << argsOf;
}

/** Ghost check of a claim (Atomics.add on NEXT) by a thread serving job j: NEXT must be job j's, reset for it and not yet for the next. */
function claim(s: State, who: string, j: number, fail: (m: string) => void): void {
  if (s.epoch > j) fail(`${who} claimed a chunk of job ${j} after main reset NEXT for job ${s.epoch}`);
  else if (s.epoch < j) fail(`${who} claimed a chunk of job ${j} before main reset NEXT for it`);
}

/** Ghost check when chunk c of job j runs (on any thread): once only. */
function runChunk(s: State, j: number, c: number, fail: (m: string) => void): void {
  if (s.chunksRun[j] & (1 << c)) fail(`chunk ${c} of job ${j} ran twice`);
  s.chunksRun[j] |= 1 << c;
}

/** Ghost check when the calling thread leaves job j (returns or throws): its helpers must be done with it, and with `chunks`, every chunk must have run. */
function leaveJob(s: State, config: Config, j: number, fail: (m: string) => void, chunks = false): void {
  for (let w = 0; w < woken(config, j); w++) {
    if (!(s.reported[w] & (1 << j))) fail(`job ${j} returned while helper ${w} had not finished with it`);
  }
  const all = (1 << config.chunks[j]) - 1;
  if (chunks && s.chunksRun[j] !== all) {
    const missing = Array.from({ length: config.chunks[j] }, (_, c) => c).filter((c) => !(s.chunksRun[j] & (1 << c)));
    fail(`job ${j} returned before its chunk${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ran`);
  }
}

type Mutation = 'pending-late' | 'wait-once' | 'no-finally' | 'reset-late' | 'decrement-early' | 'ignore-offer' | 'offer-late' | 'same-end';

/**
 * The pool as it is now. Mirrors src/threads.ts parallelFor + withdrawOffers + awaitHelpers (steps
 * M0–M6 in its header and comments) and src/worker-loop.mjs serve (H1–H4); the TAKEN / DONE /
 * FAILED / FAILED_CHUNK stores are read only by reports and are left out. `mutation` breaks it on
 * purpose:
 * - 'pending-late': M1 (store PENDING) after the tickets instead of before;
 * - 'wait-once': H1 as `if (ticket == taken) wait` without re-reading the ticket after waking;
 * - 'no-finally': a chunk throwing on the calling thread skips M6 (no try/finally);
 * - 'reset-late': M0 (NEXT = 0) after the tickets, just before main's own claims;
 * - 'decrement-early': H4 (the decrement of PENDING) before the claim loop instead of after it;
 * - 'ignore-offer': H2 serves the job without taking the offer (main still withdraws it);
 * - 'offer-late': M3 stores the offer after moving the ticket instead of before;
 * - 'same-end': on a job with one helper, the helper runs its k-th chunk from the front too.
 */
function ticketPool(config: Config, mutation?: Mutation): Model {
  const h = config.helpers;
  const [PENDING, NEXT] = [0, 1];
  const ticket = (w: number): number => 2 + w;
  const slot = (w: number): number => 2 + h + w; // the job whose arguments are in helper w's slot (M2's plain writes as one)
  // OFFER: 1 while it stands, else 0. The code stores 2 when a helper takes it and 0 when main
  // withdraws it, but reads only whether it is 1, so the model folds the two (fewer states).
  const offer = (w: number): number => 2 + 2 * h + w;
  /** The slot's POSTED, which M2 writes with the slot: the ticket job j goes out as to helper w. */
  const postedAs = (w: number, j: number): number => config.chunks.filter((_, i) => i <= j && woken(config, i) > w).length;
  /** Whether job j's two threads run chunks from opposite ends: the code's `helpers === 1`. */
  const fromTheEnd = (j: number): boolean => woken(config, j) === 1;
  return {
    words: ['PENDING', 'NEXT', ...['TICKET', 'SLOT', 'OFFER'].flatMap((name) => Array.from({ length: h }, (_, w) => `${name}${w}`))],
    // main: [job, w, p, chunk, mine]; helper: [taken, job, chunk, seen, mine] (chunk: the one to run;
    // mine: the thread's claims in this job). A register no later step reads is reset to its start
    // value, so states that differ only there are one.
    init: () => initial(config, 2 + 3 * h, [0, 0, 0, 0, 0], [0, -1, 0, 0, 0]),
    step(s0, t, fail) {
      const s = clone(s0);
      const r = s.reg[t];
      const out = (label: string, next = s) => [{ label, next }];
      if (t === 0) {
        const [j, w, p, c] = r;
        const n = woken(config, j);
        switch (s.pc[0]) {
          case 0: // M0 Atomics.store(control, NEXT, 0)
            if (j === config.chunks.length) { s.pc[0] = END; return out('main returns from its last job'); }
            r[1] = 0;
            s.pc[0] = mutation === 'pending-late' ? 2 : 1;
            if (mutation === 'reset-late') return out(`main starts job ${j}`);
            s.mem[NEXT] = 0; s.epoch = j;
            return out(`main M0 NEXT = 0 for job ${j}`);
          case 1: // M1 Atomics.store(control, PENDING, helpers)
            s.mem[PENDING] = n; s.pc[0] = 2;
            return out(`main M1 PENDING = ${n}`);
          case 2: // M2 control[slot + EXPORT … POSTED] = …; args row w = …  (all plain writes, one step)
            if (w === n) { s.pc[0] = mutation === 'pending-late' ? 10 : mutation === 'reset-late' ? 11 : 5; return out('main: slots posted'); }
            s.mem[slot(w)] = j; s.pc[0] = mutation === 'offer-late' ? 3 : 12;
            return out(`main M2 slot ${w} = job ${j}`);
          case 12: // M3 Atomics.store(control, slot + OFFER, 1)
            s.mem[offer(w)] = 1; s.pc[0] = mutation === 'offer-late' ? 4 : 3;
            return out(`main M3 OFFER${w} = 1`);
          case 3: // M3 Atomics.add(control, slot + TICKET, 1)
            s.mem[ticket(w)]++; s.pc[0] = mutation === 'offer-late' ? 12 : 4;
            return out(`main M3 TICKET${w} = ${s.mem[ticket(w)]}`);
          case 4: // M4 Atomics.notify(control, slot + TICKET)
            notify(s, ticket(w)); r[1]++; s.pc[0] = 2;
            return out(`main M4 notify TICKET${w}`);
          case 10: // (pending-late) M1 after the tickets
            s.mem[PENDING] = n; s.pc[0] = 5;
            return out(`main M1 (late) PENDING = ${n}`);
          case 11: // (reset-late) M0 after the tickets
            s.mem[NEXT] = 0; s.epoch = j; s.pc[0] = 5;
            return out(`main M0 (late) NEXT = 0 for job ${j}`);
          case 5: { // M5 c = Atomics.add(control, NEXT, 1), inside try; the finally runs M6
            claim(s, 'main', j, fail);
            const claimed = s.mem[NEXT]++;
            if (claimed < config.chunks[j]) {
              // run = fromTheEnd ? mine : c (mine++ with the next claim)
              r[3] = fromTheEnd(j) ? r[4] : claimed; r[4]++; s.pc[0] = 6;
              return out(`main M5 claims ${claimed}: chunk ${r[3]}`);
            }
            r[1] = 0; r[4] = 0; s.pc[0] = 13;
            return out(`main M5 claims ${claimed}: none left`);
          }
          case 6: { // M5 fn(...prefix, c · chunk, …): chunk c, then the next claim
            runChunk(s, j, c, fail);
            r[3] = 0; s.pc[0] = 5;
            const steps = out(`main M5 runs chunk ${c} of job ${j}`);
            if (!config.chunkMayThrow) return steps;
            const thrown = clone(s0);
            runChunk(thrown, j, c, fail);
            if (mutation === 'no-finally') {
              leaveJob(thrown, config, j, fail, true);
              thrown.reg[0][0]++; thrown.pc[0] = 0;
            } else {
              thrown.reg[0][4] = 0; thrown.pc[0] = 7; // M6 without withdrawing: the helpers claim what is left
            }
            return [...steps, { label: `main M5 chunk ${c} of job ${j} throws`, next: thrown }];
          }
          case 13: // M6 withdrawOffers: Atomics.compareExchange(control, slot + OFFER, 1, 0) per helper of the job
            if (w === n) { s.pc[0] = 7; return out('main: offers withdrawn'); }
            if (s.mem[offer(w)] === 1) { s.mem[offer(w)] = 0; s.pc[0] = 14; return out(`main M6 withdraws OFFER${w}`); }
            r[1]++;
            return out(`main M6 OFFER${w} taken`);
          case 14: // M6 Atomics.sub(control, PENDING, 1) for the helper it withdrew from
            s.reported[w] |= 1 << j;
            s.mem[PENDING]--; r[1]++; s.pc[0] = 13;
            return out(`main M6 PENDING ${s.mem[PENDING] + 1} → ${s.mem[PENDING]} for helper ${w}`);
          case 7: // M6 pending = Atomics.load(control, PENDING); loop while pending !== 0
            r[2] = s.mem[PENDING];
            if (r[2] === 0) { leaveJob(s, config, j, fail, true); r[0]++; r[1] = 0; r[3] = 0; s.pc[0] = 0; return out(`main M6 PENDING 0: job ${j} done`); }
            s.pc[0] = 8;
            return out(`main M6 reads PENDING ${r[2]}`);
          case 8: // M6 platform.wait(control, PENDING, pending, …)
            wait(s, 0, PENDING, p, 7);
            r[2] = 0;
            return out(`main M6 wait(PENDING, ${p})${s.sleep[0] >= 0 ? ' sleeps' : ''}`);
        }
      } else {
        const w = t - 1;
        const [taken, job, c] = r;
        switch (s.pc[t]) {
          case 0: // H1 while (Atomics.load(control, slot + TICKET) === taken)
            s.pc[t] = s.mem[ticket(w)] === taken ? 1 : 2;
            return out(`helper ${w} H1 reads TICKET${w} ${s.mem[ticket(w)]}`);
          case 1: // H1 Atomics.wait(control, slot + TICKET, taken)
            wait(s, t, ticket(w), taken, mutation === 'wait-once' ? 2 : 0);
            return out(`helper ${w} H1 wait(TICKET${w}, ${taken})${s.sleep[t] >= 0 ? ' sleeps' : ''}`);
          case 2: // H2 seen = Atomics.load(control, slot + TICKET)
            r[3] = s.mem[ticket(w)]; s.pc[t] = mutation === 'ignore-offer' ? 10 : 9;
            return out(`helper ${w} H2 reads TICKET${w} ${r[3]}`);
          case 9: // H2 Atomics.compareExchange(control, slot + OFFER, 1, 2); on failure taken = seen, back to H1
            if (s.mem[offer(w)] === 1) { s.mem[offer(w)] = 0; r[3] = 0; s.pc[t] = 10; return out(`helper ${w} H2 takes OFFER${w}`); }
            r[0] = r[3]; r[3] = 0; s.pc[t] = 0;
            return out(`helper ${w} H2 finds OFFER${w} not standing: taken = ${r[0]}`);
          case 10: // H2 taken = control[slot + POSTED]; read the slot and args (plain reads, one step)
            r[1] = s.mem[slot(w)];
            r[0] = postedAs(w, r[1]);
            serveJob(s, config, w, s.reg[0][0], r[1], fail);
            s.pc[t] = mutation === 'decrement-early' ? 7 : 3;
            return out(`helper ${w} H2 takes ticket ${r[0]}: job ${r[1]}`);
          case 3: { // H3 c = Atomics.add(control, NEXT, 1); loop while c < chunks (the slot's CHUNKS)
            claim(s, `helper ${w}`, job, fail);
            const claimed = s.mem[NEXT]++;
            const more = claimed < config.chunks[job];
            // run = fromTheEnd ? chunks − 1 − mine : c (mine++ with the next claim)
            if (more) { r[2] = fromTheEnd(job) ? (mutation === 'same-end' ? r[4] : config.chunks[job] - 1 - r[4]) : claimed; r[4]++; } else r[4] = 0;
            s.pc[t] = more ? 4 : mutation === 'decrement-early' ? 0 : 5;
            return out(`helper ${w} H3 claims ${claimed}${more ? `: chunk ${r[2]}` : ': none left'}`);
          }
          case 4: // H3 fn(...prefix, c · chunk, …)
            runChunk(s, job, c, fail);
            s.pc[t] = 3;
            return out(`helper ${w} H3 runs chunk ${c} of job ${job}`);
          case 5: { // H4 Atomics.sub(control, PENDING, 1)
            if (s.reported[w] & (1 << job)) fail(`job ${job} was reported twice for helper ${w}`);
            s.reported[w] |= 1 << job;
            const old = s.mem[PENDING]--;
            r[1] = -1; r[2] = 0;
            s.pc[t] = old === 1 ? 6 : 0;
            return out(`helper ${w} H4 PENDING ${old} → ${old - 1}`);
          }
          case 6: // H4 Atomics.notify(control, PENDING)
            notify(s, PENDING); s.pc[t] = 0;
            return out(`helper ${w} H4 notify PENDING`);
          case 7: { // (decrement-early) H4 before the claims
            s.reported[w] |= 1 << job;
            const old = s.mem[PENDING]--;
            s.pc[t] = old === 1 ? 8 : 3;
            return out(`helper ${w} H4 (early) PENDING ${old} → ${old - 1}`);
          }
          case 8: // (decrement-early) H4 Atomics.notify(control, PENDING)
            notify(s, PENDING); s.pc[t] = 3;
            return out(`helper ${w} H4 (early) notify PENDING`);
        }
      }
      throw new Error(`no step at pc ${s.pc[t]} of thread ${t}`);
    },
  };
}

/**
 * The two earlier pools, which broadcast one GENERATION word to every helper. Mirrors
 * `git show 5e1fdfe:packages/wasm/src/worker.mjs` ('first': `Atomics.wait(GEN, generation)` once,
 * then `generation = Atomics.load(GEN)` and run) and 40afc60 … 89f9d44 worker-loop.mjs ('sliced':
 * `while (Atomics.load(GEN) === generation) Atomics.wait(…)`), with parallelFor as it was then:
 * store PENDING, write every slot, Atomics.add(GEN), Atomics.notify(GEN), chunk 0 (no try/finally),
 * then the PENDING wait loop. The 100 ms slices and their re-notify are left out: the question is
 * whether the protocol needs them. They cut a job into one chunk per thread: a job of `chunks`
 * chunks here is one on chunks − 1 helpers, each running its chunk whole (serving the job).
 */
function generationPool(config: Config, helperLoop: 'first' | 'sliced'): Model {
  const h = config.helpers;
  const [PENDING, GEN] = [0, 1];
  const slot = (w: number): number => 2 + w;
  return {
    words: ['PENDING', 'GEN', ...Array.from({ length: h }, (_, w) => `SLOT${w}`)],
    // main: [job, w, p]; helper: [generation]
    init: () => initial(config, 2 + h, [0, 0, 0], [0]),
    step(s0, t, fail) {
      const s = clone(s0);
      const r = s.reg[t];
      const out = (label: string, next = s) => [{ label, next }];
      if (t === 0) {
        const [j, w, p] = r;
        const n = woken(config, j);
        switch (s.pc[0]) {
          case 0: // Atomics.store(control, PENDING, helpers)
            if (j === config.chunks.length) { s.pc[0] = END; return out('main returns from its last job'); }
            s.mem[PENDING] = n; r[1] = 0; s.pc[0] = 1;
            return out(`main PENDING = ${n}`);
          case 1: // control[SLOTS + …] = index; args.set(…) for each helper of the job
            if (w === n) { s.pc[0] = 2; return out('main: slots written'); }
            s.mem[slot(w)] = j; r[1]++;
            return out(`main slot ${w} = job ${j}`);
          case 2: // Atomics.add(control, GENERATION, 1)
            s.mem[GEN]++; s.pc[0] = 3;
            return out(`main GEN = ${s.mem[GEN]}`);
          case 3: // Atomics.notify(control, GENERATION)
            notify(s, GEN); s.pc[0] = 4;
            return out('main notify GEN');
          case 4: { // fn(...prefix, 0, chunk): a throw leaves without waiting
            s.pc[0] = 5;
            const steps = out('main runs chunk 0');
            if (!config.chunkMayThrow) return steps;
            const thrown = clone(s0);
            leaveJob(thrown, config, j, fail);
            thrown.reg[0][0]++; thrown.pc[0] = 0;
            return [...steps, { label: 'main chunk 0 throws', next: thrown }];
          }
          case 5: // pending = Atomics.load(control, PENDING); loop while pending !== 0
            r[2] = s.mem[PENDING];
            if (r[2] === 0) { leaveJob(s, config, j, fail); r[0]++; s.pc[0] = 0; return out(`main PENDING 0: job ${j} done`); }
            s.pc[0] = 6;
            return out(`main reads PENDING ${r[2]}`);
          case 6: // Atomics.wait(control, PENDING, pending)
            wait(s, 0, PENDING, p, 5);
            return out(`main wait(PENDING, ${p})${s.sleep[0] >= 0 ? ' sleeps' : ''}`);
        }
      } else {
        const w = t - 1;
        switch (s.pc[t]) {
          case 0: // 'sliced': while (Atomics.load(control, GENERATION) === generation); 'first' has no check
            if (helperLoop === 'first') { s.pc[t] = 1; return out(`helper ${w} loops`); }
            s.pc[t] = s.mem[GEN] === r[0] ? 1 : 2;
            return out(`helper ${w} reads GEN ${s.mem[GEN]}`);
          case 1: // Atomics.wait(control, GENERATION, generation)
            wait(s, t, GEN, r[0], helperLoop === 'first' ? 2 : 0);
            return out(`helper ${w} wait(GEN, ${r[0]})${s.sleep[t] >= 0 ? ' sleeps' : ''}`);
          case 2: // generation = Atomics.load(control, GENERATION)
            r[0] = s.mem[GEN]; s.pc[t] = 3;
            return out(`helper ${w} takes GEN ${r[0]}`);
          case 3: // read its slot and args; run the chunk (generation g was posted by job g − 1)
            serveJob(s, config, w, r[0] - 1, s.mem[slot(w)], fail);
            r.push(s.mem[slot(w)]);
            s.pc[t] = 4;
            return out(`helper ${w} runs job ${s.mem[slot(w)]}`);
          case 4: { // Atomics.sub(control, PENDING, 1)
            const job = r.pop()!;
            s.reported[w] |= 1 << job;
            const old = s.mem[PENDING]--;
            s.pc[t] = old === 1 ? 5 : 0;
            return out(`helper ${w} PENDING ${old} → ${old - 1}`);
          }
          case 5: // Atomics.notify(control, PENDING)
            notify(s, PENDING); s.pc[t] = 0;
            return out(`helper ${w} notify PENDING`);
        }
      }
      throw new Error(`no step at pc ${s.pc[t]} of thread ${t}`);
    },
  };
}

interface Exploration {
  states: number;
  transitions: number;
  /** Complete executions: paths from the start to a state where no thread can move. */
  interleavings: bigint;
  deadlocks: number;
  violations: Set<string>;
  /** The shortest schedule to the first deadlock or violation found, one step a line. */
  trace: string[];
}

const STATE_LIMIT = 1_000_000;
/** A state as a string: every list with its length first, one character per number (all small, none below −2). */
function key(s: State): string {
  const codes: number[] = [];
  for (const list of [s.mem, s.pc, s.sleep, s.ran, s.reported, s.chunksRun, [s.epoch], ...s.reg]) {
    codes.push(list.length);
    for (const value of list) codes.push(value + 16);
  }
  return String.fromCharCode(...codes);
}

/** Every state reachable from the model's start, breadth first; then the paths counted over the (acyclic) graph. */
function explore(model: Model): Exploration {
  const ids = new Map<string, number>();
  // Each state is dropped once expanded (its key stays): the explorations run to a million states.
  const states: (State | undefined)[] = [];
  const parent: [number, string][] = [];
  const successors: number[][] = [];
  const violations = new Set<string>();
  let deadlocks = 0;
  let firstBad = -1;
  let firstBadLabel = '';
  const visit = (s: State, from: number, label: string): number => {
    const k = key(s);
    let id = ids.get(k);
    if (id === undefined) {
      if (states.length === STATE_LIMIT) throw new Error(`more than ${STATE_LIMIT} states`);
      id = states.length;
      ids.set(k, id);
      states.push(s);
      parent.push([from, label]);
    }
    return id;
  };
  visit(model.init(), -1, 'start');
  for (let id = 0; id < states.length; id++) {
    const s = states[id]!;
    states[id] = undefined;
    const next: number[] = [];
    for (let t = 0; t < s.pc.length; t++) {
      if (s.pc[t] === END || s.sleep[t] !== -1) continue;
      let failed = '';
      for (const step of model.step(s, t, (m) => { violations.add(m); failed ||= m; })) {
        const to = visit(step.next, id, step.label);
        next.push(to);
        if (failed && firstBad < 0) { firstBad = to; firstBadLabel = failed; }
      }
    }
    successors.push(next);
    if (next.length === 0 && s.pc[0] !== END) {
      deadlocks++;
      if (firstBad < 0) { firstBad = id; firstBadLabel = 'deadlock: no thread can move and the jobs are not done'; }
    }
  }
  const trace: string[] = [];
  for (let at = firstBad; at > 0; at = parent[at][0]) trace.unshift(parent[at][1]);
  if (firstBad >= 0) trace.push(`⇒ ${firstBadLabel}`);
  return { states: states.length, transitions: successors.reduce((a, n) => a + n.length, 0), interleavings: countPaths(successors), deadlocks, violations, trace };
}

/** Paths from state 0 to the states without successors; throws on a cycle (an execution that need not end). */
function countPaths(successors: number[][]): bigint {
  const paths: (bigint | undefined)[] = [];
  const onStack = new Uint8Array(successors.length);
  const stack: [number, number][] = [[0, 0]];
  onStack[0] = 1;
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const [id, i] = top;
    if (i < successors[id].length) {
      top[1]++;
      const to = successors[id][i];
      if (onStack[to]) throw new Error('the state graph has a cycle: some execution never ends');
      if (paths[to] === undefined) { onStack[to] = 1; stack.push([to, 0]); }
    } else {
      paths[id] = successors[id].length === 0 ? 1n : successors[id].reduce((a, to) => a + paths[to]!, 0n);
      onStack[id] = 0;
      stack.pop();
    }
  }
  return paths[0]!;
}

/**
 * Every pattern of 3 jobs on 1 helper of 2 or 3 chunks, and on 2 helpers of 2 chunks (one helper
 * woken: fewer chunks than threads) or 4 (more chunks than threads), with 3 (a chunk per thread)
 * among them twice; and 2-chunk jobs waking both helpers anyway (more threads than chunks: one
 * finds none left).
 */
const configs: Config[] = [
  ...[2, 3].flatMap((a) => [2, 3].flatMap((b) => [2, 3].map((c) => ({ helpers: 1, chunks: [a, b, c] })))),
  ...[2, 4].flatMap((a) => [2, 4].flatMap((b) => [2, 4].map((c) => ({ helpers: 2, chunks: [a, b, c] })))),
  { helpers: 2, chunks: [3, 3, 3] },
  { helpers: 2, chunks: [2, 3, 4] },
  { helpers: 2, chunks: [2, 2, 2], wakeAll: true },
  { helpers: 2, chunks: [2, 4, 2], wakeAll: true },
];
const name = (c: Config): string =>
  `${c.helpers} helper${c.helpers > 1 ? 's' : ''}, jobs of ${c.chunks.join('/')} chunks${c.wakeAll ? ', every helper woken' : ''}${c.chunkMayThrow ? ', a chunk on the calling thread may throw' : ''}`;

describe('thread pool protocol: every interleaving', () => {
  const totals = { configurations: 0, states: 0, transitions: 0, interleavings: 0n };
  for (const config of [...configs, ...configs.map((c) => ({ ...c, chunkMayThrow: true }))]) {
    it(`the pool: ${name(config)}: no deadlock, every chunk once, no helper on another job's arguments, no claim across jobs, no early return`, () => {
      const result = explore(ticketPool(config));
      expect([...result.violations], result.trace.join('\n')).toEqual([]);
      expect(result.deadlocks, result.trace.join('\n')).toBe(0);
      expect(result.interleavings).toBeGreaterThan(0n);
      totals.configurations++;
      totals.states += result.states;
      totals.transitions += result.transitions;
      totals.interleavings += result.interleavings;
    });
  }
  afterAll(() => {
    console.info(`pool protocol model: ${totals.states} states, ${totals.transitions} transitions, ${totals.interleavings} complete interleavings over ${totals.configurations} configurations`);
  });
});

describe('thread pool protocol: the checker finds broken orders', () => {
  const full: Config = { helpers: 2, chunks: [4, 4, 4] };
  it('PENDING stored after the tickets: a helper decrements before the store, which erases it → deadlock', () => {
    const result = explore(ticketPool(full, 'pending-late'));
    expect(result.deadlocks).toBeGreaterThan(0);
  });

  it('a helper that does not re-read its ticket after waking, which served a job twice on a late notify before the offer, now finds the offer gone', () => {
    for (const config of [{ helpers: 1, chunks: [2, 2] }, { helpers: 2, chunks: [4, 4, 4] }]) {
      const result = explore(ticketPool(config, 'wait-once'));
      expect([...result.violations]).toEqual([]);
      expect(result.deadlocks).toBe(0);
    }
  });

  it('a helper that serves its ticket without taking the offer: main withdraws it too, reports for it, and returns with its chunk unrun', () => {
    const result = explore(ticketPool({ helpers: 1, chunks: [2] }, 'ignore-offer'));
    expect(result.violations).toContain('job 0 was reported twice for helper 0');
    expect(result.violations).toContain('job 0 returned before its chunk 1 ran');
    console.info(`a helper ignoring the offer, shortest failure:\n  ${result.trace.join('\n  ')}`);
  });

  it('chunks from the two ends: with the helper also counting from the front, a chunk runs twice and another never', () => {
    const result = explore(ticketPool({ helpers: 1, chunks: [3] }, 'same-end'));
    expect(result.violations).toContain('chunk 0 of job 0 ran twice');
    console.info(`both threads counting from the front, shortest failure:\n  ${result.trace.join('\n  ')}`);
  });

  it('the offer stored after the ticket: a quick helper finds none and sleeps, and a chunk throwing on the calling thread (no withdrawal then) leaves main waiting for it → deadlock', () => {
    expect(explore(ticketPool({ helpers: 1, chunks: [2, 2] }, 'offer-late')).deadlocks).toBe(0);
    const result = explore(ticketPool({ helpers: 1, chunks: [2, 2], chunkMayThrow: true }, 'offer-late'));
    expect(result.deadlocks).toBeGreaterThan(0);
    console.info(`the offer stored after the ticket, shortest hang:\n  ${result.trace.join('\n  ')}`);
  });

  it('no try/finally: a chunk throwing on the calling thread returns while the helpers still run', () => {
    const result = explore(ticketPool({ helpers: 1, chunks: [2, 2], chunkMayThrow: true }, 'no-finally'));
    expect([...result.violations].some((v) => v.includes('returned while'))).toBe(true);
  });

  it('NEXT reset after the tickets: a woken helper claims from the last job\'s count, and a chunk runs twice', () => {
    const result = explore(ticketPool({ helpers: 1, chunks: [2, 2] }, 'reset-late'));
    expect(result.violations).toContain('helper 0 claimed a chunk of job 0 before main reset NEXT for it');
    expect(result.violations).toContain('chunk 0 of job 0 ran twice');
    console.info(`NEXT reset after the tickets, shortest failure:\n  ${result.trace.join('\n  ')}`);
  });

  it('PENDING decremented before the claims end: main returns with a chunk unrun and resets NEXT under a claiming helper', () => {
    const result = explore(ticketPool({ helpers: 1, chunks: [2, 2] }, 'decrement-early'));
    expect(result.violations).toContain('job 0 returned before its chunk 0 ran');
    expect(result.violations).toContain('helper 0 claimed a chunk of job 0 after main reset NEXT for job 1');
    console.info(`PENDING decremented before the claims end, shortest failure:\n  ${result.trace.join('\n  ')}`);
  });

  it('the first pool (5e1fdfe) deadlocks with one helper: the late GEN notify runs the chunk twice and PENDING goes to −1', () => {
    const result = explore(generationPool({ helpers: 1, chunks: [2, 2] }, 'first'));
    expect(result.violations).toContain('helper 0 served job 0 twice');
    expect(result.deadlocks).toBeGreaterThan(0);
    console.info(`the first pool's shortest hang:\n  ${result.trace.join('\n  ')}`);
  });

  it('the sliced pool (40afc60) without its slices is sound while every job uses every helper', () => {
    for (const config of [{ helpers: 1, chunks: [2, 2, 2] }, { helpers: 2, chunks: [3, 3, 3] }]) {
      const result = explore(generationPool(config, 'sliced'));
      expect([...result.violations]).toEqual([]);
      expect(result.deadlocks).toBe(0);
    }
  });

  it('the sliced pool: a job on fewer helpers than are running wakes the idle one, which reruns its stale slot → deadlock', () => {
    const result = explore(generationPool({ helpers: 2, chunks: [3, 2] }, 'sliced'));
    expect(result.violations).toContain(`helper 1 served job 1, which was not posted to it (its slot holds job 0's arguments)`);
    expect(result.deadlocks).toBeGreaterThan(0);
    console.info(`the sliced pool's shortest failure on a 2/1 split:\n  ${result.trace.join('\n  ')}`);
  });
});

// The model above must stay the code's order of shared-memory operations: these are the operations
// in the source, in order (a change to either side fails here and asks for the other to follow).
describe('the model follows the code', () => {
  const read = (file: string): string => readFileSync(new URL(`../src/${file}`, import.meta.url), 'utf8');
  const body = (source: string, start: string): string => {
    const at = source.indexOf(start);
    expect(at, start).toBeGreaterThanOrEqual(0);
    return source.slice(source.indexOf('{', at), source.indexOf('\n}\n', at));
  };
  const operations = (code: string): string[] =>
    [...code.matchAll(/Atomics\.(\w+)\(control, ([\w +]+?)[,)]|platform\.(wait)\(control, (\w+)|control\[slot \+ (\w+)\] =(?!=)|(args)(?:\.set\(|\[[^\]]+\] =)|\b(fn|withdrawOffers|awaitHelpers)\(/g)]
      .map((m) => (m[1] ? `${m[1]} ${m[2]}` : m[3] ? `${m[3]} ${m[4]}` : m[5] ? `write ${m[5]}` : m[6] ? 'write args' : m[7]));

  it('parallelFor: M0 store NEXT; M1 store PENDING; per helper M2 slot writes, M3 store OFFER, add TICKET, M4 notify TICKET; M5 claims and chunks; M6 in a finally, withdrawing only after every claim', () => {
    const threads = read('threads.ts');
    expect(operations(body(threads, 'export function parallelFor('))).toEqual([
      'fn', // the single-thread path
      'store NEXT',
      'store PENDING',
      'write EXPORT', 'write ARG_COUNT', 'write TOTAL', 'write CHUNK', 'write CHUNKS', 'write POSTED', 'write FROM_THE_END', 'write args',
      'store slot + OFFER', 'add slot + TICKET', 'notify slot + TICKET',
      'add NEXT', 'add NEXT', 'fn', // for (c = add; c < chunks; c = add) fn(…)
      'withdrawOffers', 'awaitHelpers',
      'load slot + FAILED', 'load slot + TICKET', 'load slot + FAILED_CHUNK', // the failure report, after the job
    ]);
    expect(body(threads, 'export function parallelFor(')).toMatch(/try \{[^}]*for \(let c = Atomics\.add\(control, NEXT, 1\), mine = 0; c < chunks; c = Atomics\.add\(control, NEXT, 1\), mine\+\+\) \{\s*const run = fromTheEnd \? mine : c;\s*fn\(\.\.\.prefix, run \* chunk, [^}]*\}\s*claimedAll = true;\s*\} finally \{[^}]*if \(claimedAll\) withdrawOffers\(helpers\);\s*awaitHelpers\(/);
    expect(body(threads, 'export function parallelFor(')).toMatch(/const fromTheEnd = helpers === 1;/);
    // M6's first half: per helper, take the offer back if it still stands, and report for that helper.
    expect(operations(body(threads, 'function withdrawOffers('))).toEqual(['compareExchange slot + OFFER', 'sub PENDING']);
    expect(body(threads, 'function withdrawOffers(')).toMatch(/if \(Atomics\.compareExchange\(control, slot \+ OFFER, 1, 0\) === 1\) \{\s*Atomics\.sub\(control, PENDING, 1\);/);
    // The poll first (setThreadSpin: loads only, so a poll that sees 0 is a wait that returned at
    // once, and one that runs out leaves the loop below as it was), then for (p = load; p !== 0; p = load) wait.
    expect(operations(body(threads, 'function awaitHelpers('))).toEqual(['load PENDING', 'load PENDING', 'load PENDING', 'load PENDING', 'wait PENDING']);
  });

  it('serve: H1 load/wait TICKET in a loop; H2 take the offer, else back to H1; H3 claims and chunks; H4 sub PENDING, notify PENDING, after the claims', () => {
    const loop = operations(body(read('worker-loop.mjs'), 'export function serve('));
    expect(loop).toEqual([
      'load slot + TICKET', 'load slot + TICKET', // H1's poll: loads only, as awaitHelpers'
      'load slot + TICKET', 'wait slot + TICKET',
      'load slot + TICKET', 'compareExchange slot + OFFER', // H2: seen, then the offer
      'store slot + TAKEN',
      'add NEXT', 'add NEXT', 'fn', 'load slot + FAILED', 'store slot + FAILED_CHUNK', 'store slot + FAILED',
      'store slot + DONE',
      'sub PENDING', 'notify PENDING',
    ]);
    expect(read('worker-loop.mjs')).toMatch(/while \(Atomics\.load\(control, slot \+ TICKET\) === taken\) Atomics\.wait\(control, slot \+ TICKET, taken\);/);
    expect(read('worker-loop.mjs')).toMatch(/if \(Atomics\.compareExchange\(control, slot \+ OFFER, 1, 2\) !== 1\) \{\s*taken = seen;\s*continue;\s*\}\s*taken = control\[slot \+ POSTED\];/);
    expect(read('worker-loop.mjs')).toMatch(/for \(let c = Atomics\.add\(control, NEXT, 1\), mine = 0; c < chunks; c = Atomics\.add\(control, NEXT, 1\), mine\+\+\) \{\s*const run = fromTheEnd \? chunks - 1 - mine : c;\s*try \{\s*fn\(\.\.\.prefix, run \* chunk, /);
  });
});
