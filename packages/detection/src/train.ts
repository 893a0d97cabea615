import { FormatError, Tensor } from '@parcnet/tensor';
import { bgrBatch, cocoSplitFiles } from '@parcnet/data';
import { createModel, type SsdLite } from '@parcnet/models';
import {
  checkNonNegative, checkPositiveInteger, checkSharedConfig, configError, DEFAULT_CONFIG, epochGenerator, epochOrder, mergeConfig, trainTask,
  type PlotSeries, type TaskLoopConfig, type TaskTrainResult, type TrainOptions, type TrainingTask,
} from '@parcnet/train';
import { ssdAnchors } from './anchors.js';
import { loadCocoDetection, loadDetectionSample, ssdTargets, type CocoDetection } from './coco-dataset.js';
import { multiboxLoss } from './multibox-loss.js';
import { evaluateSsd } from './predict.js';
import { flipDetection, photometricDistort, resizeDetection, ssdRandomCrop, type DetectionSample } from './transforms.js';

/**
 * An SSDLite run on a COCO-format folder (`annotations/instances_<split>.json` + `<split>/`), in the
 * shape of the official detection recipe (spec §10); shared sections as in classification.
 */
export interface DetectionTrainConfig extends TaskLoopConfig {
  /** The detector (YAML `model`). */
  model: {
    /** An SSDLite model of the zoo: `ssdlite-parcnet-xs` (default) or `ssdlite-parcnet-s`; CLI `--model`. */
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
    /** Splits evaluated after training epochs (metrics logged as `<split>_AP`, `<split>_AP50`, `<split>_AP75`, `<split>_AR100`); default `train2017`, `val2017`. */
    eval_splits: string[];
    /** Side of the square network input in pixels, for training and evaluation; default 320 (spec §8). */
    image_size: number;
    /** Images per optimiser step, ≥ 1 (the last partial batch is dropped); default 8 (official 32 per GPU; cvnets `dataset.train_batch_size0`); CLI `--batch-size`. */
    train_batch_size: number;
    /** Use only the first n images (by id) of every split: smoke runs and tests; null = all (default). */
    max_images: number | null;
  };
  /** The training augmentation, each part on or off (YAML `augmentation`; spec §10); the image is then resized to image_size. */
  augmentation: {
    /** The SSD random crop with a minimum IoU (cvnets `SSDCroping`); default true. */
    random_crop: boolean;
    /** Photometric distortion (cvnets `PhotometricDistort`); default true. */
    photometric: boolean;
    /** Horizontal flip with probability 0.5; default true. */
    flip: boolean;
  };
  /** The multibox loss and the anchor matching (YAML `loss`; spec §8). */
  loss: {
    /** Hard negatives kept per positive anchor, ≥ 0; default 3 (cvnets `loss.detection.ssd_multibox_loss.neg_pos_ratio`). */
    neg_pos_ratio: number;
    /** IoU in (0, 1] from which an anchor matches a ground-truth box; default 0.5 (cvnets `model.detection.ssd.iou_threshold`). */
    iou_threshold: number;
  };
  /** When and how the detector is evaluated (YAML `evaluation`). */
  evaluation: {
    /** Evaluate every n epochs, ≥ 1, and always after the last one; default 10. */
    every_epochs: number;
    /** Score a detection needs to be kept in evaluation, ≥ 0; default 0.05 (cvnets `model.detection.ssd.conf_threshold`, spec §8). */
    score_threshold: number;
    /** The logged metric that picks best.safetensors, higher is better (`<split>_AP`, …); default `val2017_AP` (cvnets `stats.checkpoint_metric`). */
    best_metric: string;
  };
}

/**
 * The detection defaults every config is merged into: SSDLite-ParC-Net-XS at 320×320, batches of 8,
 * every augmentation on, evaluation every 10 epochs (the detection sections' defaults are listed on
 * {@link DetectionTrainConfig}). The shared sections keep the classification defaults except for
 * the official recipe's optimiser and schedule (spec §10): weight decay 0.02; 200 epochs of
 * epoch-wise cosine 9e-4 → 1e-6 after 500 warm-up steps from 9e-5; and common.out
 * `runs/coco-tiny-ssdlite`, log_every 5, checkpoint_every null.
 */
