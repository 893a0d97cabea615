// Entry of every data worker thread. Worker threads do not inherit the TypeScript loader of the
// main thread, so this plain module registers tsx and then imports the TypeScript entry it was given.
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
await import(workerData.entry);
