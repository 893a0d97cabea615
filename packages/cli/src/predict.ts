import { readFileSync, existsSync } from 'node:fs';
import { noGrad } from '@parcnet/autograd';
import { argmax, FormatError, softmax } from '@parcnet/tensor';
import { bgrBatch, classifierInput, decodeImage, resizeBilinear, toFloatImage, type RgbImage } from '@parcnet/data';
import type { WeightsInfo } from '@parcnet/train';
import { ssdAnchors, ssdPredict } from '@parcnet/detection';
import { resizeMask } from '@parcnet/segmentation';
import type { SsdLite } from '@parcnet/models';
import type { Module } from '@parcnet/nn';
import { writeFileAtomic } from '@parcnet/io';
import { drawDetections, drawSegmentation } from './draw.js';
import { numberFlag, type Flags } from './flags.js';
import { modelFromWeights } from './weights.js';

const TASKS = ['classify', 'detect', 'segment'] as const;
type Task = (typeof TASKS)[number];

export async function predictCommand(flags: Flags, positionals: string[]): Promise<void> {
  const [file] = positionals;
  if (!file) throw new FormatError('predict: give an image file: parcnet predict <image> --weights <file>');
  if (!existsSync(file)) throw new FormatError(`predict: ${file}: no such file`);
  const { model, info } = await modelFromWeights('predict', flags);
  const task = (flags.task ?? info.task ?? 'classify') as Task;
  if (!TASKS.includes(task)) throw new FormatError(`predict: --task must be one of ${TASKS.join(', ')}, got ${JSON.stringify(flags.task)}`);
  const weightsTask = info.task ?? 'classify';
  if (task !== weightsTask) throw new FormatError(`predict: ${flags.weights} holds a ${info.model} for the task "${weightsTask}", not "${task}"`);
  const image = decodeImage(new Uint8Array(readFileSync(file)), file);
  if (task === 'classify') return classify(flags, file, model, info, image);
  const out = typeof flags.out === 'string' ? flags.out : file.replace(/\.[^./]+$/, '') + (task === 'detect' ? '.detections.png' : '.segmentation.png');
  if (out === file) throw new FormatError(`predict: --out ${out} would overwrite the input image`);
  if (task === 'detect') {
    const [size] = info.input_size;
    const threshold = numberFlag(flags, 'threshold') ?? 0.3;
    const found = ssdPredict(model as SsdLite, toFloatImage(image), ssdAnchors(size), { size, scoreThreshold: threshold });
    await writeFileAtomic(out, drawDetections(image, found, info.classes));
    if (flags.json) console.log(JSON.stringify({ image: file, out, detections: found.map((d) => ({ ...d, class: info.classes[d.label] })) }));
    else {
      for (const d of found) console.log(`${d.score.toFixed(3)}  ${(info.classes[d.label] ?? String(d.label)).padEnd(16)} [${d.box.map((v) => v.toFixed(1)).join(', ')}]`);
      console.log(`${found.length} detections with score ≥ ${threshold}; drawn in ${out}`);
    }
    return;
  }
  const [height, width] = info.input_size;
  const input = resizeBilinear(toFloatImage(image), height, width);
  const labels = Uint8Array.from(noGrad(() => argmax(model.forward(bgrBatch([input])), 1)).toTypedArray()); // per-pixel class
  const full = resizeMask(labels, height, width, image.height, image.width);
  await writeFileAtomic(out, drawSegmentation(image, full, info.classes));
  const counts = new Map<number, number>();
  for (const c of full) if (c !== 0) counts.set(c, (counts.get(c) ?? 0) + 1);
  const shares = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([c, n]) => ({ class: info.classes[c], share: n / full.length }));
  if (flags.json) console.log(JSON.stringify({ image: file, out, classes: shares }));
  else {
    for (const s of shares) console.log(`${(100 * s.share).toFixed(1).padStart(5)}%  ${s.class}`);
    console.log(`drawn in ${out}`);
  }
}

function classify(flags: Flags, file: string, model: Module, info: WeightsInfo, image: RgbImage): void {
  const probabilities = noGrad(() => softmax(model.forward(classifierInput(image, info.input_size, info.transforms)), 1)).toTypedArray();
  const top = Math.min(numberFlag(flags, 'top', true) ?? 5, probabilities.length);
  const ranked = Array.from(probabilities, (p, index) => ({ index, label: info.classes[index] ?? String(index), probability: p }))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, top);
  if (flags.json) console.log(JSON.stringify({ image: file, top: ranked }));
  else for (const r of ranked) console.log(`${(100 * r.probability).toFixed(2).padStart(6)}%  ${r.label}`);
}
