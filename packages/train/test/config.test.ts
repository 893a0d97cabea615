import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, loadTrainConfig, parseTrainConfig } from '../src/index';

const examples = fileURLToPath(new URL('../../../examples/cifar10/', import.meta.url));

describe('training configs', () => {
  it('loads the CIFAR-10 example configs; a data folder in a file is relative to the file', () => {
    const main = loadTrainConfig(join(examples, 'parcnet-xs.yaml'));
    expect(main.model).toEqual({ name: 'parcnet-xs', cifar_stem: true, classifier_dropout: 0.1, block_dropout: 0, pretrained: null, freeze_backbone_epochs: 0 });
    expect(main.scheduler.max_epochs).toBe(20);
    expect(main.optim.name).toBe('adamw');
    expect(main.image_augmentation.train.map((t) => t.name)).toEqual(['randomCrop', 'horizontalFlip', 'bgr', 'toFloat']);
    const fast = loadTrainConfig(join(examples, 'fast.yaml'));
    expect(fast.dataset.data).toBe(join(examples, 'sample'));
    expect(fast.ema.enable).toBe(false);
  });

  it('command-line overrides win over the file; unknown keys and bad values are refused with the key named', () => {
    const c = parseTrainConfig({ scheduler: { max_epochs: 3 } }, 'x.yaml', { scheduler: { cosine: { max_lr: 0.01 } }, common: { seed: 5 } });
    expect(c.scheduler.max_epochs).toBe(3);
    expect(c.scheduler.cosine).toEqual({ max_lr: 0.01, min_lr: DEFAULT_CONFIG.scheduler.cosine.min_lr });
    expect(c.common.seed).toBe(5);
    expect(() => parseTrainConfig({ optim: { wieght_decay: 1 } }, 'x.yaml')).toThrowError(/x\.yaml: unknown key optim\.wieght_decay; known: name, weight_decay/);
    expect(() => parseTrainConfig({ model: { name: 'parcnet-xxl' } }, 'x.yaml')).toThrowError(/model\.name "parcnet-xxl" is not one of parcnet-xs/);
    expect(() => parseTrainConfig({ dataset: { train_batch_size: 0 } }, 'x.yaml')).toThrowError(/dataset\.train_batch_size must be a positive integer, got 0/);
    expect(() => parseTrainConfig({ model: { freeze_backbone_epochs: -1 } }, 'x.yaml')).toThrowError(/x\.yaml: model\.freeze_backbone_epochs must be an integer ≥ 0, got -1/);
    expect(() => parseTrainConfig({ model: { pretrained: 3 } }, 'x.yaml')).toThrowError(/model\.pretrained must be a file name or null, got 3/);
    expect(() => parseTrainConfig({ loss: { label_smoothing: 1.5 } }, 'x.yaml')).toThrowError(/label_smoothing must be in \[0, 1\)/);
    expect(() => parseTrainConfig({ image_augmentation: { train: [{ name: 'blur' }] } }, 'x.yaml')).toThrowError(/image_augmentation\.train: transform 0 .*unknown name/);
  });

  it('evaluation: every epoch, no test-time flip by default; bad values are refused', () => {
    expect(parseTrainConfig({}, 'x.yaml').evaluation).toEqual({ every_epochs: 1, flip_tta: false });
    expect(parseTrainConfig({ evaluation: { every_epochs: 3, flip_tta: true } }, 'x.yaml').evaluation).toEqual({ every_epochs: 3, flip_tta: true });
    expect(() => parseTrainConfig({ evaluation: { every_epochs: 0 } }, 'x.yaml')).toThrowError(/^x\.yaml: evaluation\.every_epochs must be a positive integer, got 0$/);
    expect(() => parseTrainConfig({ evaluation: { flip_tta: 'yes' } }, 'x.yaml')).toThrowError(/^x\.yaml: evaluation\.flip_tta must be true or false$/);
    expect(() => parseTrainConfig({ evaluation: { every: 2 } }, 'x.yaml')).toThrowError(/x\.yaml: unknown key evaluation\.every; known: every_epochs, flip_tta/);
  });
});
