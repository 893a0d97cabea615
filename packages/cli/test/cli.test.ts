import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { goldenDir } from '@parcnet/testing';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const sample = join(root, 'examples', 'cifar10', 'sample');

/** Runs the installed `parcnet` bin, as `npx parcnet` does. */
function parcnet(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(join(root, 'node_modules', '.bin', 'parcnet'), args, { cwd: root, encoding: 'utf8', env: { ...process.env, PARCNET_CACHE: cacheDir } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
const cacheDir = mkdtempSync(join(tmpdir(), 'parcnet-cli-cache-'));

describe('the parcnet command', () => {
  it('trains from the example config with flag overrides, then evaluates (--json) and predicts with the weights', () => {
    const out = mkdtempSync(join(tmpdir(), 'parcnet-cli-'));
    const train = parcnet(
      'train', '--config', 'examples/cifar10/fast.yaml', '--epochs', '1', '--train-images', '64', '--val-images', '20',
      '--batch-size', '32', '--threads', '2', '--seed', '3', '--out', out, '--no-progress',
    );
    expect(train.stderr).toBe('');
    expect(train.status).toBe(0);
    expect(train.stdout).toMatch(/\(64 training and 20 test images\): parcnet-xs, 1,550,794 parameters; 2 steps per epoch/);
    expect(train.stdout).toMatch(/done: 1 epochs, 2 steps/);
    expect(readdirSync(out).sort()).toEqual(['best.safetensors', 'checkpoint.safetensors', 'curves.png', 'events.jsonl', 'log.jsonl', 'model.safetensors']);
    const log = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    for (const line of log) for (const key of ['epoch', 'step', 'loss']) expect(typeof line[key]).toBe('number');
    expect(typeof log.find((l) => l.type === 'eval')?.top1).toBe('number');

    const evaluation = parcnet('eval', '--weights', join(out, 'model.safetensors'), '--dataset', 'cifar10', '--data', sample, '--json', '--val-images', '40');
    expect(evaluation.status).toBe(0);
    const result = JSON.parse(evaluation.stdout) as Record<string, number>;
    for (const key of ['top1', 'top5', 'loss']) expect(typeof result[key]).toBe('number');
    expect(result.images).toBe(40);
    const flipped = parcnet('eval', '--weights', join(out, 'model.safetensors'), '--data', sample, '--json', '--val-images', '40', '--flip-tta');
    expect(flipped.status).toBe(0);
    expect(JSON.parse(flipped.stdout)).toMatchObject({ images: 40, flip_tta: true });
    // A training checkpoint serves as weights too.
    expect(parcnet('eval', '--weights', join(out, 'checkpoint.safetensors'), '--data', sample, '--json', '--val-images', '10').status).toBe(0);

    const predict = parcnet('predict', join(sample, 'test', 'cat', '0000.jpg'), '--weights', join(out, 'model.safetensors'));
    expect(predict.status).toBe(0);
    const lines = predict.stdout.trim().split('\n');
    expect(lines.length).toBe(5);
    expect(lines[0]).toMatch(/^\s*\d+\.\d\d%\s+(airplane|automobile|bird|cat|deer|dog|frog|horse|ship|truck)$/);

    // 488 lines through a pipe: the last one arrives too (the bin waits for stdout to drain).
    const info = parcnet('info', join(out, 'model.safetensors'));
    expect(info.stdout.trim().split('\n').length).toBe(488);
    expect(info.stdout).toMatch(/487 tensors, 1,550,794 parameter values \(BN statistics excluded, 18 residual\.\* alias entries counted once\)/);
  }, 600_000);

  it('resumes a run stopped by --max-steps', () => {
    const out = mkdtempSync(join(tmpdir(), 'parcnet-cli-'));
    const common = ['--config', 'examples/cifar10/fast.yaml', '--epochs', '1', '--train-images', '96', '--val-images', '10', '--batch-size', '32', '--out', out, '--no-progress'];
    const first = parcnet('train', ...common, '--max-steps', '1');
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/stopped after 1 steps \(max_steps\)/);
    expect(existsSync(join(out, 'model.safetensors'))).toBe(false);
    const second = parcnet('train', '--resume', join(out, 'checkpoint.safetensors'), '--no-progress');
    expect(second.status).toBe(0);
    expect(second.stdout).toMatch(/resuming from .*: epoch 1, batch 1, step 1/);
    expect(second.stdout).toMatch(/done: 1 epochs, 3 steps/);
  }, 600_000);

  it('info reads .pt files; export moves official weights between .pt and safetensors through the model', () => {
    const goldenPath = join(goldenDir, 'parcnet_xs_c10_state_dict.pt');
    const info = parcnet('info', goldenPath);
    expect(info.status).toBe(0);
    expect(info.stdout).toMatch(/487 tensors, 1,550,794 parameter values/);
    const out = mkdtempSync(join(tmpdir(), 'parcnet-cli-'));
    const toSafetensors = parcnet('export', '--model', 'parcnet-xs', '--weights', goldenPath, '--format', 'safetensors', '--out', join(out, 'xs.safetensors'));
    expect(toSafetensors.stdout).toMatch(/parcnet-xs \(10 classes\): loaded 487 tensors \(18 aliases checked equal\), wrote 487/);
    const toPt = parcnet('export', '--model', 'parcnet-xs', '--weights', join(out, 'xs.safetensors'), '--format', 'pt', '--out', join(out, 'xs.pt'));
    expect(toPt.status).toBe(0);
    const again = parcnet('info', join(out, 'xs.pt'), '--json');
    const listed = JSON.parse(again.stdout) as { tensors: { key: string }[]; parameters: number };
    expect(listed.tensors.length).toBe(487);
    expect(listed.parameters).toBe(1550794);
    const onnx = parcnet('export', '--model', 'parcnet-xs', '--weights', goldenPath, '--format', 'onnx', '--input-size', '64', '--batch', '2', '--out', join(out, 'xs.onnx'));
    expect(onnx.stderr).toBe('');
    expect(onnx.stdout).toMatch(/wrote .*xs\.onnx \(ONNX opset 17, input \[2, 3, 64, 64\] → output \[2, 10\], \d+ nodes, [\d.]+ MB\)/);
    const badSize = parcnet('export', '--model', 'parcnet-xs', '--weights', goldenPath, '--format', 'onnx', '--input-size', '64x', '--out', join(out, 'bad.onnx'));
    expect(badSize.stderr).toMatch(/--input-size must be N or HxW in pixels, got "64x"/);
    expect(readdirSync(out).sort()).toEqual(['xs.onnx', 'xs.pt', 'xs.safetensors']);
  }, 120_000);

  it('eval and predict read an official .pt like safetensors (one weights reader), with --model for a file that does not say', () => {
    const goldenPt = join(goldenDir, 'parcnet_xs_c10_state_dict.pt');
    const out = mkdtempSync(join(tmpdir(), 'parcnet-cli-pt-'));
    const asSafetensors = join(out, 'xs.safetensors');
    expect(parcnet('export', '--model', 'parcnet-xs', '--weights', goldenPt, '--format', 'safetensors', '--out', asSafetensors).status).toBe(0);
    const evalArgs = ['--model', 'parcnet-xs', '--cifar-stem', '--data', sample, '--val-images', '40', '--json', '--threads', '1'];
    const fromPt = parcnet('eval', '--weights', goldenPt, ...evalArgs);
    expect(fromPt.stderr).toBe('');
    const fromSafetensors = parcnet('eval', '--weights', asSafetensors, ...evalArgs);
    const [a, b] = [fromPt, fromSafetensors].map((r) => JSON.parse(r.stdout) as { top1: number; loss: number; images: number });
    expect(a.images).toBe(40);
    expect(a.top1).toBe(b.top1);
    expect(a.loss).toBe(b.loss);
    const cat = join(sample, 'test', 'cat', '0000.jpg');
    const predicted = parcnet('predict', cat, '--weights', goldenPt, '--model', 'parcnet-xs', '--cifar-stem', '--json');
    expect(predicted.status).toBe(0);
    expect((JSON.parse(predicted.stdout) as { top: unknown[] }).top.length).toBe(5);
    const withoutModel = parcnet('eval', '--weights', goldenPt, '--data', sample);
    expect(withoutModel.status).toBe(1);
    expect(withoutModel.stderr).toMatch(/parcnet_xs_c10_state_dict\.pt does not say which model it is for; give --model \(parcnet-xs, /);
  }, 120_000);

  it('bad flags and missing files exit non-zero with a message that names them', () => {
    const unknown = parcnet('fly');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/unknown command "fly"/);
    const badFlag = parcnet('train', '--epochs', 'many');
    expect(badFlag.status).toBe(1);
    expect(badFlag.stderr).toMatch(/--epochs must be an integer, got "many"/);
    const unknownFlag = parcnet('eval', '--wieghts', 'x');
    expect(unknownFlag.status).toBe(2);
    expect(unknownFlag.stderr).toMatch(/Unknown option '--wieghts'/);
    const missing = parcnet('eval', '--weights', '/no/such.safetensors', '--data', sample);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/\/no\/such\.safetensors: no such weights file/);
    const badConfig = parcnet('train', '--config', '/no/such.yaml');
    expect(badConfig.status).toBe(1);
    expect(badConfig.stderr).toMatch(/\/no\/such\.yaml: not readable YAML/);
  }, 120_000);
});