export const DEFAULT_DETECTION_CONFIG: DetectionTrainConfig = {
  model: { name: 'ssdlite-parcnet-xs', pretrained: null, freeze_backbone_epochs: 0 },
  dataset: { data: null, train_split: 'train2017', eval_splits: ['train2017', 'val2017'], image_size: 320, train_batch_size: 8, max_images: null },
  augmentation: { random_crop: true, photometric: true, flip: true },
  loss: { neg_pos_ratio: 3, iou_threshold: 0.5 },
  optim: { ...DEFAULT_CONFIG.optim, weight_decay: 0.02 },
  scheduler: { max_epochs: 200, warmup_iterations: 500, warmup_init_lr: 9e-5, per: 'epoch', cosine: { max_lr: 9e-4, min_lr: 1e-6 } },
  evaluation: { every_epochs: 10, score_threshold: 0.05, best_metric: 'val2017_AP' },
  common: { ...DEFAULT_CONFIG.common, out: 'runs/coco-tiny-ssdlite', log_every: 5, checkpoint_every: null },
};

/**
 * Defaults ← the parsed YAML ← overrides (CLI flags), checked; throws a FormatError naming `where`
 * for an unknown key or a bad value.
 */
export function parseDetectionConfig(raw: unknown, where = 'config', overrides: unknown = {}): DetectionTrainConfig {
  const c = mergeConfig(mergeConfig(DEFAULT_DETECTION_CONFIG, raw ?? {}, '', where), overrides, '', 'command line') as DetectionTrainConfig;
  checkSharedConfig(c, where);
  if (!c.model.name.startsWith('ssdlite-')) configError(where, `model.name must be an SSDLite model (ssdlite-parcnet-xs, ssdlite-parcnet-s), got ${JSON.stringify(c.model.name)}`);
  checkPositiveInteger(c.dataset.image_size, 'dataset.image_size', where);
  checkPositiveInteger(c.dataset.train_batch_size, 'dataset.train_batch_size', where);
  checkPositiveInteger(c.evaluation.every_epochs, 'evaluation.every_epochs', where);
  if (c.dataset.max_images !== null) checkPositiveInteger(c.dataset.max_images, 'dataset.max_images', where);
  checkNonNegative(c.loss.neg_pos_ratio, 'loss.neg_pos_ratio', where);
  checkNonNegative(c.evaluation.score_threshold, 'evaluation.score_threshold', where);
  if (!Array.isArray(c.dataset.eval_splits) || c.dataset.eval_splits.length === 0) configError(where, 'dataset.eval_splits must list at least one split');
  if (!(c.loss.iou_threshold > 0 && c.loss.iou_threshold <= 1)) configError(where, 'loss.iou_threshold must be in (0, 1]');
  return c;
}

/** The COCO-format folder a config names, checked to hold a split's annotations and images. */
export function cocoSplit(root: string | null, split: string, training: boolean, maxImages: number | null = null): CocoDetection {
  const { annotationFile, imagesDir } = cocoSplitFiles(root, split, 'detection');
  const loaded = loadCocoDetection(annotationFile, imagesDir, { training });
  return maxImages === null ? loaded : { ...loaded, imageIds: loaded.imageIds.slice(0, maxImages) };
}

/** The config's training augmentation of one sample, drawn from (seed, epoch, position). */
export function augmentDetection(sample: DetectionSample, config: DetectionTrainConfig, epoch: number, position: number): DetectionSample {
  const rng = epochGenerator(config.common.seed, epoch, position);
  let s = sample;
  if (config.augmentation.photometric) s = { ...s, image: photometricDistort(s.image, rng) };
  if (config.augmentation.random_crop) s = ssdRandomCrop(s, rng);
  if (config.augmentation.flip && rng.uniform() < 0.5) s = flipDetection(s);
  const size = config.dataset.image_size;
  return resizeDetection(s, size, size);
}

