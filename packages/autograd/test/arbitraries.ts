import fc from 'fast-check';
import { randn, storageOffsets, type Tensor } from '@parcnet/tensor';

/**
 * fast-check generators for the gradient-check suite: small shapes rich in dims of size 1 and odd
 * sizes, and float64 leaf tensors laid out contiguously or as non-contiguous views.
 */

/** The seed every property in the suite runs with. */
export const SEED = 20261128;
export const RUNS = 50;

export const dimArb = fc.constantFrom(1, 1, 2, 3, 4, 5);

export function shapeArb(minDims = 0, maxDims = 3): fc.Arbitrary<number[]> {
  return fc.array(dimArb, { minLength: minDims, maxLength: maxDims });
}

export type Layout = 'contiguous' | 'permuted' | 'stepped';
export const layoutArb: fc.Arbitrary<Layout> = fc.constantFrom('contiguous', 'permuted', 'stepped');

export interface LeafSpec {
  shape: number[];
  layout: Layout;
  seed: number;
}

export function leafArb(shape: fc.Arbitrary<number[]>): fc.Arbitrary<LeafSpec> {
  return fc.record({ shape, layout: layoutArb, seed: fc.integer({ min: 0, max: 1_000_000 }) });
}

/**
 * A float64 leaf requiring a gradient, with values `transform`ed from standard normals, laid out
 * as asked: contiguous, a permuted (transposed) view, or every second element of a larger buffer.
 */
export function makeLeaf(spec: LeafSpec, transform: (x: number) => number = (x) => x): Tensor {
  const { shape, layout, seed } = spec;
  let base: Tensor;
  if (layout === 'permuted' && shape.length >= 2) {
    const reversed = [...shape].reverse();
    base = randn(reversed, { dtype: 'float64', seed }).permute(...reversed.map((_, i) => reversed.length - 1 - i));
  } else if (layout === 'stepped' && shape.length >= 1) {
    const wide = [...shape.slice(0, -1), shape[shape.length - 1] * 2 + 1];
    base = randn(wide, { dtype: 'float64', seed }).slice(-1, 1, undefined, 2);
  } else {
    base = randn(shape, { dtype: 'float64', seed });
  }
  const leaf = base.detach();
  for (const at of storageOffsets(leaf.shape, leaf.strides, leaf.offset)) leaf.storage[at] = transform(leaf.storage[at]);
  return leaf.requiresGrad_();
}

/** Two shapes that broadcast together: b drops leading dims of a and sets some dims to 1. */
export const broadcastPairArb: fc.Arbitrary<[number[], number[]]> = shapeArb(0, 4).chain((a) =>
  fc.tuple(fc.nat({ max: a.length }), fc.array(fc.boolean(), { minLength: a.length, maxLength: a.length }), fc.boolean()).map(
    ([drop, ones, swap]) => {
      const b = a.slice(drop).map((d, i) => (ones[i + drop] ? 1 : d));
      return (swap ? [b, a] : [a, b]) as [number[], number[]];
    },
  ),
);

/** Positive values away from 0, for log, sqrt, pow and division. */
export const positive = (x: number): number => Math.abs(x) + 0.5;
