// Worker thread: decodes one range of image files straight into the shared dataset block.
import { parentPort, workerData } from 'node:worker_threads';
import { decodeRange, type DecodeJob } from './decode-range.js';

try {
  decodeRange(workerData as DecodeJob);
  parentPort!.postMessage({ ok: true });
} catch (e) {
  parentPort!.postMessage({ ok: false, message: (e as Error).message });
}
