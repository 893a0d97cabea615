import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { readConfigFile } from '@parcnet/train';
import { dataDir } from '@parcnet/testing';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const coco = join(dataDir, 'coco-tiny');
const image = join(coco, 'val2017', '000000005001.jpg');

function parcnet(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(join(root, 'node_modules', '.bin', 'parcnet'), args, { cwd: root, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The example config with the changes a test needs, written to a temporary file. */
function configFrom(example: string, changes: (c: Record<string, Record<string, unknown>>) => void): string {
  const { raw, task } = readConfigFile(join(root, 'examples', 'coco-tiny', example));
  const config = raw as Record<string, Record<string, unknown>>;
  changes(config);
  const file = join(mkdtempSync(join(tmpdir(), 'parcnet-task-')), 'config.yaml');
  writeFileSync(file, stringify({ task, ...config }));
  return file;
}

const isPng = (file: string): boolean => readFileSync(file).subarray(1, 4).toString() === 'PNG';

describe('parcnet train and predict for detection and segmentation', () => {
  it('trains the SSDLite example config (cut down), evaluates with COCO metrics, resumes, and draws detections', () => {
    const config = configFrom('ssdlite-parcnet-xs.yaml', (c) => {
      c.dataset = { ...c.dataset, data: coco, image_size: 64, train_batch_size: 2, max_images: 4, eval_splits: ['train2017', 'val2017'] };
      c.scheduler = { ...c.scheduler, max_epochs: 2 };
      c.evaluation = { ...c.evaluation, every_epochs: 1 };
    });
    const out = mkdtempSync(join(tmpdir(), 'parcnet-det-'));
    const first = parcnet('train', '--config', config, '--out', out, '--max-steps', '3', '--no-progress', '--threads', '2');
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/ssdlite-parcnet-xs, 2,345,578 parameters; 2 steps per epoch/);
    expect(first.stdout).toMatch(/epoch 1\/2: train loss [\d.]+; train2017_AP [\d.]+, train2017_AP50 [\d.]+, .*val2017_AR100 [\d.]+/);
    expect(first.stdout).toMatch(/stopped after 3 steps \(max_steps\)/);
    const second = parcnet('train', '--resume', join(out, 'checkpoint.safetensors'), '--no-progress', '--threads', '2');
    expect(second.stderr).toBe('');
    expect(second.stdout).toMatch(/resuming from .*: epoch 2, batch 1, step 3/);
    expect(second.stdout).toMatch(/done: 2 epochs, 4 steps/);
    expect(readdirSync(out).sort()).toEqual(['best.safetensors', 'checkpoint.safetensors', 'curves.png', 'events.jsonl', 'log.jsonl', 'model.safetensors']);
    const evals = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number | string>).filter((l) => l.type === 'eval');
    expect(evals.map((l) => l.epoch)).toEqual([0, 1]);
    for (const key of ['loss', 'train2017_AP', 'train2017_AP50', 'val2017_AP', 'val2017_AR100']) expect(typeof evals[1][key]).toBe('number');

    const evaluation = parcnet('eval', '--weights', join(out, 'model.safetensors'), '--data', coco, '--split', 'val2017', '--json');
    expect(evaluation.stderr).toBe('');
    const metrics = JSON.parse(evaluation.stdout) as Record<string, number>;
    expect(metrics.images).toBe(80);
    for (const key of ['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR1', 'AR10', 'AR100']) expect(typeof metrics[key]).toBe('number');

    const drawn = join(out, 'detections.png');
    const predict = parcnet('predict', image, '--weights', join(out, 'model.safetensors'), '--task', 'detect', '--threshold', '0.01', '--out', drawn, '--json');
    expect(predict.stderr).toBe('');
    const result = JSON.parse(predict.stdout) as { detections: { box: number[]; class: string; score: number }[] };
    for (const d of result.detections) {
      expect(d.score).toBeGreaterThanOrEqual(0.01);
      expect(d.box[0] >= 0 && d.box[2] <= 640).toBe(true);
      expect(typeof d.class).toBe('string');
    }
    expect(isPng(drawn)).toBe(true);
    // A detector's weights are not a classifier's: a mismatched --task is refused.
    const wrong = parcnet('predict', image, '--weights', join(out, 'model.safetensors'), '--task', 'segment');
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toMatch(/holds a ssdlite-parcnet-xs for the task "detect", not "segment"/);
  }, 600_000);

  it('trains the DeepLabV3 example config (cut down), reports mIoU, mAcc and aAcc, and draws the mask', () => {
    const config = configFrom('deeplabv3-parcnet-s.yaml', (c) => {
      c.dataset = { ...c.dataset, data: coco, train_batch_size: 2, max_images: 2, eval_size: 64, eval_splits: ['val2017'] };
      c.augmentation = { ...c.augmentation, min_short_side: 64, max_short_side: 80, crop_size: 64 };
      c.scheduler = { ...c.scheduler, max_epochs: 1 };
      c.evaluation = { every_epochs: 1, best_metric: 'val2017_mIoU' };
    });
    const out = mkdtempSync(join(tmpdir(), 'parcnet-seg-'));
    const train = parcnet('train', '--config', config, '--out', out, '--no-progress', '--threads', '2');
    expect(train.stderr).toBe('');
    expect(train.stdout).toMatch(/deeplabv3-parcnet-s, 5,831,817 parameters; 1 steps per epoch/);
    expect(train.stdout).toMatch(/val2017_mIoU [\d.]+, val2017_mAcc [\d.]+, val2017_aAcc [\d.]+/);
    const evaluation = parcnet('eval', '--weights', join(out, 'best.safetensors'), '--data', coco, '--split', 'val2017');
    expect(evaluation.stdout).toMatch(/^val2017: 80 images, mIoU [\d.]+, mAcc [\d.]+, aAcc [\d.]+/);
    const drawn = join(out, 'mask.png');
    const predict = parcnet('predict', image, '--weights', join(out, 'best.safetensors'), '--out', drawn, '--json');
    expect(predict.stderr).toBe('');
    const result = JSON.parse(predict.stdout) as { classes: { class: string; share: number }[] };
    const total = result.classes.reduce((a, c) => a + c.share, 0);
    expect(total).toBeLessThanOrEqual(1 + 1e-9);
    expect(isPng(drawn)).toBe(true);
  }, 600_000);

  it('config mistakes name the file and the key, before any training', () => {
    const unknown = configFrom('ssdlite-parcnet-xs.yaml', (c) => {
      c.loss = { ...c.loss, neg_pos: 3 };
    });
    const r1 = parcnet('train', '--config', unknown);
    expect(r1.status).toBe(1);
    expect(r1.stderr).toMatch(/config\.yaml: unknown key loss\.neg_pos; known: neg_pos_ratio, iou_threshold/);
    const model = configFrom('ssdlite-parcnet-xs.yaml', (c) => {
      c.model = { name: 'parcnet-xs' };
    });
    expect(parcnet('train', '--config', model).stderr).toMatch(/model\.name must be an SSDLite model/);
    const task = join(mkdtempSync(join(tmpdir(), 'parcnet-task-')), 'config.yaml');
    writeFileSync(task, 'task: tracking\n');
    expect(parcnet('train', '--config', task).stderr).toMatch(/task must be classification, detection or segmentation, got "tracking"/);
    const noData = configFrom('ssdlite-parcnet-xs.yaml', (c) => {
      c.dataset = { ...c.dataset, data: '/no/such/coco' };
    });
    expect(parcnet('train', '--config', noData).stderr).toMatch(/\/no\/such\/coco\/annotations\/instances_train2017\.json: no such annotation file/);
    expect(existsSync(join(root, 'runs', 'coco-tiny-ssdlite-parcnet-xs'))).toBe(false);
  }, 120_000);
});
