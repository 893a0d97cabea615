/**
 * Weights in and out.
 *
 * @packageDocumentation
 * @module @parcnet/io
 */
export { loadSafetensors, parseSafetensors, saveSafetensors, serializeSafetensors, type SafetensorsFile, type SaveOptions } from './safetensors.js';
export { loadTorch, parseTorch, saveTorch, serializeTorch } from './torch.js';
export { loadWeightsFile, type WeightsFile } from './weights-file.js';
export { writeFileAtomic } from '#files';
export { exportOnnx, serializeOnnx, type OnnxExportable, type OnnxExportOptions, type OnnxExportInfo } from './onnx/export.js';
