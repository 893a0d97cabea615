import { availableParallelism } from 'node:os';
import { FormatError } from '@parcnet/tensor';
import { balancedSubset, DataLoader, loadCifar10, loadCifar100 } from '@parcnet/data';
import { evaluateClassifier, type WeightsInfo } from '@parcnet/train';
import { cocoSplit, evaluateSsd, ssdAnchors } from '@parcnet/detection';
import { evaluateSegmentation, loadSegmentationSplit } from '@parcnet/segmentation';
import type { SsdLite } from '@parcnet/models';
import type { Module } from '@parcnet/nn';
import { setNumThreads } from '@parcnet/wasm';
import { numberFlag, type Flags } from './flags.js';
import { modelFromWeights } from './weights.js';

export async function evalCommand(flags: Flags): Promise<void> {
  setNumThreads(numberFlag(flags, 'threads', true) ?? availableParallelism());
  const dataset = (flags.dataset as string | undefined) ?? 'cifar10';
  const datasetClasses = dataset === 'cifar100' ? 100 : 10;
  const { model, info } = await modelFromWeights('eval', flags, datasetClasses);
  if (info.task === 'detect' || info.task === 'segment') {
    if (flags['flip-tta']) throw new FormatError(`eval: --flip-tta is for classifiers; ${flags.weights} is a ${info.task === 'detect' ? 'detector' : 'segmenter'}`);
    return evalCocoTask(flags, model, info);
  }
  if (dataset !== 'cifar10' && dataset !== 'cifar100') throw new FormatError(`eval: --dataset must be cifar10 or cifar100, got ${dataset}`);
  const load = dataset === 'cifar100' ? loadCifar100 : loadCifar10;
  let test = await load({ split: 'test', data: flags.data as string | undefined });
  const count = numberFlag(flags, 'val-images', true);
  if (count !== undefined) test = balancedSubset(test, count);
  if (info.classes.length > 0 && info.classes.join() !== test.classes.join()) {
    throw new FormatError(`eval: ${flags.weights} was trained on classes [${info.classes.join(', ')}], ${dataset} has [${test.classes.join(', ')}]`);
  }
  const loader = new DataLoader(test, { batchSize: numberFlag(flags, 'batch-size', true) ?? 250, transforms: info.transforms });
  try {
    const flipTta = flags['flip-tta'] === true;
    const result = await evaluateClassifier(model, loader, undefined, { flipTta });
    const summary = { top1: result.top1, top5: result.top5, loss: result.loss, images: result.images, seconds: result.seconds, images_per_second: result.images / result.seconds, flip_tta: flipTta };
    if (flags.json) console.log(JSON.stringify(summary));
    else console.log(`${test.name}: ${result.images} images, top-1 ${(100 * result.top1).toFixed(2)}%, top-5 ${(100 * result.top5).toFixed(2)}%, loss ${result.loss.toFixed(4)}${flipTta ? ' (with the flipped image)' : ''} (${summary.images_per_second.toFixed(1)} img/s)`);
  } finally {
    await loader.close();
  }
}

/**
 * A detector (COCO box metrics) or a segmenter (mIoU, mAcc, pixel accuracy) on one split of a
 * COCO-format folder: --data (default $PARCNET_DATA/coco-tiny), --split (default val2017).
 */
async function evalCocoTask(flags: Flags, model: Module, info: WeightsInfo): Promise<void> {
  const split = (flags.split as string | undefined) ?? 'val2017';
  const data = (flags.data as string | undefined) ?? null;
  const started = performance.now();
  let metrics: Record<string, number>;
  let images: number;
  if (info.task === 'detect') {
    const coco = cocoSplit(data, split, false);
    const [size] = info.input_size;
    metrics = { ...evaluateSsd(model as SsdLite, coco, ssdAnchors(size), { size }).metrics };
    images = coco.imageIds.length;
  } else {
    const samples = loadSegmentationSplit(data, split);
    metrics = { ...evaluateSegmentation(model, samples, info.num_classes, info.input_size[0]) };
    images = samples.samples.length;
  }
  const seconds = (performance.now() - started) / 1000;
  if (flags.json) {
    console.log(JSON.stringify({ split, images, ...metrics, seconds }));
    return;
  }
  // A segmenter's `_resized` metrics (prediction and mask at the input size) go on a second line
  // under the official figures (at each image's original size).
  const list = (entries: [string, number][]): string => entries.map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ');
  const entries = Object.entries(metrics);
  const resized = entries.filter(([k]) => k.endsWith('_resized'));
  const main = entries.filter(([k]) => !k.endsWith('_resized'));
  const where = resized.length > 0 ? ' at the original image sizes' : '';
  console.log(`${split}: ${images} images, ${list(main)}${where} (${seconds.toFixed(1)} s)`);
  if (resized.length > 0) {
    console.log(`${split} at ${info.input_size.join('×')}: ${list(resized.map(([k, v]) => [k.slice(0, -'_resized'.length), v]))} (prediction and mask at the model's input size)`);
  }
}
