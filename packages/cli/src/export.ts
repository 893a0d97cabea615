import { exportOnnx, saveSafetensors, saveTorch } from '@parcnet/io';
import { FormatError, randn } from '@parcnet/tensor';
import { numberFlag, type Flags } from './flags.js';
import { modelFromWeights } from './weights.js';

/**
 * Rebuilds a zoo model from weights (a parcnet weights file or checkpoint, an official .pt or a
 * safetensors state dict), loads them strictly, and writes them in another format.
 */
export async function exportCommand(flags: Flags): Promise<void> {
  const format = (flags.format as string | undefined) ?? 'safetensors';
  if (typeof flags.weights !== 'string') throw new FormatError('export: --weights <file> is required');
  if (typeof flags.out !== 'string') throw new FormatError('export: --out <file> is required');
  if (format !== 'safetensors' && format !== 'pt' && format !== 'onnx') throw new FormatError(`export: --format must be safetensors, pt or onnx, got ${format}`);

  let inputSize: [number, number] | undefined;
  if (typeof flags['input-size'] === 'string') {
    const parts = flags['input-size'].split(/[x×,]/).map(Number);
    if (!(parts.length === 1 || parts.length === 2) || !parts.every((v) => Number.isInteger(v) && v > 0)) {
      throw new FormatError(`export: --input-size must be N or HxW in pixels, got ${JSON.stringify(flags['input-size'])}`);
    }
    inputSize = [parts[0], parts[parts.length - 1]];
  }
  const { model, info, state, aliasKeys, described } = await modelFromWeights('export', flags);
  const { model: modelName, num_classes: numClasses, cifar_stem: cifarStem } = info;
  // Only a file written by parcnet train knows its training size; bare weights take the zoo's default.
  const trainedSize = described ? info.input_size : undefined;
  const out = flags.out;
  if (format === 'onnx') {
    // ParC resamples its kernels to the input size, so an ONNX graph is made for one size (spec §2.2).
    const [height, width] = inputSize ?? trainedSize ?? (modelName.startsWith('parc-') ? [224, 224] : [256, 256]);
    const batch = numberFlag(flags, 'batch', true) ?? 1;
    const graph = await exportOnnx(model, randn([batch, 3, height, width], { seed: 0 }), out, { opset: numberFlag(flags, 'opset', true) });
    const nodes = Object.values(graph.nodes).reduce((a, b) => a + b, 0);
    console.log(
      `${modelName} (${numClasses} classes${cifarStem ? ', CIFAR stem' : ''}): loaded ${Object.keys(state).length} tensors` +
        (aliasKeys.length > 0 ? ` (${aliasKeys.length} aliases checked equal)` : '') +
        `; wrote ${out} (ONNX opset ${graph.opset}, input [${graph.inputShape.join(', ')}] → output [${graph.outputShape.join(', ')}], ${nodes} nodes, ${(graph.bytes / 1e6).toFixed(1)} MB)`,
    );
    return;
  }
  if (format === 'pt') await saveTorch(model.stateDict(), out);
  else await saveSafetensors(model.stateDict(), out, { int64Keys: (k) => k.endsWith('num_batches_tracked') });
  console.log(
    `${modelName} (${numClasses} classes${cifarStem ? ', CIFAR stem' : ''}): loaded ${Object.keys(state).length} tensors` +
      (aliasKeys.length > 0 ? ` (${aliasKeys.length} aliases checked equal)` : '') +
      `, wrote ${Object.keys(model.stateDict()).length} to ${out} (${format})`,
  );
}
