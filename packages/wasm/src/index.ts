// @parcnet/wasm: WASM SIMD kernels for float32, registered under the reference kernels' names.
import './kernels';
import './spatial';
import './reductions';

export { WASM } from './registration';
export { setNumThreads, getNumThreads, startThreads, setParallelThreshold, poolStats } from './threads';
export { wasmPath, wasmBuild, wasmMemoryBytes, wasmHeapStats, setWasmTensorLimit } from './runtime';
export type { HeapStats } from './heap';
