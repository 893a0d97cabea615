import { Worker } from 'node:worker_threads';

// The worker modules sit beside this one: .ts files when running from the sources, .js when built.
const moduleExtension = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

/** Starts a worker thread running the sibling module `name` (`loader-worker`, `decode-worker`) with `data` as its workerData. */
export function startWorker(name: string, data: Record<string, unknown>): Worker {
  const entry = new URL(`./${name}${moduleExtension}`, import.meta.url);
  const worker = new Worker(new URL('./worker-boot.mjs', import.meta.url), { workerData: { ...data, entry: entry.href } });
  worker.unref();
  return worker;
}

/** Data workers to use by default: one, since the WASM kernels already keep every core busy. */
export const DEFAULT_DATA_WORKERS = 1;
