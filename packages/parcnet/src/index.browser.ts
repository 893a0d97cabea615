// parcnet in a browser: the same API as in Node for tensors, autograd, nn, ParC, the model zoo,
// weights (from bytes) and image transforms, with the WASM SIMD kernels (on Web Workers when the
// page is cross-origin isolated). Training loops with checkpoints, datasets on disk, detection and
// segmentation training, and the CLI need Node and are left out.
export * from './core.js';
