import { afterEach, describe, expect, it } from 'vitest';
import * as P from '../src/index';

describe('kernel registry', () => {
  afterEach(() => P.setBackendEnabled('test-backend', false));

  it('has a reference kernel for every op name', () => {
    const kernels = P.listKernels();
    for (const name of [...P.unaryKernelNames, ...P.binaryKernelNames, 'Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter', 'BatchMatMul']) {
      expect(kernels[name]).toContain('reference');
    }
  });

  it('dispatches to a higher-priority backend when its guard accepts, else falls back', () => {
    const calls: string[] = [];
    P.registerKernel({
      name: 'Exp',
      backend: 'test-backend',
      priority: 10,
      guard: (x) => x.dtype === 'float32',
      fn: (x) => {
        calls.push(x.dtype);
        return P.zeros(x.shape, { dtype: x.dtype });
      },
    });
    P.setBackendEnabled('test-backend', true);
    expect(P.exp(P.ones([2])).toArray()).toEqual([0, 0]);
    expect(P.exp(P.ones([2], { dtype: 'float64' })).toArray()).toEqual([Math.E, Math.E]);
    expect(calls).toEqual(['float32']);
    expect(P.listKernels().Exp).toEqual(['test-backend', 'reference']);
    P.setBackendEnabled('test-backend', false);
    expect(P.exp(P.ones([1])).item()).toBeCloseTo(Math.E, 6);
  });

  it('getKernel returns one backend implementation for side-by-side tests', () => {
    const reference = P.getKernel('Relu', 'reference')!;
    expect(Array.from(reference(P.tensor([-1, 2])).toTypedArray())).toEqual([0, 2]);
    expect(P.getKernel('Relu', 'no-such-backend')).toBeUndefined();
  });
});