/**
 * Trains SSDLite as the config says and evaluates it with cocoEval on the evaluation splits; the
 * CLI's `parcnet train --config <detection yaml>`.
 */
export async function trainDetector(config: DetectionTrainConfig, options: TrainOptions = {}): Promise<TaskTrainResult<SsdLite>> {
  const { data, max_images: maxImages } = config.dataset;
  const train = cocoSplit(data, config.dataset.train_split, true, maxImages);
  const evalSplits = config.dataset.eval_splits.map((name) => ({ name, split: cocoSplit(data, name, false, maxImages) }));
  const numClasses = train.categoryIds.length + 1;
  const size = config.dataset.image_size;
  const anchors = ssdAnchors(size);
  const numAnchors = anchors.length / 4;
  // The decoded training images stay in memory: the augmentation draws new crops from them each epoch.
  const samples = train.imageIds.map((_, i) => loadDetectionSample(train, i));
  const batchSize = config.dataset.train_batch_size;
  const stepsPerEpoch = Math.floor(samples.length / batchSize);
  const names = new Map(train.instances.categories.map((c) => [c.id, c.name]));
  if (stepsPerEpoch === 0) throw new FormatError(`detection: ${samples.length} training images make no full batch of ${batchSize}`);
  const task: TrainingTask<SsdLite> = {
    title: `${config.model.name} on ${config.dataset.train_split} (${samples.length} images)`,
    buildModel: () => createModel(config.model.name, { numClasses, seed: config.common.seed }) as SsdLite,
    backbone: 'encoder',
    stepsPerEpoch,
    *batches(model, epoch, start) {
      const order = epochOrder(samples.length, config.common.seed, epoch);
      for (let index = start; index < stepsPerEpoch; index++) {
        const batch = Array.from({ length: batchSize }, (_, k) => augmentDetection(samples[order[index * batchSize + k]], config, epoch, index * batchSize + k));
        const targets = batch.map((s) => ssdTargets(s, anchors, config.loss.iou_threshold));
        const labels = new Int32Array(batchSize * numAnchors);
        const boxes = new Float32Array(batchSize * numAnchors * 4);
        targets.forEach((t, b) => {
          labels.set(t.labels, b * numAnchors);
          boxes.set(t.targets, b * numAnchors * 4);
        });
        const { confidences, locations } = model.forwardDetections(bgrBatch(batch.map((b) => b.image)));
        const { loss } = multiboxLoss(confidences, locations, new Tensor(labels, [batchSize, numAnchors]), new Tensor(boxes, [batchSize, numAnchors, 4]), config.loss.neg_pos_ratio);
        yield { loss, images: batchSize };
      }
    },
    evaluate(model, _epoch, progress) {
      const metrics: Record<string, number> = {};
      // Images already decoded for training are not decoded again to evaluate the training split.
      const images = new Map(samples.map((s) => [s.imageId, s.image]));
      for (const { name, split } of evalSplits) {
        const { metrics: m } = evaluateSsd(model, split, anchors, { size, scoreThreshold: config.evaluation.score_threshold, images, onImage: (done, total) => progress(done, total, name) });
        for (const key of ['AP', 'AP50', 'AP75', 'AR100'] as const) metrics[`${name}_${key}`] = m[key];
      }
      return metrics;
    },
    bestMetric: config.evaluation.best_metric,
    weightsInfo: {
      model: config.model.name,
      num_classes: numClasses,
      cifar_stem: false,
      classes: ['background', ...train.categoryIds.map((id) => names.get(id) ?? String(id))],
      input_size: [size, size],
      transforms: [],
      task: 'detect',
    },
    plotSeries: [
      { field: 'loss', label: 'train loss (epoch)', panel: 'loss', training: true },
      ...evalSplits.flatMap(({ name }): PlotSeries[] => [
        { field: `${name}_AP50`, label: `${name} AP50`, panel: 'accuracy' },
        { field: `${name}_AP`, label: `${name} AP`, panel: 'accuracy' },
      ]),
    ],
  };
  return trainTask(config, task, options);
}
