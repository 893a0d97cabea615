import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FormatError, Tensor } from '@parcnet/tensor';
import { crossEntropy, type Module } from '@parcnet/nn';
import { createModel } from '@parcnet/models';
import { bgrBatch, cocoSplitFiles, decodeImage, loadCocoInstances, toFloatImage, type CocoInstances } from '@parcnet/data';
import {
  checkPositiveInteger, checkSharedConfig, configError, DEFAULT_CONFIG, epochGenerator, epochOrder, mergeConfig, trainTask,
  type PlotSeries, type TaskLoopConfig, type TaskTrainResult, type TrainOptions, type TrainingTask,
} from '@parcnet/train';
import { IGNORE_INDEX, semanticMask } from './masks.js';
import { evaluateSegmentationSamples, type SegmentationMetrics } from './evaluate.js';
import { flipSegmentation, randomCropSegmentation, randomResizeSegmentation, type SegmentationSample } from './transforms.js';

/**
 * A DeepLabV3 run on COCO-format masks (80 thing classes + background, crowds ignored), in the
 * shape of the official segmentation recipe (spec §10) scaled to a CPU: smaller crops.
 */
export interface SegmentationTrainConfig extends TaskLoopConfig {
  /** The segmenter (YAML `model`). */
  model: {
    /** A DeepLabV3 model of the zoo: `deeplabv3-parcnet-s` (default); CLI `--model`. */
    name: string;
    /**
     * A classifier's weights to start the backbone (`encoder`) from: a `.pt` (official layout) or a
     * weights file or checkpoint of `parcnet train` of the same ParC-Net scale; its head is skipped;
     * null (default) = random initialisation; CLI `--pretrained` (cvnets `model.classification.pretrained`).
     */
    pretrained: string | null;
    /** Epochs, from the first, during which the backbone's parameters get no update, ≥ 0; default 0; CLI `--freeze-backbone`. */
    freeze_backbone_epochs: number;
  };
  /** The COCO-format data (YAML `dataset`). */
  dataset: {
    /** Folder holding `annotations/` and the image folders, resolved against the config file when relative; null (default) = `$PARCNET_DATA/coco-tiny`; CLI `--data`. */
    data: string | null;
    /** The split trained on (`annotations/instances_<split>.json` and the folder `<split>`); default `train2017`. */
    train_split: string;
    /** Splits evaluated after training epochs (metrics logged as `<split>_mIoU`, `<split>_mAcc`, `<split>_aAcc` at the original image size, and the same with `_resized` at eval_size); default `train2017`, `val2017`. */
    eval_splits: string[];
    /** Crops per optimiser step, ≥ 1 (the last partial batch is dropped); default 4 (official 8 per GPU; cvnets `dataset.train_batch_size0`); CLI `--batch-size`. */
    train_batch_size: number;
    /** Evaluation runs the model on every image resized to eval_size × eval_size; the prediction is resized back (nearest) to the original mask's size, and for the `_resized` metrics the mask to eval_size; ≥ 1, default 256. */
    eval_size: number;
    /** Use only the first n images (by id) of every split: smoke runs and tests; null = all (default). */
    max_images: number | null;
  };
  /** The training augmentation (YAML `augmentation`; spec §10). */
  augmentation: {
    /** Smallest shorter side of the random resize, in pixels, ≥ 1; default 192 (official 384). */
    min_short_side: number;
    /** Largest shorter side of the random resize, ≥ min_short_side; default 384 (official 768). */
    max_short_side: number;
    /** Side of the square training crop in pixels, ≥ 1; default 256 (official 512). */
    crop_size: number;
    /** Horizontal flip with probability 0.5; default true. */
    flip: boolean;
  };
  /** When the segmenter is evaluated and what picks the best weights (YAML `evaluation`). */
  evaluation: {
    /** Evaluate every n epochs, ≥ 1, and always after the last one; default 5. */
    every_epochs: number;
    /** The logged metric that picks best.safetensors, higher is better (`<split>_mIoU`, …); default `val2017_mIoU` (cvnets `stats.checkpoint_metric`). */
    best_metric: string;
  };
}

/**
 * The segmentation defaults every config is merged into: DeepLabV3-ParC-Net-S on 256×256 crops,
 * batches of 4, evaluation at 256×256 every 5 epochs (the segmentation sections' defaults are
 * listed on {@link SegmentationTrainConfig}). The shared sections keep the classification defaults
 * except for the official recipe's optimiser and schedule (spec §10): weight decay 0.01; 50 epochs
 * of epoch-wise cosine 9e-4 → 1e-6 after 500 warm-up steps from 9e-5; and common.out
 * `runs/coco-tiny-deeplabv3`, log_every 5, checkpoint_every null.
 */
