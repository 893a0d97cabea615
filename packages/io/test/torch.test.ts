import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FormatError, randn, tensor } from '@parcnet/tensor';
import { Linear } from '@parcnet/nn';
import { parcnetXS } from '@parcnet/models';
import { noGrad } from '@parcnet/autograd';
import { goldenDir, relativeError } from '@parcnet/testing';
import { loadSafetensors, loadTorch, parseTorch, saveTorch, serializeTorch } from '../src/index';

const fixtures = fileURLToPath(new URL('../../../spec/fixtures/torch/', import.meta.url));
const expected = JSON.parse(readFileSync(join(fixtures, 'torch.json'), 'utf8')) as { files: Record<string, Record<string, { shape: number[]; values: (number | boolean)[] }>> };

function expectMatches(file: string, loaded: Record<string, { shape: readonly number[]; toTypedArray(): ArrayLike<number> }>): void {
  const want = expected.files[file];
  expect(Object.keys(loaded)).toEqual(Object.keys(want));
  for (const [key, { shape, values }] of Object.entries(want)) {
    expect(loaded[key].shape, key).toEqual(shape);
    expect(Array.from(loaded[key].toTypedArray()), key).toEqual(values.map(Number));
  }
}

const pythonTorch = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
if (!pythonTorch) console.warn('torch.test.ts: /usr/bin/python3 with torch is not installed here; the torch.load check is skipped (apt-get install -y python3-torch)');

