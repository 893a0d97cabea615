// A kernel helper thread in Node: its data arrives as workerData; the message says it is up (startThreads waits for it).
import { parentPort, workerData } from 'node:worker_threads';
import { serve } from './worker-loop.mjs';

parentPort.postMessage('ready');
serve(workerData);
