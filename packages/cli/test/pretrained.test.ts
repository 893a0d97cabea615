import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { Tensor } from '@parcnet/tensor';
import { loadSafetensors } from '@parcnet/io';
import { createModel } from '@parcnet/models';
import { readConfigFile, saveWeights } from '@parcnet/train';
import { dataDir, goldenDir } from '@parcnet/testing';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const coco = join(dataDir, 'coco-tiny');
const goldenPt = join(goldenDir, 'parcnet_xs_c10_state_dict.pt');
const temporaryDir = (): string => mkdtempSync(join(tmpdir(), 'parcnet-pretrained-'));
const bytes = (t: Tensor): Buffer => Buffer.from(Float64Array.from(t.contiguous().toTypedArray(), Number).buffer);

function parcnet(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(join(root, 'node_modules', '.bin', 'parcnet'), args, { cwd: root, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The SSDLite example config cut down to one epoch of 2 steps at 64×64 on 4 images, evaluated on them. */
function smallSsdConfig(): string {
  const { raw, task } = readConfigFile(join(root, 'examples', 'coco-tiny', 'ssdlite-parcnet-xs.yaml'));
  const c = raw as Record<string, Record<string, unknown>>;
  c.dataset = { ...c.dataset, data: coco, image_size: 64, train_batch_size: 2, max_images: 4, eval_splits: ['train2017'] };
  c.evaluation = { ...c.evaluation, best_metric: 'train2017_AP50' };
  const file = join(temporaryDir(), 'config.yaml');
  writeFileSync(file, stringify({ task, ...c }));
  return file;
}

describe('parcnet train --pretrained', () => {
  const config = smallSsdConfig();
  const train = (out: string, ...flags: string[]): ReturnType<typeof parcnet> =>
    parcnet('train', '--config', config, '--out', out, '--max-steps', '2', '--no-progress', '--threads', '2', ...flags);

  it('starts SSDLite-ParC-Net-XS from a ParC-Net-XS classifier .pt; --freeze-backbone 1 keeps its encoder bit for bit through the epoch', async () => {
    const out = temporaryDir();
    const run = train(out, '--pretrained', goldenPt, '--freeze-backbone', '1');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(`pretrained ${goldenPt}: 461 tensors loaded into encoder, 8 skipped (conv_1x1_exp.block.conv, conv_1x1_exp.block.norm, classifier.fc), 0 missing`);
    expect(run.stdout).toMatch(/epoch 1\/40: train loss [\d.]+; train2017_AP/);
    const golden = (await loadSafetensors(join(goldenDir, 'parcnet_xs_c10_state_dict.safetensors'))).tensors;
    const trained = (await loadSafetensors(join(out, 'model.safetensors'))).tensors;
    const fresh = createModel('ssdlite-parcnet-xs', { numClasses: 81 });
    let headChanged = 0;
    for (const [key] of fresh.namedParameters()) {
      if (key.startsWith('encoder.')) expect(bytes(trained[key]).equals(bytes(golden[key.slice('encoder.'.length)])), key).toBe(true);
      else if (!bytes(trained[key]).equals(bytes(fresh.stateDict()[key]))) headChanged++;
    }
    expect(headChanged).toBeGreaterThan(0);
  }, 300_000);

  it('takes the backbone from a safetensors weights file of parcnet train; refuses another scale naming the key and both shapes', async () => {
    const dir = temporaryDir();
    const classifier = join(dir, 'parcnet-xs-c10.safetensors');
    const info = { model: 'parcnet-xs', num_classes: 10, cifar_stem: true, classes: [...'abcdefghij'], input_size: [32, 32] as [number, number], transforms: [] };
    await saveWeights(classifier, createModel('parcnet-xs', { numClasses: 10, cifarStem: true, seed: 4 }), info);
    const run = train(join(dir, 'run'), '--pretrained', classifier);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain(`pretrained ${classifier}: 461 tensors loaded into encoder, 8 skipped`);

    const other = join(dir, 'parcnet-s.safetensors');
    await saveWeights(other, createModel('parcnet-s', { numClasses: 10 }), { ...info, model: 'parcnet-s' });
    const refused = train(join(dir, 'refused'), '--pretrained', other);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/parcnet-s\.safetensors: pretrained (\S+) has shape \[[\d, ]+\], the model's encoder\.\1 has shape \[[\d, ]+\]; nothing loaded/);
  }, 300_000);
});
