// @parcnet/wasm in a browser: the same kernels; the module was instantiated asynchronously by the
// platform adapter, and the helper Web Workers are started here, before anything can call a kernel
// (a browser starts a worker only while its creator is free to hand it its script).
import { getNumThreads, startThreads } from './threads.js';

export * from './index.js';

await startThreads(getNumThreads());
