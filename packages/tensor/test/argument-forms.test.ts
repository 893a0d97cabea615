import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as P from '../src/index';

// Every op that takes a shape or dims takes them as PyTorch does: separate numbers or one array
// (`x.reshape(1, 3)` is `x.reshape([1, 3])`); the reductions take one dim or one array of dims.

function expectSame(a: P.Tensor, b: P.Tensor): void {
  expect(a.shape).toEqual(b.shape);
  expect(a.dtype).toBe(b.dtype);
  expect(Array.from(a.toTypedArray())).toEqual(Array.from(b.toTypedArray()));
}

const shapeArb = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 0, maxLength: 4 });

/** A shape and a float64 tensor of it with distinct values, so a misplaced element shows. */
const tensorArb = shapeArb.map((shape) => ({ shape, x: P.randn(shape, { dtype: 'float64', seed: shape.reduce((a, b) => a * 7 + b, 1) }) }));

const permutationArb = shapeArb.chain((shape) =>
  fc.tuple(fc.constant(shape), fc.shuffledSubarray(shape.map((_, i) => i), { minLength: shape.length, maxLength: shape.length })));

const run = { seed: 42, numRuns: 60 };

describe('sizes and dims as separate numbers or one array', () => {
  it('reshape and view: x.reshape(...s), x.reshape(s), reshape(x, ...s) and reshape(x, s) agree, -1 included', () => {
    fc.assert(
      fc.property(permutationArb, fc.nat(), ([shape, order], at) => {
        const x = P.arange(shape.reduce((a, b) => a * b, 1), undefined, 1, { dtype: 'float32' });
        const target = order.map((d) => shape[d]);
        if (target.length > 0) target[at % target.length] = -1;
        const expected = x.reshape(target);
        expect(expected.size).toBe(x.size);
        for (const other of [x.reshape(...target), x.view(...target), x.view(target), P.reshape(x, ...target), P.reshape(x, target)]) {
          expectSame(other, expected);
        }
      }),
      run,
    );
  });

  it('permute: x.permute(...d), x.permute(d), permute(x, ...d) and permute(x, d) agree', () => {
    fc.assert(
      fc.property(permutationArb, ([shape, order]) => {
        const x = P.randn(shape, { seed: shape.length });
        const expected = x.permute(order);
        expect(expected.shape).toEqual(order.map((d) => shape[d]));
        for (const other of [x.permute(...order), P.permute(x, ...order), P.permute(x, order)]) expectSame(other, expected);
      }),
      run,
    );
  });

  it('expand: x.expand(...s), x.expand(s), expand(x, ...s) and expand(x, s) agree, -1 included', () => {
    const caseArb = fc.record({
      shape: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 0, maxLength: 3 }),
      lead: fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 2 }),
      grow: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 3, maxLength: 3 }),
      keep: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
    });
    fc.assert(
      fc.property(caseArb, ({ shape, lead, grow, keep }) => {
        const x = P.randn(shape.map((d, i) => (keep[i] ? d : 1)), { dtype: 'float64', seed: 7 });
        // A size-1 dim grows to `grow`, others stay or are written -1.
        const target = [...lead, ...x.shape.map((d, i) => (d === 1 ? grow[i] : keep[i] && i % 2 === 0 ? -1 : d))];
        const expected = x.expand(target);
        for (const other of [x.expand(...target), P.expand(x, ...target), P.expand(x, target)]) expectSame(other, expected);
      }),
      run,
    );
  });

  it('repeat and tile: x.repeat(...r), x.repeat(r), x.tile(...r), x.tile(r) and the functions agree', () => {
    fc.assert(
      fc.property(tensorArb, fc.array(fc.integer({ min: 0, max: 3 }), { maxLength: 5 }), ({ x }, counts) => {
        const tiled = x.tile(counts);
        for (const other of [x.tile(...counts), P.tile(x, ...counts), P.tile(x, counts)]) expectSame(other, tiled);
        const repeats = [...new Array<number>(Math.max(0, x.ndim - counts.length)).fill(2), ...counts];
        const repeated = x.repeat(repeats);
        for (const other of [x.repeat(...repeats), P.repeat(x, ...repeats), P.repeat(x, repeats)]) expectSame(other, repeated);
      }),
      run,
    );
  });

  it('flip: x.flip(...d), x.flip(d), flip(x, ...d) and flip(x, d) agree', () => {
    fc.assert(
      fc.property(tensorArb.chain(({ shape, x }) => fc.tuple(fc.constant(x), fc.subarray(shape.map((_, i) => i - shape.length)))), ([x, dims]) => {
        const expected = x.flip(dims);
        for (const other of [x.flip(...dims), P.flip(x, ...dims), P.flip(x, dims)]) expectSame(other, expected);
      }),
      run,
    );
  });

  it('sum and mean: one dim equals an array of that dim; method and function agree; keepdim stays second', () => {
    const caseArb = shapeArb.filter((s) => s.length > 0).chain((shape) =>
      fc.tuple(fc.constant(shape), fc.integer({ min: -shape.length, max: shape.length - 1 }), fc.subarray(shape.map((_, i) => i)), fc.boolean()));
    fc.assert(
      fc.property(caseArb, ([shape, axis, axes, keepdim]) => {
        const x = P.randn(shape, { dtype: 'float64', seed: 5 });
        expectSame(x.sum(axis, keepdim), x.sum([axis], keepdim));
        expectSame(P.sum(x, axis, keepdim), x.sum([axis], keepdim));
        expectSame(x.mean(axis, keepdim), x.mean([axis], keepdim));
        expectSame(P.mean(x, axis, keepdim), x.mean([axis], keepdim));
        expectSame(P.sum(x, axes, keepdim), x.sum(axes, keepdim));
        expectSame(P.mean(x, axes, keepdim), x.mean(axes, keepdim));
      }),
      run,
    );
  });

  it('zeros, ones, rand and randn: separate sizes or one array, with or without trailing options', () => {
    const optionsArb = fc.record({ dtype: fc.constantFrom<P.DType>('float32', 'float64'), seed: fc.nat(1000) });
    fc.assert(
      fc.property(shapeArb, optionsArb, (shape, options) => {
        expectSame(P.zeros(...shape), P.zeros(shape));
        expectSame(P.zeros(...shape, options), P.zeros(shape, options));
        expectSame(P.ones(...shape), P.ones(shape));
        expectSame(P.ones(...shape, options), P.ones(shape, options));
        expectSame(P.rand(...shape, options), P.rand(shape, options));
        expectSame(P.randn(...shape, options), P.randn(shape, options));
        expect(P.zeros(...shape, options).dtype).toBe(options.dtype);
        expect(P.ones(...shape).shape).toEqual(shape);
      }),
      run,
    );
    expect(P.zeros(2, 3, { dtype: 'float64' }).shape).toEqual([2, 3]);
    expect(P.zeros([2, 3], { dtype: 'float64' }).dtype).toBe('float64');
    expect(P.zeros().shape).toEqual([]);
    expect(P.ones([2], undefined).shape).toEqual([2]);
  });
});

