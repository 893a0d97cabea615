import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FormatError } from '@parcnet/tensor';
import { loadSafetensors } from '@parcnet/io';
import { dataDir } from '@parcnet/testing';
import { allocateImageDataset, readCifarBinary, writeCifarBinary } from '@parcnet/data';
import { tmpdir } from 'node:os';
import { CHECKPOINT_FILE, LOG_FILE, PLOT_FILE, parseTrainConfig, trainClassifier, type TrainConfig } from '../src/index';
import { expectExactResume } from './resume';

const cifar = join(dataDir, 'cifar10');
const CIFAR_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];
const temporaryDir = (): string => mkdtempSync(join(tmpdir(), 'parcnet-train-'));
const readLog = (out: string): Record<string, number | string>[] =>
  readFileSync(join(out, LOG_FILE), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number | string>);

function smallConfig(out: string, overrides: Record<string, unknown> = {}): TrainConfig {
  return parseTrainConfig(
    {
      dataset: { data: cifar, train_images: 48, val_images: 20, train_batch_size: 16, val_batch_size: 20, workers: 1 },
      model: { classifier_dropout: 0.2, block_dropout: 0.1 },
      scheduler: { max_epochs: 2, warmup_iterations: 2 },
      common: { out, threads: 2, log_every: 1 },
    },
    'test',
    overrides,
  );
}

describe('classification trainer', () => {
  it('evaluates every n-th epoch and after the last (evaluation.every_epochs), with the test-time flip when asked', async () => {
    const out = temporaryDir();
    const result = await trainClassifier(smallConfig(out, { scheduler: { max_epochs: 3 }, ema: { enable: false }, evaluation: { every_epochs: 2, flip_tta: true } }));
    const log = readLog(out);
    expect(log.filter((r) => r.type === 'eval' || r.type === 'epoch').map((r) => [r.type, r.epoch])).toEqual([['epoch', 0], ['eval', 1], ['eval', 2]]);
    expect(result.epochs).toBe(3);
    expect(result.last!.top1).toBeGreaterThanOrEqual(0);
  }, 600_000);

  it('ParC-Net-XS on a 512-image CIFAR-10 subset: the loss falls and test accuracy beats chance', async () => {
    const out = temporaryDir();
    const config = parseTrainConfig(
      {
        dataset: { data: cifar, train_images: 512, val_images: 200, train_batch_size: 16, val_batch_size: 100 },
        model: { classifier_dropout: 0, block_dropout: 0 },
        scheduler: { max_epochs: 4, warmup_iterations: 8, cosine: { max_lr: 0.003, min_lr: 0.0001 } },
        ema: { enable: false },
        common: { out, threads: 2, log_every: 4, seed: 1 },
      },
      'test',
    );
    const result = await trainClassifier(config);
    const log = readLog(out);
    const evals = log.filter((r) => r.type === 'eval');
    expect(evals.map((e) => e.epoch)).toEqual([0, 1, 2, 3]);
    for (const line of log) for (const key of ['epoch', 'step', 'loss']) expect(typeof line[key]).toBe('number');
    expect(Number(evals[3].train_loss)).toBeLessThan(Number(evals[0].train_loss) - 0.1);
    expect(result.last!.top1).toBeGreaterThan(0.2); // chance is 0.10 (200 test images); measured 0.36
    expect(result.last!.top5).toBeGreaterThan(0.5);
    expect(result.epochs).toBe(4);
    expect(result.steps).toBe(128);
    const png = readFileSync(join(out, PLOT_FILE));
    expect(Array.from(png.subarray(0, 4))).toEqual([0x89, 0x50, 0x4e, 0x47]);
    expect(readdirSync(out).sort()).toEqual(['best.safetensors', 'checkpoint.safetensors', 'curves.png', 'events.jsonl', 'log.jsonl', 'model.safetensors']);
    const weights = await loadSafetensors(join(out, 'model.safetensors'));
    expect(Object.keys(weights.tensors).length).toBe(487); // the official key layout, residual.* included
    console.log(`512-image run: ${JSON.stringify(evals.map((e) => [Number(e.train_loss).toFixed(3), e.top1]))}, ${result.trainImagesPerSecond.toFixed(1)} img/s`);
  }, 900_000);

  it('a run stopped by max_steps inside an epoch and resumed equals the uninterrupted run, bit for bit', async () => {
    const keys = await expectExactResume(async (out, maxSteps, resume) => {
      const result = await trainClassifier(smallConfig(out, maxSteps === null ? {} : { common: { max_steps: maxSteps } }), { resume });
      if (maxSteps !== null) expect(result.stoppedAtMaxSteps).toBe(true);
    }, [1, 1, 4]);
    expect(keys.filter((k) => k.startsWith('ema.')).length).toBeGreaterThan(0);
    expect(keys.filter((k) => k.startsWith('optimizer.')).length).toBeGreaterThan(0);
  });

  it('bad data ends the run with an error naming the file, and leaves no checkpoint behind', async () => {
    // A corrupt JPEG in an image folder.
    const folders = temporaryDir();
    for (const split of ['train', 'test']) {
      for (const name of ['cat', 'dog']) {
        mkdirSync(join(folders, split, name), { recursive: true });
        copyFileSync(join(cifar, split, name, '0000.jpg'), join(folders, split, name, '0000.jpg'));
      }
    }
    writeFileSync(join(folders, 'train', 'dog', '0001.jpg'), readFileSync(join(cifar, 'train', 'dog', '0001.jpg')).subarray(0, 100));
    const out1 = temporaryDir();
    await expect(trainClassifier(smallConfig(out1, { dataset: { data: folders, train_images: null, val_images: null } }))).rejects.toThrowError(/dog\/0001\.jpg: corrupt JPEG/);
    expect(existsSync(join(out1, CHECKPOINT_FILE))).toBe(false);
    // A truncated binary batch.
    const binary = temporaryDir();
    const sample = readCifarBinary(writeBlankCifar(binary), 'test');
    expect(sample.length).toBe(10);
    truncateSync(join(binary, 'data_batch_2.bin'), statSync(join(binary, 'data_batch_2.bin')).size - 1);
    const out2 = temporaryDir();
    const run = trainClassifier(smallConfig(out2, { dataset: { data: binary, train_images: null, val_images: null } }));
    await expect(run).rejects.toThrowError(FormatError);
    await expect(trainClassifier(smallConfig(out2, { dataset: { data: binary, train_images: null, val_images: null } }))).rejects.toThrowError(/data_batch_2\.bin: \d+ bytes is not a whole number/);
    expect(readdirSync(out2)).toEqual([]);
    // An empty class folder.
    mkdirSync(join(folders, 'train', 'bird'));
    await expect(trainClassifier(smallConfig(temporaryDir(), { dataset: { data: folders } }))).rejects.toThrowError(/class folder bird holds no/);
  });
});

/** Writes ten black 32×32 images, one per class, as a CIFAR-10 binary set into `dir`. */
function writeBlankCifar(dir: string): string {
  const dataset = allocateImageDataset('blank', CIFAR_CLASSES, 10, 32, 32);
  dataset.labels.set(CIFAR_CLASSES.map((_, i) => i));
  writeCifarBinary(dir, { train: dataset, test: dataset });
  return dir;
}