export const DEFAULT_SEGMENTATION_CONFIG: SegmentationTrainConfig = {
  model: { name: 'deeplabv3-parcnet-s', pretrained: null, freeze_backbone_epochs: 0 },
  dataset: { data: null, train_split: 'train2017', eval_splits: ['train2017', 'val2017'], train_batch_size: 4, eval_size: 256, max_images: null },
  augmentation: { min_short_side: 192, max_short_side: 384, crop_size: 256, flip: true },
  optim: { ...DEFAULT_CONFIG.optim, weight_decay: 0.01 },
  scheduler: { max_epochs: 50, warmup_iterations: 500, warmup_init_lr: 9e-5, per: 'epoch', cosine: { max_lr: 9e-4, min_lr: 1e-6 } },
  evaluation: { every_epochs: 5, best_metric: 'val2017_mIoU' },
  common: { ...DEFAULT_CONFIG.common, out: 'runs/coco-tiny-deeplabv3', log_every: 5, checkpoint_every: null },
};

/**
 * Defaults ← the parsed YAML ← overrides (CLI flags), checked; throws a FormatError naming `where`
 * for an unknown key or a bad value.
 */
export function parseSegmentationConfig(raw: unknown, where = 'config', overrides: unknown = {}): SegmentationTrainConfig {
  const c = mergeConfig(mergeConfig(DEFAULT_SEGMENTATION_CONFIG, raw ?? {}, '', where), overrides, '', 'command line') as SegmentationTrainConfig;
  checkSharedConfig(c, where);
  if (!c.model.name.startsWith('deeplabv3-')) configError(where, `model.name must be a DeepLabV3 model (deeplabv3-parcnet-s), got ${JSON.stringify(c.model.name)}`);
  checkPositiveInteger(c.dataset.train_batch_size, 'dataset.train_batch_size', where);
  checkPositiveInteger(c.dataset.eval_size, 'dataset.eval_size', where);
  checkPositiveInteger(c.augmentation.crop_size, 'augmentation.crop_size', where);
  checkPositiveInteger(c.augmentation.min_short_side, 'augmentation.min_short_side', where);
  checkPositiveInteger(c.evaluation.every_epochs, 'evaluation.every_epochs', where);
  if (c.dataset.max_images !== null) checkPositiveInteger(c.dataset.max_images, 'dataset.max_images', where);
  if (!(c.augmentation.max_short_side >= c.augmentation.min_short_side)) configError(where, 'augmentation.max_short_side must be ≥ min_short_side');
  if (!Array.isArray(c.dataset.eval_splits) || c.dataset.eval_splits.length === 0) configError(where, 'dataset.eval_splits must list at least one split');
  return c;
}

/** A split's images and masks, decoded (the tiny COCO subset fits in memory). */
export interface SegmentationSplit {
  /** The split's name (`train2017`, …). */
  name: string;
  /** The parsed annotation file. */
  instances: CocoInstances;
  /** The images in id order, each with its semantic mask. */
  samples: (SegmentationSample & {
    /** The image's COCO id. */
    imageId: number;
  })[];
}

/**
 * Decodes a split of the COCO-format folder `root` (null = `$PARCNET_DATA/coco-tiny`): the first
 * `maxImages` images by id (all when null) with their semantic masks; throws a FormatError for a
 * missing image or one whose size differs from the annotation file's.
 */
export function loadSegmentationSplit(root: string | null, split: string, maxImages: number | null = null): SegmentationSplit {
  const { annotationFile: annotations, imagesDir } = cocoSplitFiles(root, split, 'segmentation');
  const instances = loadCocoInstances(annotations);
  const samples = [...instances.images]
    .sort((a, b) => a.id - b.id)
    .slice(0, maxImages ?? undefined)
    .map((info) => {
      const file = join(imagesDir, info.file_name);
      if (!existsSync(file)) throw new FormatError(`segmentation: ${file}: image ${info.id} of ${annotations} is missing`);
      const image = toFloatImage(decodeImage(new Uint8Array(readFileSync(file)), file));
      const { mask } = semanticMask(instances, info.id);
      if (image.height !== info.height || image.width !== info.width) throw new FormatError(`segmentation: ${file} is ${image.height}×${image.width}, ${annotations} says ${info.height}×${info.width}`);
      return { imageId: info.id, image, mask };
    });
  return { name: split, instances, samples };
}

