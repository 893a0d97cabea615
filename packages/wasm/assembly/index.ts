// The WASM SIMD kernels of parcnet (float32). Compiled by build.mjs with AssemblyScript.
export { gemm, packPanels, packPanelsTransposed, packRows } from './gemm';
export { depthwise, depthwiseBackpropInput, depthwiseBackpropFilter, convImages, convBackpropInputImages, convBackpropFilterImages, packBatchPanels, packBatchTransposed, unbatchColumns, feedForward, feedForwardScratchBytes } from './conv';
export { depthwise3x3, depthwise3x3BackpropInput, depthwise3x3BackpropFilterSlices, depthwise3x3ScratchBytes, invertedResidual, invertedResidualScratchBytes } from './depthwise3x3';
export { winogradInput, winogradGradOutput, winogradGemms, winogradOutput, winogradInputAdjoint, winogradFilter, winogradFilterAdjoint, winogradScratchBytes } from './winograd';
export { parcGather, parcMixer, parcConvBackpropKernelSlices, parcScratchBytes } from './parc';
export { silu, siluGrad, sigmoid, sigmoidGrad, hardswish, hardswishGrad, hardsigmoid, hardsigmoidGrad } from './activation';
export { bnStats, bnStatsTotal, bnApply, bnBackwardSums, bnBackwardTotal, bnBackwardApply } from './batchnorm';
export { binaryArrays, binaryStrided, copyView, sliceGrad, concatRows, zeroBytes } from './elementwise';
export { avgPool, avgPoolGrad, maxPool, maxPoolGrad, adaptiveAvgPool, adaptiveAvgPoolGrad } from './pool';
export { resizeBilinear, resizeBilinearGrad } from './resize';
export { softmax, softmaxGrad } from './softmax';
export { sumReduce, sumReduceSplit, sliceTotals } from './reduce';
export { dropoutMask } from './random';
export { adamStep } from './optim';
