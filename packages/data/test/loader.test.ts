import { describe, expect, it } from 'vitest';
import type { Batch } from '../src/index';
import { DataLoader, type TransformSpec } from '../src/index';
import { randomDataset } from './helpers';

const AUGMENT: TransformSpec[] = [{ name: 'randomCrop', size: 32, padding: 4 }, { name: 'horizontalFlip' }, { name: 'toFloat' }];

async function collect(loader: DataLoader, epoch: number, start = 0): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of loader.epoch(epoch, start)) out.push(b);
  return out;
}

const bytesOf = (batches: Batch[]): Buffer => Buffer.concat(batches.map((b) => Buffer.from((b.images.toTypedArray() as Float32Array).buffer)));

describe('DataLoader', () => {
  it('visits every image once per epoch in a seeded order that changes with the epoch; dropLast drops the short batch', async () => {
    const dataset = randomDataset(10, 5, 1); // 50 images
    const loader = new DataLoader(dataset, { batchSize: 8, shuffle: true, seed: 3, workers: 0 });
    expect(loader.batchesPerEpoch).toBe(7);
    const order0 = Array.from(loader.order(0));
    expect([...order0].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(order0).not.toEqual(Array.from(loader.order(1)));
    expect(order0).toEqual(Array.from(new DataLoader(dataset, { batchSize: 8, shuffle: true, seed: 3, workers: 0 }).order(0)));
    const batches = await collect(loader, 0);
    expect(batches.map((b) => b.labels.shape[0])).toEqual([8, 8, 8, 8, 8, 8, 2]);
    expect(batches.flatMap((b) => Array.from(b.labels.toTypedArray()))).toEqual(order0.map((i) => dataset.labels[i]));
    // Without augmentation the pixels are the dataset's, in the epoch's order.
    expect(Array.from(batches[0].images.toTypedArray().subarray(0, 5))).toEqual(Array.from(dataset.images.subarray(order0[0] * 3072, order0[0] * 3072 + 5)));
    const dropping = new DataLoader(dataset, { batchSize: 8, dropLast: true, workers: 0 });
    expect((await collect(dropping, 0)).map((b) => b.labels.shape[0])).toEqual([8, 8, 8, 8, 8, 8]);
  });

  it('makes the same batches on worker threads as on the calling thread, and resumes mid-epoch to the same tail', async () => {
    const dataset = randomDataset(4, 10, 2);
    const options = { batchSize: 6, shuffle: true, seed: 11, transforms: AUGMENT };
    const inline = new DataLoader(dataset, { ...options, workers: 0 });
    const threaded = new DataLoader(dataset, { ...options, workers: 2, prefetch: 3 });
    try {
      const a = await collect(inline, 2);
      const b = await collect(threaded, 2);
      expect(a.length).toBe(7);
      expect(b[0].images.shape).toEqual([6, 3, 32, 32]);
      expect(bytesOf(a).equals(bytesOf(b))).toBe(true);
      const tail = await collect(threaded, 2, 4);
      expect(tail.map((t) => t.index)).toEqual([4, 5, 6]);
      expect(bytesOf(tail).equals(bytesOf(a.slice(4)))).toBe(true);
      // Augmentation differs between epochs.
      expect(bytesOf(await collect(inline, 3)).equals(bytesOf(a))).toBe(false);
      expect(threaded.stats.batches).toBe(10);
    } finally {
      await threaded.close();
    }
  });

  it('reports a pipeline that makes images of different sizes, and refuses a bad batch size', async () => {
    const dataset = randomDataset(2, 2, 3);
    const loader = new DataLoader(dataset, { batchSize: 4, transforms: [{ name: 'randomResizedCrop', size: 8 }, { name: 'resize', size: 4 }], workers: 0 });
    // Square crops resized to a shorter side of 4 stay 4×4, so this pipeline is fine …
    expect((await collect(loader, 0))[0].images.shape).toEqual([4, 3, 4, 4]);
    expect(() => new DataLoader(dataset, { batchSize: 0 })).toThrowError(/batchSize must be a positive integer, got 0/);
  });
});
