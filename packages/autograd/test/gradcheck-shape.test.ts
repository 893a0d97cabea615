import fc from 'fast-check';
import { describe } from 'vitest';
import * as P from '@parcnet/tensor';
import { leafArb, makeLeaf, shapeArb } from './arbitraries';
import { gradProperty } from './suite';

const withAxis = (minDims: number) =>
  leafArb(shapeArb(minDims, 4)).chain((spec) =>
    fc.tuple(fc.constant(spec), fc.integer({ min: -Math.max(spec.shape.length, 1), max: Math.max(spec.shape.length - 1, 0) })),
  );

const withAxes = leafArb(shapeArb(0, 4)).chain((spec) =>
  fc.tuple(
    fc.constant(spec),
    fc.option(fc.subarray(spec.shape.map((_, i) => i)), { nil: undefined }),
    fc.boolean(),
  ),
);

describe('views', () => {
  gradProperty('reshape', leafArb(shapeArb(0, 4)), (a) => ({ fn: (x) => P.reshape(x, [-1]), inputs: [makeLeaf(a)] }));
  gradProperty('reshape to 2-D', leafArb(shapeArb(2, 4)), (a) => ({
    fn: (x) => P.reshape(x, [x.shape[0], -1]), inputs: [makeLeaf(a)],
  }));
  gradProperty('permute', leafArb(shapeArb(1, 4)).chain((a) => fc.tuple(fc.constant(a), fc.shuffledSubarray(a.shape.map((_, i) => i), { minLength: a.shape.length }))),
    ([a, order]) => ({ fn: (x) => P.mul(P.permute(x, order), P.arange(x.size).reshape(...order.map((d) => x.shape[d])).to('float64')), inputs: [makeLeaf(a)] }));
  gradProperty('transpose', leafArb(shapeArb(2, 4)), (a) => ({ fn: (x) => P.transpose(x, 0, -1), inputs: [makeLeaf(a)] }));
  gradProperty('squeeze and unsqueeze', withAxis(0), ([a, axis]) => ({
    fn: (x) => P.unsqueeze(P.squeeze(x, axis), 0).mul(3), inputs: [makeLeaf(a)],
  }));
  gradProperty('unsqueeze at any dim', withAxis(0), ([a, axis]) => ({ fn: (x) => P.unsqueeze(x, axis), inputs: [makeLeaf(a)] }));
  gradProperty('expand', leafArb(shapeArb(1, 3)), (a) => ({
    fn: (x) => P.expand(x, [2, ...x.shape.map((d) => (d === 1 ? 3 : d))]), inputs: [makeLeaf(a)],
  }));
  gradProperty('flip', withAxis(1), ([a, axis]) => ({ fn: (x) => P.mul(P.flip(x, [axis]), P.arange(x.size).reshape(...x.shape).to('float64')), inputs: [makeLeaf(a)] }));
  gradProperty('slice with step', withAxis(1).chain(([a, axis]) => fc.tuple(fc.constant(a), fc.constant(axis), fc.integer({ min: -3, max: 3 }), fc.integer({ min: 1, max: 3 }))),
    ([a, axis, start, step]) => ({ fn: (x) => P.slice(x, axis, start, undefined, step), inputs: [makeLeaf(a)] }));
  gradProperty('select', withAxis(1), ([a, axis]) => ({ fn: (x) => P.select(x, axis, -1), inputs: [makeLeaf(a)] }));
  gradProperty('contiguous', leafArb(shapeArb(0, 4)), (a) => ({ fn: (x) => P.contiguous(x).mul(2), inputs: [makeLeaf(a)] }));
  gradProperty('roll', withAxis(1).chain(([a, axis]) => fc.tuple(fc.constant(a), fc.constant(axis), fc.integer({ min: -7, max: 7 }))),
    ([a, axis, shift]) => ({ fn: (x) => P.mul(P.roll(x, shift, axis), P.arange(x.size).reshape(...x.shape).to('float64')), inputs: [makeLeaf(a)] }));
});