/** A call of a method or function with arguments its types refuse, as plain JavaScript could make. */
const untyped = (f: unknown, self?: unknown) => (...args: unknown[]) => (): unknown => (f as (...a: unknown[]) => unknown).apply(self, args);

describe('bad sizes and dims', () => {
  const x = P.zeros(2, 3);

  it('an array mixed with more arguments', () => {
    expect(untyped(x.reshape, x)([2, 3], 1)).toThrow(P.ShapeError);
    expect(untyped(x.reshape, x)([2, 3], 1)).toThrow('reshape: expected the sizes as separate numbers or as one array, got ([2, 3], 1)');
    expect(untyped(x.view, x)(6, [1])).toThrow('view: expected the sizes as separate numbers or as one array, got (6, [1])');
    expect(untyped(x.permute, x)([1], [0])).toThrow('permute: expected the dims as separate numbers or as one array, got ([1], [0])');
    expect(untyped(P.flip)(x, [0], 1)).toThrow('flip: expected the dims as separate numbers or as one array, got ([0], 1)');
    expect(untyped(P.zeros)(2, [3])).toThrow('zeros: expected the sizes as separate numbers or as one array, got (2, [3])');
    expect(untyped(P.randn)([2], 3, { seed: 1 })).toThrow('randn: expected the sizes as separate numbers or as one array, got ([2], 3)');
  });

  it('sizes and dims that are not integers', () => {
    expect(untyped(x.reshape, x)(2, 1.5)).toThrow('reshape: sizes must be integers, got (2, 1.5)');
    expect(untyped(x.expand, x)([2, '3'])).toThrow('expand: sizes must be integers, got ([2, "3"])');
    expect(untyped(x.permute, x)(0, 0.5)).toThrow('permute: dims must be integers, got (0, 0.5)');
    expect(untyped(P.ones)(2, NaN)).toThrow('ones: sizes must be integers, got (2, NaN)');
    expect(untyped(P.rand)([[2]])).toThrow('rand: sizes must be integers, got ([[2]])');
    expect(untyped(x.tile, x)(2, null)).toThrow(P.ShapeError);
    expect(untyped(P.zeros)(2, { dtype: 'float64' }, 3)).toThrow('zeros: sizes must be integers, got (2, {…}, 3)');
    expect(untyped(P.zeros)(undefined)).toThrow('zeros: sizes must be integers, got (undefined)');
  });

  it('sizes out of range', () => {
    expect(() => P.zeros(2, -1)).toThrow('zeros: shape [2, -1] must hold non-negative integers');
    expect(() => x.reshape(-1, -1)).toThrow(/reshape: invalid shape \[-1, -1\]/);
    expect(() => x.expand(-2, 3)).toThrow('expand: invalid size -2 at dim 0 of [-2, 3] (sizes are non-negative; -1 only keeps an existing dim)');
    expect(() => x.expand(-1, 2, 3)).toThrow(/expand: invalid size -1 at dim 0/);
    expect(() => x.repeat(2)).toThrow('repeat: 1 repeat counts [2] are fewer than the 2 dims of shape [2, 3]');
    expect(() => x.repeat(2, -1)).toThrow('repeat: repeat counts [2, -1] must be non-negative');
    expect(() => x.tile(-1)).toThrow('tile: repeat counts [1, -1] must be non-negative');
  });

  it('full and randint take their size as one array, as torch.full and torch.randint do', () => {
    expect(untyped(P.full)(2, 7)).toThrow('full: size must be one array of integers, got 2');
    expect(untyped(P.randint)(0, 5, 3)).toThrow('randint: size must be one array of integers, got 3');
  });

  it('reductions: a second dim where keepdim goes, and dims that are not integers', () => {
    expect(untyped(x.sum, x)(0, 1)).toThrow('sum: keepdim must be true or false, got 1 (several dims go in one array: sum(x, [0, 1]))');
    expect(untyped(P.mean)(x, 0, 1)).toThrow(/^mean: keepdim must be true or false, got 1/);
    expect(untyped(P.max)(x, 0, 1)).toThrow(P.ShapeError);
    expect(untyped(P.sum)(x, '0')).toThrow('sum: dim must be an integer or an array of integers, got "0"');
    expect(() => P.sum(x, [0.5])).toThrow('sum: dim must be an integer, got 0.5');
  });
});