describe('PyTorch checkpoints (torch.save zip format)', () => {
  it('reads every storage dtype: float32/64, float16 and bfloat16 (widened), int64/int32/uint8/bool (as int32)', async () => {
    const loaded = await loadTorch(join(fixtures, 'dtypes.pt'));
    expect(loaded.f32.dtype).toBe('float32');
    expect(loaded.f64.dtype).toBe('float64');
    expect(loaded.f16.dtype).toBe('float32');
    expect(loaded.i64.dtype).toBe('int32');
    expect(loaded.scalar.shape).toEqual([]);
    expectMatches('dtypes.pt', loaded);
  });

  it('keeps strided (non-contiguous) tensors and shared storages', async () => {
    const loaded = await loadTorch(join(fixtures, 'strided.pt'));
    expectMatches('strided.pt', loaded);
    expect(loaded.transposed.isContiguous()).toBe(false);
    expect(loaded.expanded.strides).toEqual([0, 1]);
    expect(loaded.shared_a.storage).toBe(loaded.shared_b.storage);
    expect(loaded.shared_b.offset).toBe(12);
  });

  it('unwraps a checkpoint dict, and module.-prefixed keys load into a model', async () => {
    const loaded = await loadTorch(join(fixtures, 'wrapped.pt'));
    expectMatches('wrapped.pt', loaded);
    const layer = new Linear(3, 2);
    layer.loadStateDict(loaded);
    expect(Array.from(layer.weight.toTypedArray())).toEqual(expected.files['wrapped.pt']['module.weight'].values);
  });

  it('refuses a pickle that names a global a state dict does not need, without running it', async () => {
    await expect(loadTorch(join(fixtures, 'evil.pt'))).rejects.toThrowError(/evil\.pt: the pickle refers to the global posix\.system, which a state dict does not need; refusing to load it/);
  });

  it('refuses the legacy format, wrong magic and truncated archives with errors naming the file', async () => {
    await expect(loadTorch(join(fixtures, 'legacy.pt'))).rejects.toThrowError(/legacy\.pt: the legacy \(pre-1\.6, non-zip\) torch\.save format is not read/);
    expect(() => parseTorch(new TextEncoder().encode('hello world'), 'x.pt')).toThrowError(/x\.pt: not a torch\.save file \(no zip magic/);
    const bytes = readFileSync(join(fixtures, 'dtypes.pt'));
    expect(() => parseTorch(bytes.subarray(0, bytes.length - 300), 'cut.pt')).toThrowError(FormatError);
    expect(() => parseTorch(bytes.subarray(0, bytes.length - 300), 'cut.pt')).toThrowError(/cut\.pt: /);
  });

  it('fuzzed bytes (mutated or cut) only ever give a FormatError or a state dict', () => {
    const seeds = ['dtypes.pt', 'strided.pt', 'wrapped.pt'].map((f) => new Uint8Array(readFileSync(join(fixtures, f))));
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: seeds.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.option(fc.nat(), { nil: undefined }),
        (which, edits, cut) => {
          const bytes = Uint8Array.from(seeds[which]);
          for (const [at, value] of edits) bytes[at % bytes.length] = value;
          const input = cut === undefined ? bytes : bytes.subarray(0, cut % bytes.length);
          try {
            parseTorch(input, 'fuzz.pt');
          } catch (e) {
            if (!(e instanceof FormatError)) throw e;
            expect((e as Error).message.startsWith('fuzz.pt')).toBe(true);
          }
        },
      ),
      { seed: 20261129, numRuns: 400 },
    );
  });

  it('the golden parcnet_xs_c10_state_dict.pt loads into parcnetXS (aliases checked and dropped) and reproduces the golden logits', async () => {
    const state = await loadTorch(join(goldenDir, 'parcnet_xs_c10_state_dict.pt'));
    expect(Object.keys(state).length).toBe(487);
    const reference = (await loadSafetensors(join(goldenDir, 'parcnet_xs_c10_state_dict.safetensors'))).tensors;
    for (const [key, t] of Object.entries(reference)) expect(Array.from(state[key].toTypedArray()), key).toEqual(Array.from(t.toTypedArray()));
    const model = parcnetXS({ numClasses: 10, classifierDropout: 0, blockDropout: 0 });
    const report = model.loadStateDict(state);
    expect(report.aliasKeys.length).toBe(18);
    const golden = (await loadSafetensors(join(goldenDir, 'parcnet_xs_c10_eval_64.safetensors'))).tensors;
    const y = noGrad(() => model.eval().forward(golden.x));
    expect(relativeError(y, golden.y)).toBeLessThan(1e-4); // the README's forward tolerance
  });

  it('saveTorch writes the torch.save layout; loadTorch reads it back equal', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parcnet-pt-'));
    const tensors = { weight: randn([3, 4], { seed: 1 }), double: randn([2], { dtype: 'float64', seed: 2 }), count: tensor(5, { dtype: 'int32' }), 'a.b': randn([2, 3], { seed: 3 }).transpose(0, 1) };
    await saveTorch(tensors, join(dir, 'w.pt'));
    expect(readdirSync(dir)).toEqual(['w.pt']);
    const back = await loadTorch(join(dir, 'w.pt'));
    for (const [key, t] of Object.entries(tensors)) {
      expect(back[key].shape).toEqual(t.shape);
      expect(back[key].dtype).toBe(t.dtype);
      expect(Array.from(back[key].toTypedArray())).toEqual(Array.from(t.toTypedArray()));
    }
    const names = Object.keys((await import('fflate')).unzipSync(serializeTorch(tensors))).sort();
    expect(names).toEqual(['archive/byteorder', 'archive/data.pkl', 'archive/data/0', 'archive/data/1', 'archive/data/2', 'archive/data/3', 'archive/version']);
  });

  it.skipIf(!pythonTorch)('torch.load (PyTorch 1.13 via /usr/bin/python3) reads what saveTorch wrote', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parcnet-pt-'));
    const model = parcnetXS({ numClasses: 10 });
    await saveTorch(model.stateDict(), join(dir, 'xs.pt'));
    const script = [
      'import sys, json, torch',
      'sd = torch.load(sys.argv[1])',
      "print(json.dumps({'n': len(sd), 'dtypes': sorted({str(v.dtype) for v in sd.values()}), 'sum': float(sum(v.double().sum() for v in sd.values())),",
      "  'nbt': str(sd['conv_1.block.norm.num_batches_tracked'].dtype), 'alias': bool(torch.equal(sd['residual.block.exp_1x1.block.conv.weight'], sd['layer_5.0.block.exp_1x1.block.conv.weight']))}))",
    ].join('\n');
    const out = JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, join(dir, 'xs.pt')], { encoding: 'utf8' })) as { n: number; dtypes: string[]; sum: number; nbt: string; alias: boolean };
    expect(out.n).toBe(487);
    expect(out.dtypes).toEqual(['torch.float32', 'torch.int64']);
    expect(out.nbt).toBe('torch.int64');
    expect(out.alias).toBe(true);
    const sum = Object.values(model.stateDict()).reduce((s, t) => s + Array.from(t.toTypedArray()).reduce((a, b) => a + b, 0), 0);
    expect(Math.abs(out.sum - sum)).toBeLessThan(1e-6 * Math.max(1, Math.abs(sum)));
  });
});
