// A kernel helper thread in Node: its data arrives as workerData.
import { workerData } from 'node:worker_threads';
import { serve } from './worker-loop.mjs';

serve(workerData);
