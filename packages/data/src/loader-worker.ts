// Worker thread of the DataLoader: makes the batches it is asked for from the shared pixel block.
import { parentPort, workerData } from 'node:worker_threads';
import { makeBatch, type BatchSource } from './batch.js';

interface BatchJob { id: number; indices: Int32Array; epoch: number; firstPosition: number }

const source = workerData as BatchSource;
parentPort!.on('message', (job: BatchJob) => {
  try {
    const batch = makeBatch(source, job.indices, job.epoch, job.firstPosition);
    parentPort!.postMessage({ id: job.id, ...batch }, [batch.data.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort!.postMessage({ id: job.id, error: (e as Error).message });
  }
});
