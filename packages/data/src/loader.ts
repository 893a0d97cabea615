import type { Worker } from 'node:worker_threads';
import { FormatError, Generator, Tensor } from '@parcnet/tensor';
import { makeBatch, type BatchSource } from './batch.js';
import type { ImageDataset } from './dataset.js';
import { DEFAULT_DATA_WORKERS, startWorker } from './threads.js';
import type { TransformSpec } from './transforms.js';

/** Options of {@link DataLoader}. */
export interface DataLoaderOptions {
  /** Images per batch, a positive integer (the last batch may be smaller unless `dropLast`). */
  batchSize: number;
  /** Reshuffle every epoch (seeded by seed and epoch); default false. */
  shuffle?: boolean;
  /** Drop the last batch when it is smaller than batchSize; default false. */
  dropLast?: boolean;
  /** Seed of the shuffle and of every image's augmentation; default 0. */
  seed?: number;
  /** Per-image pipeline, applied in order; default none (images come out as float 0…255). */
  transforms?: TransformSpec[];
  /** Worker threads making batches (default 1); 0 makes them on the calling thread. */
  workers?: number;
  /** Batches made ahead of the one being consumed (default 2). */
  prefetch?: number;
}

/** One batch from {@link DataLoader.epoch}. */
export interface Batch {
  /** [B, 3, H, W] float32. */
  images: Tensor;
  /** [B] int32 class indices. */
  labels: Tensor;
  /** Position of the batch in its epoch, from 0. */
  index: number;
}

interface BatchResult { data: Float32Array; height: number; width: number }

/**
 * Batches of transformed images, like torch.utils.data.DataLoader. The epoch's order is a seeded
 * permutation of (seed, epoch), and each image's augmentation is seeded by (seed, epoch, position),
 * so a run is reproducible and can resume in the middle of an epoch. Worker threads make the next
 * `prefetch` batches while the current one trains; `stats.waitMs` measures the time the consumer
 * still had to wait.
 */
export class DataLoader {
  /** Images per batch (`options.batchSize`). */
  readonly batchSize: number;
  /** Counters since construction, over every epoch. */
  readonly stats = {
    /** Milliseconds the consumer waited for batches not yet made. */
    waitMs: 0,
    /** Batches delivered. */
    batches: 0,
  };
  private readonly source: BatchSource;
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, { resolve: (b: BatchResult) => void; reject: (e: Error) => void }>();
  private nextJob = 0;

  /**
   * Starts `options.workers` worker threads (default 1); call {@link DataLoader.close} to stop them.
   * @param dataset The images to batch; its pixel block is shared with the workers, not copied.
   * @param options Batch size, shuffling, seed, transforms, threads and prefetch.
   */
  constructor(readonly dataset: ImageDataset, readonly options: DataLoaderOptions) {
    if (!Number.isInteger(options.batchSize) || options.batchSize < 1) throw new FormatError(`DataLoader: batchSize must be a positive integer, got ${options.batchSize}`);
    if (dataset.length === 0) throw new FormatError(`DataLoader: dataset ${dataset.name} is empty`);
    this.batchSize = options.batchSize;
    this.source = { images: dataset.images, height: dataset.height, width: dataset.width, transforms: options.transforms ?? [], seed: options.seed ?? 0 };
    const workers = options.workers ?? DEFAULT_DATA_WORKERS;
    for (let w = 0; w < workers; w++) {
      const worker = startWorker('loader-worker', { ...this.source });
      worker.on('message', (m: BatchResult & { id: number; error?: string }) => {
        const job = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (m.error) job?.reject(new FormatError(m.error));
        else job?.resolve(m);
      });
      worker.on('error', (e) => {
        for (const job of this.pending.values()) job.reject(e);
        this.pending.clear();
      });
      this.workers.push(worker);
    }
  }

  /** Batches in one epoch: ⌈length / batchSize⌉, or ⌊length / batchSize⌋ with `dropLast`. */
  get batchesPerEpoch(): number {
    const n = this.dataset.length / this.batchSize;
    return this.options.dropLast ? Math.floor(n) : Math.ceil(n);
  }

  /** The epoch's image order: identity, or a Fisher–Yates shuffle seeded by (seed, epoch). */
  order(epoch: number): Int32Array {
    const order = Int32Array.from({ length: this.dataset.length }, (_, i) => i);
    if (!this.options.shuffle) return order;
    const rng = new Generator(this.source.seed * 1_000_003 + epoch * 7919 + 1);
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.integer(0, i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    return order;
  }

  /** The batches of `epoch`, from batch `startBatch` on (to resume inside an epoch). */
  async *epoch(epoch: number, startBatch = 0): AsyncGenerator<Batch> {
    const order = this.order(epoch);
    const total = this.batchesPerEpoch;
    const prefetch = Math.max(1, this.options.prefetch ?? 2);
    const inFlight: Promise<BatchResult>[] = [];
    let next = startBatch;
    const request = (b: number): Promise<BatchResult> => {
      const first = b * this.batchSize;
      const indices = order.slice(first, Math.min(first + this.batchSize, order.length));
      const made = this.make(indices, epoch, first);
      made.catch(() => undefined); // a batch made ahead and never awaited (loop left early) must not crash the process
      return made;
    };
    for (let b = startBatch; b < total; b++) {
      while (next < total && next <= b + prefetch) inFlight.push(request(next++));
      const started = performance.now();
      const result = await inFlight.shift()!;
      this.stats.waitMs += performance.now() - started;
      this.stats.batches++;
      const first = b * this.batchSize;
      const labels = Int32Array.from(order.subarray(first, first + this.batchSize), (i) => this.dataset.labels[i]);
      yield {
        images: new Tensor(result.data, [labels.length, 3, result.height, result.width]),
        labels: new Tensor(labels, [labels.length]),
        index: b,
      };
    }
  }

  private make(indices: Int32Array, epoch: number, firstPosition: number): Promise<BatchResult> {
    if (this.workers.length === 0) {
      try {
        return Promise.resolve(makeBatch(this.source, indices, epoch, firstPosition));
      } catch (e) {
        return Promise.reject(e as Error);
      }
    }
    const id = this.nextJob++;
    const worker = this.workers[id % this.workers.length];
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, indices, epoch, firstPosition });
    });
  }

  /** Stops the worker threads. */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers.length = 0;
  }
}
