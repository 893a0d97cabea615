import { exportOnnx, saveSafetensors, saveTorch } from '@parcnet/io';
import { createModel, modelNames } from '@parcnet/models';
import { FormatError, randn, type Tensor } from '@parcnet/tensor';
import { loadWeights } from '@parcnet/train';
import { readWeightsFile } from './info.js';
import { numberFlag, type Flags } from './main.js';

/** Keys whose first dimension is the number of classes, by model family. */
const HEAD_KEYS = ['classifier.fc.weight', 'classifier.1.weight', 'fc.weight', 'head.weight'];

/**
 * Rebuilds a zoo model from weights (a parcnet weights file or checkpoint, an official .pt or a
 * safetensors state dict), loads them strictly, and writes them in another format.
 */
export async function exportCommand(flags: Flags): Promise<void> {
  const format = (flags.format as string | undefined) ?? 'safetensors';
  if (typeof flags.weights !== 'string') throw new FormatError('export: --weights <file> is required');
  if (typeof flags.out !== 'string') throw new FormatError('export: --out <file> is required');
  if (format !== 'safetensors' && format !== 'pt' && format !== 'onnx') throw new FormatError(`export: --format must be safetensors, pt or onnx, got ${format}`);

  let state: Record<string, Tensor>;
  let modelName = flags.model as string | undefined;
  let cifarStem = flags['cifar-stem'] === true;
  let numClasses = numberFlag(flags, 'num-classes', true);
  let inputSize: [number, number] | undefined;
  if (typeof flags['input-size'] === 'string') {
    const parts = flags['input-size'].split(/[x×,]/).map(Number);
    if (!(parts.length === 1 || parts.length === 2) || !parts.every((v) => Number.isInteger(v) && v > 0)) {
      throw new FormatError(`export: --input-size must be N or HxW in pixels, got ${JSON.stringify(flags['input-size'])}`);
    }
    inputSize = [parts[0], parts[parts.length - 1]];
  }
  // A parcnet weights file or checkpoint says which model it is for; other files need --model.
  const described = flags.weights.endsWith('.safetensors') ? await loadWeights(flags.weights).catch(() => null) : null;
  if (described?.info) {
    state = described.state;
    modelName ??= described.info.model;
    cifarStem ||= described.info.cifar_stem;
    numClasses ??= described.info.num_classes;
    inputSize ??= described.info.input_size;
  } else {
    state = (await readWeightsFile(flags.weights)).tensors;
  }
  if (!modelName) throw new FormatError(`export: ${flags.weights} does not say which model it is for; give --model (${modelNames.join(', ')})`);
  numClasses ??= HEAD_KEYS.map((k) => state[k] ?? state[`module.${k}`]).find((t) => t !== undefined)?.shape[0];
  if (!numClasses) throw new FormatError(`export: cannot tell the number of classes of ${flags.weights}; give --num-classes`);
  const model = createModel(modelName, { numClasses, cifarStem });
  const report = model.loadStateDict(state);
  const out = flags.out;
  if (format === 'onnx') {
    // ParC resamples its kernels to the input size, so an ONNX graph is made for one size (spec §2.2).
    const [height, width] = inputSize ?? (modelName.startsWith('parc-') ? [224, 224] : [256, 256]);
    const batch = numberFlag(flags, 'batch', true) ?? 1;
    const info = await exportOnnx(model, randn([batch, 3, height, width], { seed: 0 }), out, { opset: numberFlag(flags, 'opset', true) });
    const nodes = Object.values(info.nodes).reduce((a, b) => a + b, 0);
    console.log(
      `${modelName} (${numClasses} classes${cifarStem ? ', CIFAR stem' : ''}): loaded ${Object.keys(state).length} tensors` +
        (report.aliasKeys.length > 0 ? ` (${report.aliasKeys.length} aliases checked equal)` : '') +
        `; wrote ${out} (ONNX opset ${info.opset}, input [${info.inputShape.join(', ')}] → output [${info.outputShape.join(', ')}], ${nodes} nodes, ${(info.bytes / 1e6).toFixed(1)} MB)`,
    );
    return;
  }
  if (format === 'pt') await saveTorch(out, model.stateDict());
  else await saveSafetensors(out, model.stateDict(), { int64Keys: (k) => k.endsWith('num_batches_tracked') });
  console.log(
    `${modelName} (${numClasses} classes${cifarStem ? ', CIFAR stem' : ''}): loaded ${Object.keys(state).length} tensors` +
      (report.aliasKeys.length > 0 ? ` (${report.aliasKeys.length} aliases checked equal)` : '') +
      `, wrote ${Object.keys(model.stateDict()).length} to ${out} (${format})`,
  );
}
