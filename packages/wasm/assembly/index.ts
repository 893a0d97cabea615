// The WASM SIMD kernels of parcnet (float32). Compiled by build.mjs with AssemblyScript.
export { gemm, packPanels, packPanelsTransposed, packRows } from './gemm';
export { depthwise, depthwise3x3, depthwiseBackpropInput, depthwiseBackpropFilter, convImages, convBackpropInputImages, convBackpropFilterImages } from './conv';
export { parcConv, parcConvBackpropInput, parcConvBackpropKernel } from './parc';
export { silu, siluGrad, sigmoid, sigmoidGrad, hardswish, hardswishGrad, hardsigmoid, hardsigmoidGrad } from './activation';
export { bnStats, bnApply, bnBackward } from './batchnorm';
export { binaryArrays, gather } from './elementwise';
