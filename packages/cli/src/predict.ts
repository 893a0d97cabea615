import { readFileSync, existsSync } from 'node:fs';
import { noGrad } from '@parcnet/autograd';
import { FormatError, Generator, softmax, Tensor } from '@parcnet/tensor';
import { applyTransforms, decodeImage, resizeBilinear } from '@parcnet/data';
import { loadWeights } from '@parcnet/train';
import { numberFlag, type Flags } from './main';
import { buildFromWeights } from './weights';

export async function predictCommand(flags: Flags, positionals: string[]): Promise<void> {
  const [file] = positionals;
  if (!file) throw new FormatError('predict: give an image file: parcnet predict <image> --weights <file>');
  if (typeof flags.weights !== 'string') throw new FormatError('predict: --weights <file> is required');
  if (!existsSync(file)) throw new FormatError(`predict: ${file}: no such file`);
  const { model, info } = buildFromWeights(flags.weights, await loadWeights(flags.weights, { ema: flags.ema === true }));
  let image = decodeImage(new Uint8Array(readFileSync(file)), file);
  const [height, width] = info.input_size;
  if (image.height !== height || image.width !== width) image = resizeBilinear(image, height, width);
  const input = applyTransforms(image, info.transforms, new Generator(0));
  const probabilities = noGrad(() => softmax(model.forward(new Tensor(input.data, [1, 3, input.height, input.width])), 1)).toTypedArray();
  const top = Math.min(numberFlag(flags, 'top', true) ?? 5, probabilities.length);
  const ranked = Array.from(probabilities, (p, index) => ({ index, label: info.classes[index] ?? String(index), probability: p }))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, top);
  if (flags.json) console.log(JSON.stringify({ image: file, top: ranked }));
  else for (const r of ranked) console.log(`${(100 * r.probability).toFixed(2).padStart(6)}%  ${r.label}`);
}
