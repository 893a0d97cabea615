import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FormatError, Generator, randn, type Tensor, zeros } from '@parcnet/tensor';
import { Linear, Module, mseLoss } from '@parcnet/nn';
import { createModel } from '@parcnet/models';
import { loadSafetensors, saveSafetensors } from '@parcnet/io';
import { dataDir, goldenDir } from '@parcnet/testing';
import { backboneParameters, CHECKPOINT_FILE, DEFAULT_CONFIG, loadPretrained, parseTrainConfig, saveWeights, trainClassifier, trainTask, type TaskLoopConfig, type TrainingTask } from '../src/index';

const goldenPt = join(goldenDir, 'parcnet_xs_c10_state_dict.pt');
const temporaryDir = (): string => mkdtempSync(join(tmpdir(), 'parcnet-pretrained-'));
const bytes = (t: Tensor): Buffer => Buffer.from(Float64Array.from(t.contiguous().toTypedArray(), Number).buffer);
/** The same values, bit for bit (compared as float64, so an int64 file entry equals an int32 buffer). */
const same = (a: Tensor, b: Tensor): boolean => bytes(a).equals(bytes(b));

describe('pretrained weights', () => {
  it('a ParC-Net-XS classifier .pt (official layout, residual.* aliases) starts the SSDLite encoder; the head is skipped', async () => {
    const detector = createModel('ssdlite-parcnet-xs', { numClasses: 5, seed: 3 });
    const fresh = createModel('ssdlite-parcnet-xs', { numClasses: 5, seed: 3 }).stateDict({ aliases: false });
    const report = await loadPretrained(detector, goldenPt, { backbone: 'encoder' });
    // 487 entries = 18 residual.* aliases + 461 encoder tensors + conv_1x1_exp (6) and classifier.fc (2).
    expect([report.loaded.length, report.skipped.length, report.missing.length]).toEqual([461, 8, 0]);
    expect(report.skipped.sort()).toEqual(['classifier.fc.bias', 'classifier.fc.weight', ...['bias', 'num_batches_tracked', 'running_mean', 'running_var', 'weight'].map((k) => `conv_1x1_exp.block.norm.${k}`), 'conv_1x1_exp.block.conv.weight'].sort());
    expect(report.summary).toBe(`pretrained ${goldenPt}: 461 tensors loaded into encoder, 8 skipped (conv_1x1_exp.block.conv, conv_1x1_exp.block.norm, classifier.fc), 0 missing`);
    const golden = (await loadSafetensors(join(goldenDir, 'parcnet_xs_c10_state_dict.safetensors'))).tensors;
    const state = detector.stateDict({ aliases: false });
    for (const [key, t] of Object.entries(state)) {
      if (key.startsWith('encoder.')) expect(same(t, golden[key.slice('encoder.'.length)]), key).toBe(true);
      else expect(same(t, fresh[key]), key).toBe(true); // the SSD layers keep their initialisation
    }
  });

  it('a ParC-Net-S classifier safetensors file starts the DeepLabV3 encoder (output stride 16, same shapes)', async () => {
    const file = join(temporaryDir(), 's.safetensors');
    const source = createModel('parcnet-s', { numClasses: 1000, seed: 1 });
    await saveWeights(file, source, { model: 'parcnet-s', num_classes: 1000, cifar_stem: false, classes: [], input_size: [256, 256], transforms: [] });
    const segmenter = createModel('deeplabv3-parcnet-s', { numClasses: 21 });
    const report = await loadPretrained(segmenter, file, { backbone: 'encoder' });
    expect([report.skipped.length, report.missing.length]).toEqual([8, 0]);
    expect(report.loaded.length).toBe(Object.keys(segmenter.stateDict({ aliases: false })).filter((k) => k.startsWith('encoder.')).length);
    const state = segmenter.stateDict();
    for (const key of report.loaded) expect(same(state[key], source.stateDict()[key.slice('encoder.'.length)]), key).toBe(true);
  });

  it('a classifier takes everything from a safetensors file of another number of classes but the head, which is skipped and reported', async () => {
    const file = join(temporaryDir(), 'c10.safetensors');
    const source = createModel('parcnet-xs', { numClasses: 10, cifarStem: true, seed: 1 });
    await saveWeights(file, source, { model: 'parcnet-xs', num_classes: 10, cifar_stem: true, classes: [...'abcdefghij'], input_size: [32, 32], transforms: [] });
    const target = createModel('parcnet-xs', { numClasses: 100, cifarStem: true, seed: 2 });
    const head = bytes(target.stateDict()['classifier.fc.weight']);
    const report = await loadPretrained(target, file);
    expect(report.skipped.sort()).toEqual(['classifier.fc.bias', 'classifier.fc.weight']);
    expect(report.missing).toEqual(['classifier.fc.weight', 'classifier.fc.bias']);
    expect(report.loaded.length).toBe(Object.keys(target.stateDict({ aliases: false })).length - 2);
    expect(report.summary).toMatch(/: 467 tensors loaded, 2 skipped \(classifier\.fc\), 2 missing \(classifier\.fc\)$/);
    const loaded = target.stateDict();
    for (const key of report.loaded) expect(same(loaded[key], source.stateDict()[key]), key).toBe(true);
    expect(bytes(loaded['classifier.fc.weight']).equals(head)).toBe(true);
    // The same number of classes: the head loads too.
    const ten = createModel('parcnet-xs', { numClasses: 10, cifarStem: true, seed: 2 });
    expect((await loadPretrained(ten, file)).skipped).toEqual([]);
  });

  it('a shape mismatch on a backbone key is refused with the key and both shapes, and nothing is loaded', async () => {
    const golden = (await loadSafetensors(join(goldenDir, 'parcnet_xs_c10_state_dict.safetensors'))).tensors;
    const key = 'layer_4.0.block.red_1x1.block.conv.weight';
    const wrong = { ...golden, [key]: zeros(golden[key].shape[0] + 1, ...golden[key].shape.slice(1)) };
    const file = join(temporaryDir(), 'wrong.safetensors');
    await saveSafetensors(wrong, file);
    const expectedShape = `[${golden[key].shape.join(', ')}]`;
    const gotShape = `[${[golden[key].shape[0] + 1, ...golden[key].shape.slice(1)].join(', ')}]`;
    for (const [model, backbone, target] of [
      [createModel('ssdlite-parcnet-xs', { numClasses: 5 }), 'encoder', `encoder.${key}`],
      [createModel('parcnet-xs', { numClasses: 10 }), null, key],
    ] as const) {
      const before = model.stateDict({ aliases: false });
      const copies = Object.fromEntries(Object.entries(before).map(([k, t]) => [k, t.clone()]));
      const error = await loadPretrained(model, file, { backbone }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FormatError);
      expect((error as Error).message).toBe(`${file}: pretrained ${key} has shape ${gotShape}, the model's ${target} has shape ${expectedShape}; nothing loaded`);
      for (const [k, t] of Object.entries(model.stateDict({ aliases: false }))) expect(same(t, copies[k]), k).toBe(true);
    }
    // A file of which nothing fits is refused too.
    const resnet = join(temporaryDir(), 'other.safetensors');
    await saveSafetensors({ 'fc.weight': zeros(2, 2) }, resnet);
    await expect(loadPretrained(createModel('ssdlite-parcnet-xs', { numClasses: 5 }), resnet, { backbone: 'encoder' })).rejects.toThrow(/none of its 1 tensors \(fc\.weight, …\) fits SsdLite's encoder; nothing loaded/);
  });

  it('the backbone of a classifier is every parameter but the last layer', () => {
    const model = createModel('parcnet-xs', { numClasses: 10 });
    const head = model.stateDict()['classifier.fc.weight'];
    const backbone = backboneParameters(model, null);
    expect(backbone.length).toBe(model.parameters().length - 2);
    expect(backbone.some((p) => p.storage === head.storage)).toBe(false);
    const detector = createModel('ssdlite-parcnet-xs', { numClasses: 5 });
    expect(backboneParameters(detector, 'encoder').length).toBe((detector as unknown as { encoder: Module }).encoder.parameters().length);
  });
});

/** A two-layer regression: `encoder` (the backbone) then `head`. */
class TwoLayers extends Module {
  readonly encoder = this.child('encoder', new Linear(4, 6));
  readonly head = this.child('head', new Linear(6, 2));

  forward(x: Tensor): Tensor {
    return this.head.forward(this.encoder.forward(x).relu());
  }
}

describe('freeze_backbone_epochs', () => {
  const inputs = randn(16, 4, { generator: new Generator(5) });
  const targets = randn(16, 2, { generator: new Generator(6) });
  function run(out: string, maxSteps: number | null): { config: TaskLoopConfig; task: TrainingTask } {
    const config: TaskLoopConfig = {
      model: { pretrained: null, freeze_backbone_epochs: 1 },
      optim: { ...DEFAULT_CONFIG.optim, weight_decay: 0.1 },
      scheduler: { ...DEFAULT_CONFIG.scheduler, max_epochs: 2, warmup_iterations: 0, cosine: { max_lr: 0.05, min_lr: 0.01 } },
      common: { ...DEFAULT_CONFIG.common, out, threads: 1, log_every: 1, max_steps: maxSteps },
      evaluation: { every_epochs: 1 },
    };
    const task: TrainingTask = {
      title: 'two layers',
      buildModel() {
        const model = new TwoLayers();
        // The same start for every run: fixed weights.
        for (const [i, p] of model.parameters().entries()) p.storage.fill(0.1 * (i + 1));
        return model;
      },
      backbone: 'encoder',
      stepsPerEpoch: 4,
      *batches(model, _epoch, start) {
        for (let index = start; index < 4; index++) {
          const rows = (t: Tensor): Tensor => t.slice(0, index * 4, index * 4 + 4);
          yield { loss: mseLoss(model.forward(rows(inputs)), rows(targets)), images: 4 };
        }
      },
      evaluate: () => ({ loss: 0 }),
      bestMetric: 'loss',
      weightsInfo: { model: 'two-layers', num_classes: 2, cifar_stem: false, classes: ['a', 'b'], input_size: [1, 4], transforms: [] },
      plotSeries: [],
    };
    return { config, task };
  }

  it('holds the backbone bit for bit through the frozen epoch while the head trains; then both train; resume is exact', async () => {
    const out = temporaryDir();
    const start = new TwoLayers();
    for (const [i, p] of start.parameters().entries()) p.storage.fill(0.1 * (i + 1));
    const first = run(out, 4); // one epoch, frozen
    const afterFrozen = (await trainTask(first.config, first.task)).model.stateDict();
    for (const key of ['encoder.weight', 'encoder.bias']) expect(same(afterFrozen[key], start.stateDict()[key]), key).toBe(true);
    for (const key of ['head.weight', 'head.bias']) expect(same(afterFrozen[key], start.stateDict()[key]), key).toBe(false);
    const second = run(out, null);
    const trained = (await trainTask(second.config, second.task, { resume: join(out, CHECKPOINT_FILE) })).model.stateDict();
    expect(same(trained['encoder.weight'], start.stateDict()['encoder.weight'])).toBe(false);

    // Stopped inside the frozen epoch and resumed equals the uninterrupted run.
    const whole = temporaryDir();
    const uninterrupted = run(whole, null);
    await trainTask(uninterrupted.config, uninterrupted.task);
    const parted = temporaryDir();
    const a = run(parted, 2);
    await trainTask(a.config, a.task);
    const b = run(parted, null);
    await trainTask(b.config, b.task, { resume: join(parted, CHECKPOINT_FILE) });
    const x = (await loadSafetensors(join(whole, CHECKPOINT_FILE))).tensors;
    const y = (await loadSafetensors(join(parted, CHECKPOINT_FILE))).tensors;
    expect(Object.keys(y).sort()).toEqual(Object.keys(x).sort());
    for (const key of Object.keys(x)) expect(same(y[key], x[key]), key).toBe(true);
    for (const key of Object.keys(trained)) expect(same(x[`model.${key}`], trained[key]), key).toBe(true);
    expect(readFileSync(join(parted, 'events.jsonl'), 'utf8')).toMatch(/"type":"resume"/);
  });
});

describe('pretrained classifier training', () => {
  it('trainClassifier starts from the golden .pt and, with freeze_backbone_epochs 1, trains only the head in the first epoch', async () => {
    const out = temporaryDir();
    const config = parseTrainConfig({
      model: { cifar_stem: false, pretrained: goldenPt, freeze_backbone_epochs: 1 },
      dataset: { data: join(dataDir, 'cifar10'), train_images: 32, val_images: 10, train_batch_size: 16, val_batch_size: 10, workers: 1 },
      scheduler: { max_epochs: 2, warmup_iterations: 1 },
      common: { out, threads: 2, log_every: 1 },
    }, 'test', { common: { max_steps: 2 } });
    const messages: string[] = [];
    await trainClassifier(config, { print: (m) => messages.push(m) });
    expect(messages[0]).toBe(`pretrained ${goldenPt}: 469 tensors loaded, 0 skipped, 0 missing`);
    const golden = (await loadSafetensors(join(goldenDir, 'parcnet_xs_c10_state_dict.safetensors'))).tensors;
    const trained = (await loadSafetensors(join(out, CHECKPOINT_FILE))).tensors;
    const model = createModel('parcnet-xs', { numClasses: 10 });
    for (const [key] of model.namedParameters()) {
      const unchanged = bytes(trained[`model.${key}`]).equals(bytes(golden[key]));
      expect(unchanged, key).toBe(!key.startsWith('classifier.fc.'));
    }
  }, 300_000);
});
