import { Worker } from 'node:worker_threads';

/** Starts a worker thread running the TypeScript module `entry` (a file URL) with `data` as its workerData. */
export function startWorker(entry: URL, data: Record<string, unknown>): Worker {
  const worker = new Worker(new URL('./worker-boot.mjs', import.meta.url), { workerData: { ...data, entry: entry.href } });
  worker.unref();
  return worker;
}

/** Data workers to use by default: one, since the WASM kernels already keep every core busy. */
export const DEFAULT_DATA_WORKERS = 1;
