import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alloc, f32, runtime, scoped } from '../src/runtime.js';
import { chunking, getNumThreads, getThreadSpin, parallelFor, poolStats, setHelperJitter, setNumThreads, setParallelThreshold, setThreadSpin } from '../src/threads.js';

// The real pool under load: a million dispatches through parallelFor on 3 threads (2 helpers; on a
// 2-core machine they and the calling thread take turns), helpers spinning a random while at every
// gap of their protocol (after each chunk they claim too) and the calling thread between jobs. Jobs
// are cut into 2, 3, 12 or 9 chunks at random: fewer chunks than threads (one helper woken: the
// split that hung the generation-broadcast pool), one each, and several per thread claimed in
// whatever order the threads race to them, the last chunk shorter. Each job writes its own number
// into every block through the kernel and is checked as it returns, alternating between two sets
// of buffers, so a chunk run with another job's arguments, run twice, late or not at all shows as a
// wrong number. Waiting threads poll for SPIN µs before they sleep (setThreadSpin), so both ways of
// waking are taken: a poll that sees its word move, and a poll that runs out and sleeps (always
// while a thread that would move the word is descheduled: 3 threads share 2 cores).

/** binaryArrays works in blocks of this many elements; a chunk is one or more blocks. */
const BLOCK = 4096;
const JOBS = 1_000_000;
/** Upper bound of each random spin (xorshift steps; ~0.5 µs), helpers and calling thread alike. */
const JITTER = 500;
/** Blocks per job, by 2 random bits; on 3 threads chunking cuts them into 2, 3, 12 (of 1) and 9 chunks (of 3, the last of 1). */
const JOB_BLOCKS = [2, 3, 12, 25];
const MOST_BLOCKS = Math.max(...JOB_BLOCKS);
/** µs a waiting thread polls: about the random gaps', so that polls both catch their word and run out. */
const SPIN = 2;

const initialThreads = getNumThreads();
const initialSpin = getThreadSpin();
beforeAll(() => {
  setNumThreads(3);
  setParallelThreshold(0, 0);
  setThreadSpin(SPIN);
});
afterAll(() => {
  setHelperJitter(0);
  setThreadSpin(initialSpin);
  setNumThreads(initialThreads);
  setParallelThreshold(8, 50_000);
});

/** y = a + b over `blocks` blocks, where a holds `job` at the start of each block and b is 0. */
function dispatch(buffers: { a: number; b: number; y: number }, blocks: number, job: number): boolean {
  const a = f32(buffers.a, blocks * BLOCK);
  const y = f32(buffers.y, blocks * BLOCK);
  for (let k = 0; k < blocks; k++) {
    a[k * BLOCK] = job;
    y[k * BLOCK] = -1;
  }
  parallelFor(blocks, 'binaryArrays', [buffers.a, buffers.b, buffers.y, blocks * BLOCK, 0]);
  for (let k = 0; k < blocks; k++) if (y[k * BLOCK] !== job) return false;
  return true;
}

function buffers(blocks = MOST_BLOCKS): { a: number; b: number; y: number } {
  const set = { a: alloc(blocks * BLOCK * 4), b: alloc(blocks * BLOCK * 4), y: alloc(blocks * BLOCK * 4) };
  f32(set.b, blocks * BLOCK).fill(0);
  return set;
}

describe('chunking', () => {
  it('cuts [0, total) into chunks of `chunk` units, none empty, at most 4 per thread, one on one thread', () => {
    try {
      for (const threads of [1, 2, 3, 4]) {
        setNumThreads(threads);
        for (let total = 0; total <= 200; total++) {
          const { chunks, chunk } = chunking(total);
          expect(chunk).toBeGreaterThanOrEqual(1);
          expect(chunks).toBe(Math.max(1, Math.ceil(total / chunk)));
          if (total > 0) expect((chunks - 1) * chunk).toBeLessThan(total);
          expect(chunks).toBeLessThanOrEqual(threads === 1 ? 1 : 4 * threads);
        }
      }
    } finally {
      setNumThreads(3);
    }
    expect(JOB_BLOCKS.map((blocks) => chunking(blocks))).toEqual([
      { chunks: 2, chunk: 1 }, { chunks: 3, chunk: 1 }, { chunks: 12, chunk: 1 }, { chunks: 9, chunk: 3 },
    ]);
  });
});

