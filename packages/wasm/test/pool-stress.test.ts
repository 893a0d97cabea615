import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alloc, f32, runtime, scoped } from '../src/runtime.js';
import { getNumThreads, parallelFor, poolStats, setHelperJitter, setNumThreads, setParallelThreshold } from '../src/threads.js';

// The real pool under load: a million dispatches through parallelFor on 3 threads (2 helpers; on a
// 2-core machine they and the calling thread take turns), each job split across 1 or 2 helpers at
// random (the split that hung the generation-broadcast pool), helpers spinning a random while at
// every gap of their protocol and the calling thread between jobs. Each job writes its own number
// through the kernel and is checked as it returns, alternating between two sets of buffers, so a
// chunk run with another job's arguments, run late or not at all shows as a wrong number.

/** binaryArrays works in blocks of this many elements; one block per chunk. */
const BLOCK = 4096;
const JOBS = 1_000_000;
/** Upper bound of each random spin (xorshift steps; ~0.5 µs), helpers and calling thread alike. */
const JITTER = 500;

const initialThreads = getNumThreads();
beforeAll(() => {
  setNumThreads(3);
  setParallelThreshold(0, 0);
});
afterAll(() => {
  setHelperJitter(0);
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

function buffers(): { a: number; b: number; y: number } {
  const set = { a: alloc(3 * BLOCK * 4), b: alloc(3 * BLOCK * 4), y: alloc(3 * BLOCK * 4) };
  f32(set.b, 3 * BLOCK).fill(0);
  return set;
}

describe('thread pool under stress', () => {
  it(`${JOBS.toLocaleString('en')} dispatches with random delays: every chunk on its own job's arguments, no watchdog slice runs out`, () => {
    scoped(() => {
      const sets = [buffers(), buffers()];
      expect(dispatch(sets[0], 3, 0)).toBe(true); // the helpers start here (a slice may run out meanwhile)
      setHelperJitter(JITTER);
      const jobs = poolStats.jobs;
      const slowSlices = poolStats.slowSlices;
      const started = performance.now();
      let random = 0x2545f491;
      const failures: number[] = [];
      for (let job = 1; job <= JOBS; job++) {
        random ^= random << 13; random ^= random >>> 17; random ^= random << 5;
        for (let i = (random >>> 8) % JITTER; i > 0; i--) random = Math.imul(random, 1103515245) + 12345;
        if (!dispatch(sets[job & 1], 2 + (random & 1), job) && failures.push(job) > 10) break;
      }
      const seconds = (performance.now() - started) / 1000;
      console.info(`pool stress: ${poolStats.jobs - jobs} dispatches in ${seconds.toFixed(1)} s, ${poolStats.slowSlices - slowSlices} watchdog slices ran out`);
      expect(failures).toEqual([]);
      expect(poolStats.jobs - jobs).toBe(JOBS);
      expect(poolStats.slowSlices - slowSlices).toBe(0);
    });
  }, 600_000);
});

describe('thread pool errors', () => {
  // A block that ends exactly at the end of the memory: the next one traps (out of bounds).
  const lastBlock = (): number => runtime.memory.buffer.byteLength - BLOCK * 4;

  it('a chunk that traps on a helper: parallelFor says which helper, after the job, and the pool runs on', () => {
    scoped(() => {
      const set = buffers();
      const a = lastBlock(); // chunk 0 (this thread) reads a's last block; chunk 1 (helper 0) reads past the end
      expect(() => parallelFor(2, 'binaryArrays', [a, set.b, set.y, 2 * BLOCK, 0])).toThrow(/helper thread 0 threw in its chunk \[1, 2\)/);
      expect(dispatch(set, 3, 7)).toBe(true);
    });
  });

  it('chunk 0 trapping on the calling thread: its error comes once the helpers are done, and the pool runs on', () => {
    scoped(() => {
      const set = buffers();
      // One element: chunk 0 stores it past the end of memory; the helpers' chunks (blocks 1, 2) are empty.
      const y = runtime.memory.buffer.byteLength;
      expect(() => parallelFor(3, 'binaryArrays', [set.a, set.b, y, 1, 0])).toThrow(WebAssembly.RuntimeError);
      expect(dispatch(set, 3, 8)).toBe(true);
    });
  });
});
