import { readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FormatError } from '@parcnet/tensor';
import { findCifarBinary, readCifarBinary, writeCifarBinary, loadCifar10, loadCifar100 } from '../src/index';
import { randomDataset, temporaryDir } from './helpers';

describe('CIFAR binary format', () => {
  it('reads back CIFAR-10 fixtures written in the official layout (5 train batches, record = label + R, G, B planes)', () => {
    const dir = temporaryDir();
    const train = randomDataset(10, 7, 1);
    const test = randomDataset(10, 3, 2);
    writeCifarBinary(dir, { train, test });
    // The record layout itself: byte 0 is the label, then 1024 red values.
    const first = readFileSync(join(dir, 'data_batch_1.bin'));
    expect(first.length % 3073).toBe(0);
    expect(first[0]).toBe(train.labels[0]);
    expect(Array.from(first.subarray(1, 1025))).toEqual(Array.from(train.images.subarray(0, 1024)));
    expect(readFileSync(join(dir, 'batches.meta.txt'), 'utf8').trim().split('\n')).toEqual(train.classes);

    const readTrain = readCifarBinary(dir, 'train');
    expect(readTrain.length).toBe(70);
    expect(readTrain.classes).toEqual(train.classes);
    expect(Buffer.from(readTrain.images).equals(Buffer.from(train.images))).toBe(true);
    expect(Array.from(readTrain.labels)).toEqual(Array.from(train.labels));
    const readTest = readCifarBinary(dir, 'test');
    expect(Buffer.from(readTest.images).equals(Buffer.from(test.images))).toBe(true);
  });

  it('reads CIFAR-100 (coarse then fine label byte; the fine label is the class)', () => {
    const dir = join(temporaryDir(), 'cifar-100-binary');
    const train = randomDataset(100, 2, 3);
    writeCifarBinary(dir, { train, test: randomDataset(100, 1, 4) }, 'cifar100');
    const bytes = readFileSync(join(dir, 'train.bin'));
    expect(bytes.length).toBe(200 * 3074);
    expect(bytes[1]).toBe(train.labels[0]);
    // Found through the official subfolder name as well.
    expect(findCifarBinary(join(dir, '..'), 'cifar100')).toBe(dir);
    const read = readCifarBinary(join(dir, '..'), 'train', 'cifar100');
    expect(Array.from(read.labels)).toEqual(Array.from(train.labels));
  });

  it('loadCifar10 and loadCifar100 accept the binary layout through --data', async () => {
    const dir = temporaryDir();
    writeCifarBinary(dir, { train: randomDataset(10, 2, 5), test: randomDataset(10, 1, 6) });
    expect((await loadCifar10({ split: 'test', data: dir, download: false })).length).toBe(10);
    const dir100 = temporaryDir();
    writeCifarBinary(dir100, { train: randomDataset(100, 1, 5), test: randomDataset(100, 1, 6) }, 'cifar100');
    expect((await loadCifar100({ split: 'train', data: dir100, download: false })).length).toBe(100);
  });

  it('refuses a truncated batch, a wrong record size and an out-of-range label, naming the file', () => {
    const dir = temporaryDir();
    writeCifarBinary(dir, { train: randomDataset(10, 5, 7), test: randomDataset(10, 1, 8) });
    const batch = join(dir, 'data_batch_3.bin');
    truncateSync(batch, statSync(batch).size - 100);
    expect(() => readCifarBinary(dir, 'train')).toThrowError(FormatError);
    expect(() => readCifarBinary(dir, 'train')).toThrowError(/data_batch_3\.bin: \d+ bytes is not a whole number of 3073-byte cifar10 records/);
    // CIFAR-100 records (3074 bytes) handed to the CIFAR-10 reader: the size gives it away.
    writeFileSync(join(dir, 'test_batch.bin'), new Uint8Array(3074 * 3));
    expect(() => readCifarBinary(dir, 'test')).toThrowError(/test_batch\.bin: 9222 bytes is not a whole number of 3073-byte/);
    const bad = new Uint8Array(3073);
    bad[0] = 12;
    writeFileSync(join(dir, 'test_batch.bin'), bad);
    expect(() => readCifarBinary(dir, 'test')).toThrowError(/test_batch\.bin: record 0 has label 12, cifar10 has 10 classes/);
  });

  it('says which files are missing', () => {
    const dir = temporaryDir();
    writeCifarBinary(dir, { test: randomDataset(10, 1, 9) });
    expect(() => readCifarBinary(dir, 'train')).toThrowError(/missing .*data_batch_1\.bin/);
    expect(() => readCifarBinary(temporaryDir(), 'test')).toThrowError(/no test_batch\.bin in/);
  });
});