/**
 * mIoU, mAcc and aAcc of a model over a split, each image run at size × size: at the original image
 * size as cvnets' evaluation script (the plain names), and at size × size (`_resized`); see
 * {@link evaluateSegmentationSamples}.
 */
export function evaluateSegmentation(model: Module, split: SegmentationSplit, numClasses: number, size: number, onImage?: (done: number, total: number) => void): SegmentationMetrics {
  return evaluateSegmentationSamples(model, split.samples, numClasses, size, onImage);
}

/** The config's training augmentation of one sample (resize, crop, flip), drawn from (seed, epoch, position). */
export function augmentSegmentation(sample: SegmentationSample, config: SegmentationTrainConfig, epoch: number, position: number): SegmentationSample {
  const rng = epochGenerator(config.common.seed, epoch, position);
  const a = config.augmentation;
  let s = randomResizeSegmentation(sample, rng, a.min_short_side, a.max_short_side);
  s = randomCropSegmentation(s, rng, a.crop_size);
  if (a.flip && rng.uniform() < 0.5) s = flipSegmentation(s);
  return s;
}

/** Trains DeepLabV3 as the config says; the CLI's `parcnet train --config <segmentation yaml>`. */
export async function trainSegmenter(config: SegmentationTrainConfig, options: TrainOptions = {}): Promise<TaskTrainResult> {
  const { data, max_images: maxImages } = config.dataset;
  const train = loadSegmentationSplit(data, config.dataset.train_split, maxImages);
  const evalSplits = config.dataset.eval_splits.map((name) => (name === train.name ? train : loadSegmentationSplit(data, name, maxImages)));
  const numClasses = train.instances.categories.length + 1;
  const batchSize = config.dataset.train_batch_size;
  const stepsPerEpoch = Math.floor(train.samples.length / batchSize);
  const crop = config.augmentation.crop_size;
  if (stepsPerEpoch === 0) throw new FormatError(`segmentation: ${train.samples.length} training images make no full batch of ${batchSize}`);
  const task: TrainingTask = {
    title: `${config.model.name} on ${train.name} (${train.samples.length} images)`,
    buildModel: () => createModel(config.model.name, { numClasses, seed: config.common.seed }),
    backbone: 'encoder',
    stepsPerEpoch,
    *batches(model, epoch, start) {
      const order = epochOrder(train.samples.length, config.common.seed, epoch);
      for (let index = start; index < stepsPerEpoch; index++) {
        const batch = Array.from({ length: batchSize }, (_, k) => augmentSegmentation(train.samples[order[index * batchSize + k]], config, epoch, index * batchSize + k));
        const labels = new Int32Array(batchSize * crop * crop);
        batch.forEach((s, b) => labels.set(s.mask, b * crop * crop));
        const logits = model.forward(bgrBatch(batch.map((s) => s.image)));
        yield { loss: crossEntropy(logits, new Tensor(labels, [batchSize, crop, crop]), { ignoreIndex: IGNORE_INDEX }), images: batchSize };
      }
    },
    evaluate(model, _epoch, progress) {
      const metrics: Record<string, number> = {};
      for (const split of evalSplits) {
        const m = evaluateSegmentation(model, split, numClasses, config.dataset.eval_size, (done, total) => progress(done, total, split.name));
        for (const [key, value] of Object.entries(m)) metrics[`${split.name}_${key}`] = value;
      }
      return metrics;
    },
    bestMetric: config.evaluation.best_metric,
    weightsInfo: {
      model: config.model.name,
      num_classes: numClasses,
      cifar_stem: false,
      classes: ['background', ...train.instances.categories.map((c) => c.name)],
      input_size: [config.dataset.eval_size, config.dataset.eval_size],
      transforms: [],
      task: 'segment',
    },
    plotSeries: [
      { field: 'loss', label: 'train loss (epoch)', panel: 'loss', training: true },
      ...evalSplits.flatMap(({ name }): PlotSeries[] => [
        { field: `${name}_mIoU`, label: `${name} mIoU`, panel: 'accuracy' },
        { field: `${name}_aAcc`, label: `${name} pixel accuracy`, panel: 'accuracy' },
      ]),
    ],
  };
  return trainTask(config, task, options);
}
