/**
 * WASM SIMD kernels for float32, registered under the reference kernels' names.
 *
 * @packageDocumentation
 * @module @parcnet/wasm
 */
import './kernels.js';
export { setWinograd } from './kernels.js';
import './spatial.js';
import './reductions.js';
import './random.js';
import './optim.js';

export { WASM } from './registration.js';
export { setNumThreads, getNumThreads, startThreads, setParallelThreshold, setThreadSpin, poolStats } from './threads.js';
export { wasmPath, wasmBuild, wasmMemoryBytes, wasmHeapStats, resetWasmHeapPeak, setWasmTensorLimit } from './runtime.js';
export type { HeapStats } from './heap.js';
