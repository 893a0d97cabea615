// Entry of every data worker thread. Built, the worker modules are JavaScript and are imported as
// they are. From the TypeScript sources (tests, tsx), worker threads do not inherit the main
// thread's loader, so tsx (a development dependency) is registered first.
import { workerData } from 'node:worker_threads';

if (workerData.entry.endsWith('.ts')) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import(workerData.entry);
