// What parcnet offers everywhere, in Node and in a browser: tensor ops and autograd at the top level
// (like torch), the WASM kernel controls, and autograd, nn, parc, models, io, data as namespaces
// (`autograd.Function` is torch.autograd.Function; autograd's names are also at the top level). In a
// bundler, `@parcnet/data` and `@parcnet/io` resolve to their browser builds (no file system).
export * from '@parcnet/tensor';
export * from '@parcnet/autograd';
export * as autograd from '@parcnet/autograd';
export { setNumThreads, getNumThreads, startThreads, setThreadSpin, setWasmTensorLimit, wasmHeapStats, resetWasmHeapPeak, wasmMemoryBytes, wasmBuild, WASM } from '@parcnet/wasm';
export * as nn from '@parcnet/nn';
export * as parc from '@parcnet/parc';
export * as models from '@parcnet/models';
export * as io from '@parcnet/io';
export * as data from '@parcnet/data';
