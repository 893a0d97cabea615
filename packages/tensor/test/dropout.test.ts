import { describe, expect, it } from 'vitest';
import * as P from '../src/index';
import { dropoutKeepBelow } from '../src/ops/dropout';

// dropout / dropout2d as torch.nn.functional's, with the mask defined exactly: element i is kept iff
// the generator's i-th nextUint32() is below round((1 − p) · 2³²). Float32 runs on the WASM kernel
// (the test setup registers it), float64 on the reference.

const ones = (shape: number[], dtype: P.FloatDType = 'float32'): P.Tensor => P.ones(shape, { dtype });
const values = (t: P.Tensor): number[] => Array.from(t.toTypedArray());

describe('dropout', () => {
  for (const dtype of ['float32', 'float64'] as const) {
    it(`keeps element i iff the i-th 32-bit draw is below round((1 − p) · 2³²), as exactly 1/(1 − p) or 0 (${dtype})`, () => {
      for (const [p, size] of [[0.3, 1], [0.3, 3], [0.5, 5], [0.1, 1001], [0.9, 4099]] as const) {
        const y = values(P.dropout(ones([size], dtype), p, true, { seed: 7 }));
        const draws = new P.Generator(7);
        const scale = dtype === 'float32' ? Math.fround(1 / (1 - p)) : 1 / (1 - p);
        const expected = Array.from({ length: size }, () => (draws.nextUint32() < Math.round((1 - p) * 2 ** 32) ? scale : 0));
        expect(y).toEqual(expected);
      }
    });
  }

  it('keeps 1 − p of 100k elements (within 4.5 standard deviations; a threshold off by 1 % of 2³² fails)', () => {
    const n = 100_000;
    for (const p of [0.05, 0.3, 0.5, 0.9]) {
      const kept = values(P.dropout(ones([n]), p, true, { seed: 11 })).filter((v) => v !== 0).length;
      const sd = Math.sqrt(p * (1 - p) / n);
      expect(Math.abs(kept / n - (1 - p)), `p = ${p}`).toBeLessThan(4.5 * sd);
    }
  });

  it('is reproducible from a seed or a generator and differs between seeds', () => {
    const x = P.randn([3, 5, 7], { seed: 1 });
    const a = values(P.dropout(x, 0.4, true, { seed: 3 }));
    expect(values(P.dropout(x, 0.4, true, { generator: new P.Generator(3) }))).toEqual(a);
    expect(values(P.dropout(x, 0.4, true, { seed: 4 }))).not.toEqual(a);
  });

  it('advances the generator by one nextUint32() per element (lengths 1, 3, 5, 1001) and leaves the spare normal', () => {
    for (const size of [1, 3, 5, 1001]) {
      const generator = new P.Generator(size);
      generator.normal(); // leaves a spare normal
      const twin = new P.Generator();
      twin.setState(generator.getState());
      P.dropout(ones([size]), 0.25, true, { generator });
      for (let i = 0; i < size; i++) twin.nextUint32();
      expect(generator.getState()).toEqual(twin.getState());
      expect(generator.normal()).toBe(twin.normal());
      expect(generator.nextUint32()).toBe(twin.nextUint32());
    }
  });

  it('passes input through when not training, for p = 0 and for an empty tensor, without drawing', () => {
    const x = P.randn([4, 4], { seed: 2 });
    const generator = new P.Generator(5);
    const before = generator.getState();
    expect(P.dropout(x, 0.5, false, { generator })).toBe(x);
    expect(P.dropout(x, 0, true, { generator })).toBe(x);
    expect(P.dropout(P.zeros([0, 3]), 0.5, true, { generator }).shape).toEqual([0, 3]);
    expect(generator.getState()).toEqual(before);
  });

  it('p = 1 gives x · 0 without drawing; p within 2⁻³³ of 1 keeps nothing, p below 2⁻³³ keeps everything, no overflow', () => {
    const x = P.randn([6, 7], { seed: 2 });
    const generator = new P.Generator(5);
    const before = generator.getState();
    expect(values(P.dropout(x, 1, true, { generator })).every((v) => v === 0)).toBe(true);
    expect(generator.getState()).toEqual(before);
    expect(dropoutKeepBelow(0)).toBe(2 ** 32);
    expect(dropoutKeepBelow(1 - 2 ** -40)).toBe(0);
    expect(values(P.dropout(ones([1003]), 1 - 2 ** -40, true, { seed: 1 })).every((v) => v === 0)).toBe(true);
    expect(dropoutKeepBelow(2 ** -40)).toBe(2 ** 32);
    expect(values(P.dropout(ones([1003]), 2 ** -40, true, { seed: 1 })).every((v) => v === 1)).toBe(true);
  });

  it('refuses p outside [0, 1] (naming the op and the value) and integer input', () => {
    const x = P.ones([2]);
    expect(() => P.dropout(x, 1.5)).toThrow(/^dropout: p must be a probability in \[0, 1\], got 1.5$/);
    expect(() => P.dropout(x, -0.1, false)).toThrow(RangeError);
    expect(() => P.dropout(x, Number.NaN)).toThrow(/got NaN/);
    expect(() => P.dropout2d(P.ones([1, 1, 1, 1]), 2)).toThrow(/^dropout2d: p must be a probability in \[0, 1\], got 2$/);
    expect(() => P.dropout(P.ones([2], { dtype: 'int32' }), 0.5)).toThrow(P.DTypeError);
  });
});

describe('dropout2d', () => {
  it('draws once per channel, in (n, c) order, and broadcasts the mask over H and W', () => {
    const y = P.dropout2d(ones([3, 5, 2, 3]), 0.5, true, { seed: 9 });
    const mask = values(P.dropout(ones([3, 5]), 0.5, true, { seed: 9 }));
    const planes = y.reshape(15, 6).toArray() as number[][];
    planes.forEach((plane, i) => expect(plane).toEqual(new Array<number>(6).fill(mask[i])));
    const generator = new P.Generator(9);
    P.dropout2d(ones([3, 5, 2, 3]), 0.5, true, { generator });
    const twin = new P.Generator(9);
    for (let i = 0; i < 15; i++) twin.nextUint32();
    expect(generator.getState()).toEqual(twin.getState());
  });

  it('needs [N, C, H, W] in training; zeros for p = 1; the input itself in eval', () => {
    expect(() => P.dropout2d(P.ones([5, 2, 3]), 0.5)).toThrow(/^dropout2d: expected input \[N, C, H, W\], got \[5, 2, 3\]$/);
    const x = P.randn([2, 3, 2, 2], { seed: 1 });
    expect(P.dropout2d(x, 0.5, false)).toBe(x);
    expect(values(P.dropout2d(x, 1)).every((v) => v === 0)).toBe(true);
  });
});
