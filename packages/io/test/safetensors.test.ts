import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FormatError, randn, tensor } from '@parcnet/tensor';
import { loadSafetensors, parseSafetensors, saveSafetensors, saveTorch, serializeSafetensors } from '../src/index';

describe('safetensors', () => {
  it('round-trips float32, float64 and int32 (optionally as int64) with metadata, keys sorted', async () => {
    const tensors = { b: randn([2, 3], { seed: 1 }), a: randn([4], { dtype: 'float64', seed: 2 }), n: tensor(7, { dtype: 'int32' }) };
    const dir = mkdtempSync(join(tmpdir(), 'parcnet-st-'));
    const path = join(dir, 'w.safetensors');
    await saveSafetensors(tensors, path, { metadata: { format: 'pt' }, int64Keys: (k) => k === 'n' });
    expect(readdirSync(dir)).toEqual(['w.safetensors']);
    const bytes = readFileSync(path);
    const headerLength = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
    expect(Object.keys(header)).toEqual(['__metadata__', 'a', 'b', 'n']);
    expect(header.n.dtype).toBe('I64');
    expect((8 + headerLength) % 8).toBe(0);
    const loaded = await loadSafetensors(path);
    expect(loaded.metadata).toEqual({ format: 'pt' });
    for (const [k, t] of Object.entries(tensors)) {
      expect(loaded.tensors[k].shape).toEqual(t.shape);
      expect(Array.from(loaded.tensors[k].toTypedArray())).toEqual(Array.from(t.toTypedArray()));
    }
  });

  it('saveSafetensors and saveTorch take PyTorch\'s order; the old path-first order is a TypeError that shows the right one, writing nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parcnet-order-'));
    const path = join(dir, 'w.safetensors');
    const tensors = { w: randn([2], { seed: 1 }) };
    const oldOrder = saveSafetensors as unknown as (path: string, tensors: object) => Promise<void>;
    await expect(oldOrder(path, tensors)).rejects.toThrow(TypeError);
    await expect(oldOrder(path, tensors)).rejects.toThrow('saveSafetensors(tensors, path, options?)');
    const oldTorch = saveTorch as unknown as (path: string, tensors: object) => Promise<void>;
    await expect(oldTorch(join(dir, 'w.pt'), tensors)).rejects.toThrow('saveTorch(tensors, path)');
    await expect(saveSafetensors({ w: [1, 2] } as unknown as Record<string, never>, path)).rejects.toThrow('"w" is an array of 2, not a Tensor');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('refuses truncated bytes, bad JSON, unknown dtypes and offsets outside the data, naming the file', () => {
    const good = serializeSafetensors({ w: randn([2, 2], { seed: 3 }) });
    expect(() => parseSafetensors(good.subarray(0, 5), 'x.safetensors')).toThrow(/x.safetensors: not a safetensors file/);
    expect(() => parseSafetensors(good.subarray(0, good.length - 4), 'x.safetensors')).toThrow(FormatError);
    const bad = good.slice();
    bad[9] = 0x7b; // break the JSON
    bad[8] = 0x5d;
    expect(() => parseSafetensors(bad, 'x.safetensors')).toThrow(/x.safetensors: the header is not valid UTF-8 JSON/);
    const header = new TextEncoder().encode(JSON.stringify({ w: { dtype: 'Q8', shape: [1], data_offsets: [0, 1] } }));
    const odd = new Uint8Array(8 + header.length + 1);
    new DataView(odd.buffer).setBigUint64(0, BigInt(header.length), true);
    odd.set(header, 8);
    expect(() => parseSafetensors(odd, 'y.safetensors')).toThrow(/y.safetensors: tensor w has unknown dtype "Q8"/);
  });
});

describe('safetensors under fuzzing', () => {
  it('mutated or cut files only ever give a FormatError or tensors', async () => {
    const fc = (await import('fast-check')).default;
    const good = serializeSafetensors({ w: randn([3, 4], { seed: 5 }), b: randn([4], { dtype: 'float64', seed: 6 }), n: tensor(2, { dtype: 'int32' }) }, { metadata: { a: 'b' } });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }), fc.option(fc.nat(), { nil: undefined }), (edits, cut) => {
        const bytes = Uint8Array.from(good);
        for (const [at, value] of edits) bytes[at % bytes.length] = value;
        try {
          parseSafetensors(cut === undefined ? bytes : bytes.subarray(0, cut % bytes.length), 'fuzz.safetensors');
        } catch (e) {
          if (!(e instanceof FormatError)) throw e;
        }
      }),
      { seed: 20261129, numRuns: 400 },
    );
  });
});