describe('thread pool under stress', () => {
  it(`${JOBS.toLocaleString('en')} dispatches with random delays: every chunk on its own job's arguments, no watchdog slice runs out`, () => {
    scoped(() => {
      const sets = [buffers(), buffers()];
      expect(dispatch(sets[0], 3, 0)).toBe(true); // the helpers start here (a slice may run out meanwhile)
      setHelperJitter(JITTER);
      const jobs = poolStats.jobs;
      const slowSlices = poolStats.slowSlices;
      const withdrawn = poolStats.withdrawn;
      const started = performance.now();
      let random = 0x2545f491;
      const failures: number[] = [];
      for (let job = 1; job <= JOBS; job++) {
        random ^= random << 13; random ^= random >>> 17; random ^= random << 5;
        for (let i = (random >>> 8) % JITTER; i > 0; i--) random = Math.imul(random, 1103515245) + 12345;
        if (!dispatch(sets[job & 1], JOB_BLOCKS[random & 3], job) && failures.push(job) > 10) break;
      }
      const seconds = (performance.now() - started) / 1000;
      const offersWithdrawn = poolStats.withdrawn - withdrawn;
      console.info(`pool stress: ${poolStats.jobs - jobs} dispatches in ${seconds.toFixed(1)} s, ${offersWithdrawn} offers withdrawn, ${poolStats.slowSlices - slowSlices} watchdog slices ran out`);
      expect(failures).toEqual([]);
      expect(poolStats.jobs - jobs).toBe(JOBS);
      expect(poolStats.slowSlices - slowSlices).toBe(0);
      // Both ways a job's offer ends were taken: withdrawn by the calling thread (a helper still
      // descheduled or spinning in its jitter when every chunk was claimed) and taken by a helper
      // (every job wakes at least one, so fewer withdrawals than jobs means helpers took offers).
      expect(offersWithdrawn).toBeGreaterThan(0);
      expect(offersWithdrawn).toBeLessThan(JOBS);
    });
  }, 600_000);
});

describe('setThreadSpin', () => {
  it('takes a non-negative number of microseconds, rounded, and refuses anything else by name', () => {
    try {
      setThreadSpin(12.4);
      expect(getThreadSpin()).toBe(12);
      for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
        expect(() => setThreadSpin(bad)).toThrow(new RangeError(`setThreadSpin: expected a non-negative number of microseconds, got ${bad}`));
      }
      expect(getThreadSpin()).toBe(12);
    } finally {
      setThreadSpin(SPIN);
    }
  });
});

describe('thread pool errors', () => {
  /** The error `job` throws. */
  const errorOf = (job: () => void): Error => {
    try {
      job();
    } catch (error) {
      return error as Error;
    }
    throw new Error('the job did not throw');
  };

  it('a chunk that traps on a helper: parallelFor names the helper and the chunk, after the job, and the pool runs on', () => {
    scoped(() => {
      // 12 chunks of 16 blocks (~20 µs each), so that the helpers are up before the last is claimed.
      const blocks = 12 * 16;
      expect(chunking(blocks)).toEqual({ chunks: 12, chunk: 16 });
      const { b, y } = buffers(blocks);
      const set = buffers();
      // a's last block starts at the end of the memory: the chunk [176, 192) traps, whoever claims it.
      const a = runtime.memory.buffer.byteLength - (blocks - 1) * BLOCK * 4;
      let reported = 0;
      for (let attempt = 0; attempt < 50 && reported === 0; attempt++) {
        const error = errorOf(() => parallelFor(blocks, 'binaryArrays', [a, b, y, blocks * BLOCK, 0]));
        expect(dispatch(set, 12, 7 + attempt)).toBe(true);
        if (error instanceof WebAssembly.RuntimeError) continue; // the calling thread claimed it
        expect(error.message).toMatch(/^parallelFor\(binaryArrays\): helper thread [01] threw in its chunk \[176, 192\)/);
        reported++;
      }
      expect(reported).toBe(1);
    });
  });

  it('a chunk trapping on the calling thread: its error comes once the helpers are done, and the pool runs on', () => {
    scoped(() => {
      const set = buffers();
      // Three chunks of one block, each storing its first element past the end of the memory: the
      // calling thread's first claim traps (unless the helpers took all three first: then they report it).
      const y = runtime.memory.buffer.byteLength;
      const error = errorOf(() => parallelFor(3, 'binaryArrays', [set.a, set.b, y, 3 * BLOCK, 0]));
      if (!(error instanceof WebAssembly.RuntimeError)) expect(error.message).toMatch(/helper thread [01] threw in its chunk \[[012], [123]\)/);
      expect(dispatch(set, 3, 8)).toBe(true);
      expect(dispatch(set, 25, 9)).toBe(true);
    });
  });
});
