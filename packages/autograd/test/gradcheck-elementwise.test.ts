import fc from 'fast-check';
import { describe } from 'vitest';
import * as P from '@parcnet/tensor';
import { broadcastPairArb, leafArb, makeLeaf, positive, shapeArb } from './arbitraries';
import { gradProperty } from './suite';

const leaf = leafArb(shapeArb(0, 4));
const pair = broadcastPairArb.chain(([a, b]) => fc.tuple(leafArb(fc.constant(a)), leafArb(fc.constant(b))));

describe('binary ops with broadcasting', () => {
  gradProperty('add', pair, ([a, b]) => ({ fn: P.add, inputs: [makeLeaf(a), makeLeaf(b)] }));
  gradProperty('sub', pair, ([a, b]) => ({ fn: P.sub, inputs: [makeLeaf(a), makeLeaf(b)] }));
  gradProperty('mul', pair, ([a, b]) => ({ fn: P.mul, inputs: [makeLeaf(a), makeLeaf(b)] }));
  gradProperty('div', pair, ([a, b]) => ({ fn: P.div, inputs: [makeLeaf(a), makeLeaf(b, positive)] }));
  gradProperty('pow', pair, ([a, b]) => ({ fn: P.pow, inputs: [makeLeaf(a, positive), makeLeaf(b)] }));
  gradProperty('maximum', pair, ([a, b]) => ({ fn: P.maximum, inputs: [makeLeaf(a), makeLeaf(b)] }));
  gradProperty('minimum', pair, ([a, b]) => ({ fn: P.minimum, inputs: [makeLeaf(a), makeLeaf(b)] }));
  gradProperty('add with a number', leaf, (a) => ({ fn: (x) => P.mul(P.add(x, 1.5), 2), inputs: [makeLeaf(a)] }));
  gradProperty('where', fc.tuple(pair, fc.integer({ min: 0, max: 1000 })), ([[a, b], seed]) => {
    const x = makeLeaf(a);
    const y = makeLeaf(b);
    const shape = P.broadcastShapes('test', x.shape, y.shape);
    const condition = P.randint(0, 2, shape, { seed });
    return { fn: (x, y) => P.where(condition, x, y), inputs: [x, y] };
  });
  gradProperty('clamp', leaf, (a) => ({ fn: (x) => P.clamp(x, -0.5, 0.7), inputs: [makeLeaf(a)] }));
});

describe('unary ops and activations', () => {
  const unary: [string, (x: P.Tensor) => P.Tensor, ((x: number) => number)?][] = [
    ['neg', P.neg], ['exp', P.exp], ['log', P.log, positive], ['sqrt', P.sqrt, positive],
    ['rsqrt', P.rsqrt, positive], ['abs', P.abs], ['sign', P.sign], ['relu', P.relu],
    ['relu6', P.relu6, (x) => x * 4], ['sigmoid', P.sigmoid], ['tanh', P.tanh], ['silu', P.silu],
    ['gelu', P.gelu, (x) => x * 2], ['hardswish', P.hardswish, (x) => x * 3], ['hardsigmoid', P.hardsigmoid, (x) => x * 3],
  ];
  for (const [name, op, transform] of unary) {
    gradProperty(name, leaf, (a) => ({ fn: op, inputs: [makeLeaf(a, transform)] }));
  }
});
