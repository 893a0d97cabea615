// @parcnet/wasm: WASM SIMD kernels for float32, registered under the reference kernels' names.
import './kernels';

export { WASM } from './kernels';
export { setNumThreads, getNumThreads, startThreads, setParallelThreshold, poolStats } from './threads';
export { wasmPath, wasmBuild, wasmMemoryBytes, wasmHeapStats, setWasmTensorLimit } from './runtime';
export type { HeapStats } from './heap';
