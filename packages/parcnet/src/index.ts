// parcnet: one import for the whole framework. Tensor ops and autograd at the top level (like
// torch), the other packages as namespaces: nn, parc, models, io, data, train, detection,
// segmentation.
// Importing it also activates the WASM SIMD kernels (float32) and their thread pool.
export * from '@parcnet/tensor';
export * from '@parcnet/autograd';
export { setNumThreads, getNumThreads, startThreads, setWasmTensorLimit, wasmHeapStats, WASM } from '@parcnet/wasm';
export * as nn from '@parcnet/nn';
export * as parc from '@parcnet/parc';
export * as models from '@parcnet/models';
export * as io from '@parcnet/io';
export * as data from '@parcnet/data';
export * as train from '@parcnet/train';
export * as detection from '@parcnet/detection';
export * as segmentation from '@parcnet/segmentation';