describe('joining and splitting', () => {
  const sameShapes = leafArb(shapeArb(1, 3)).chain((a) => fc.tuple(fc.constant(a), leafArb(fc.constant(a.shape)), fc.nat({ max: a.shape.length - 1 })));
  gradProperty('concat', sameShapes, ([a, b, axis]) => ({ fn: (x, y) => P.concat([x, y, x], axis), inputs: [makeLeaf(a), makeLeaf(b)] }));
  gradProperty('stack', sameShapes, ([a, b, axis]) => ({ fn: (x, y) => P.stack([x, y], axis + 1), inputs: [makeLeaf(a), makeLeaf(b)] }));
  gradProperty('split', sameShapes.chain(([a, , axis]) => fc.tuple(fc.constant(a), fc.constant(axis), fc.integer({ min: 1, max: 3 }))),
    ([a, axis, size]) => ({ fn: (x) => P.split(x, size, axis).map((part, i) => part.mul(i + 1)), inputs: [makeLeaf(a)] }));
  gradProperty('chunk', sameShapes.chain(([a, , axis]) => fc.tuple(fc.constant(a), fc.constant(axis), fc.integer({ min: 1, max: 4 }))),
    ([a, axis, chunks]) => ({ fn: (x) => P.chunk(x, chunks, axis)[0], inputs: [makeLeaf(a)] }));
  gradProperty('indexSelect', withAxis(1).chain(([a, axis]) => fc.tuple(fc.constant(a), fc.constant(axis), fc.array(fc.nat({ max: 100 }), { minLength: 1, maxLength: 6 }))),
    ([a, axis, picks]) => {
      const size = a.shape[(axis + a.shape.length) % a.shape.length];
      return { fn: (x) => P.indexSelect(x, axis, picks.map((p) => p % size)), inputs: [makeLeaf(a)] };
    });
  gradProperty('gather', withAxis(1).chain(([a, axis]) => fc.tuple(fc.constant(a), fc.constant(axis), fc.integer({ min: 0, max: 1000 }))),
    ([a, axis, seed]) => {
      const d = (axis + a.shape.length) % a.shape.length;
      const indexShape = a.shape.map((n, i) => (i === d ? 3 : n));
      const index = P.randint(0, a.shape[d], indexShape, { seed });
      return { fn: (x) => P.gather(x, axis, index), inputs: [makeLeaf(a)] };
    });
  gradProperty('pad', fc.tuple(leafArb(shapeArb(2, 4).map((s) => s.map((d) => d + 2))), fc.constantFrom<P.PadMode>('constant', 'circular', 'reflect'),
    fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 4, maxLength: 4 })),
  ([a, mode, pads]) => ({ fn: (x) => P.mul(P.pad(x, pads, { mode, value: 0.25 }), 1.5), inputs: [makeLeaf(a)] }));
});

describe('reductions', () => {
  gradProperty('sum', withAxes, ([a, axes, keepdim]) => ({ fn: (x) => P.sum(x, axes, keepdim), inputs: [makeLeaf(a)] }));
  gradProperty('mean', withAxes, ([a, axes, keepdim]) => ({ fn: (x) => P.mean(x, axes, keepdim), inputs: [makeLeaf(a)] }));
  gradProperty('var (biased and unbiased)', withAxes.filter(([a, axes]) => (axes ?? a.shape.map((_, i) => i)).reduce((n, i) => n * a.shape[i], 1) > 1),
    ([a, axes, keepdim]) => ({ fn: (x) => P.variance(x, axes, { unbiased: keepdim, keepdim }), inputs: [makeLeaf(a)] }));
  gradProperty('max', withAxes, ([a, axes, keepdim]) => ({ fn: (x) => P.max(x, axes, keepdim), inputs: [makeLeaf(a)] }));
  gradProperty('min', withAxes, ([a, axes, keepdim]) => ({ fn: (x) => P.min(x, axes, keepdim), inputs: [makeLeaf(a)] }));
  gradProperty('logsumexp', withAxes, ([a, axes, keepdim]) => ({ fn: (x) => P.logsumexp(x, axes, keepdim), inputs: [makeLeaf(a)] }));
  gradProperty('softmax', withAxis(1), ([a, axis]) => ({ fn: (x) => P.mul(P.softmax(x, axis), P.arange(x.size).reshape(...x.shape).to('float64')), inputs: [makeLeaf(a)] }));
  gradProperty('logSoftmax', withAxis(1), ([a, axis]) => ({ fn: (x) => P.logSoftmax(x, axis), inputs: [makeLeaf(a)] }));
});
