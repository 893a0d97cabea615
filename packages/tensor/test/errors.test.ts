import { describe, expect, it } from 'vitest';
import * as P from '../src/index';

// Bad input fails early with a typed error that names the op, the shapes and the dtypes.
describe('bad input', () => {
  it('broadcast mismatch', () => {
    const call = (): P.Tensor => P.add(P.zeros([2, 3]), P.zeros([4, 3]));
    expect(call).toThrow(P.ShapeError);
    expect(call).toThrow('add: shapes [2, 3] and [4, 3] do not broadcast');
  });

  it('matmul shape mismatch and dtype mismatch', () => {
    expect(() => P.matmul(P.zeros([2, 3]), P.zeros([4, 5]))).toThrow('matmul: shapes [2, 3] and [4, 5] cannot be multiplied (3 columns vs 4 rows)');
    expect(() => P.matmul(P.zeros([2, 3]), P.zeros([3, 2], { dtype: 'float64' }))).toThrow(P.DTypeError);
    expect(() => P.matmul(P.zeros([2, 3]), P.zeros([3, 2], { dtype: 'float64' }))).toThrow(/float32 \[2, 3\] and float64 \[3, 2\]/);
    expect(() => P.matmul(P.zeros([2, 2, 3]), P.zeros([3, 3, 2]))).toThrow(/matmul \(batch dims\): shapes \[2\] and \[3\] do not broadcast/);
  });

  it('conv2d channel, group, rank and size mismatches', () => {
    expect(() => P.conv2d(P.zeros([1, 3, 8, 8]), P.zeros([4, 2, 3, 3]))).toThrow(/input \[1, 3, 8, 8\] and weight \[4, 2, 3, 3\] do not fit groups=1/);
    expect(() => P.conv2d(P.zeros([1, 4, 8, 8]), P.zeros([3, 2, 3, 3]), { groups: 2 })).toThrow(P.ShapeError);
    expect(() => P.conv2d(P.zeros([3, 8, 8]), P.zeros([4, 3, 3, 3]))).toThrow(/expected input \[N, C, H, W\]/);
    expect(() => P.conv2d(P.zeros([1, 3, 2, 2]), P.zeros([4, 3, 3, 3]))).toThrow(/larger than the padded input/);
    expect(() => P.conv2d(P.zeros([1, 3, 8, 8]), P.zeros([4, 3, 3, 3], { dtype: 'float64' }))).toThrow('conv2d: input float32 and weight float64 must share a dtype');
    expect(() => P.conv2d(P.zeros([1, 3, 8, 8]), P.zeros([4, 3, 3, 3]), { stride: 0 })).toThrow(/stride must be integers >= 1/);
  });

  it('wrong dtypes', () => {
    const ints = P.tensor([1, 2], { dtype: 'int32' });
    expect(() => P.exp(ints)).toThrow('exp: input must be float32 or float64, got int32');
    expect(() => P.softmax(ints, 0)).toThrow(P.DTypeError);
    expect(() => P.conv2d(P.zeros([1, 1, 3, 3], { dtype: 'int32' }), P.zeros([1, 1, 1, 1]))).toThrow(P.DTypeError);
    expect(() => P.gather(P.zeros([2]), 0, P.zeros([2]))).toThrow('gather: index must be int32, got float32');
  });

  it('reshape, permute, axes and indices out of range', () => {
    expect(() => P.zeros([2, 3]).reshape(4, 2)).toThrow('reshape: shape [4, 2] is invalid for input of shape [2, 3] (6 elements)');
    expect(() => P.zeros([2, 3]).permute(0, 0)).toThrow(/not a permutation/);
    expect(() => P.sum(P.zeros([2, 3]), 2)).toThrow('sum: dim 2 is out of range for a tensor of 2 dims (expected -2..1)');
    expect(() => P.indexSelect(P.zeros([2, 3]), 1, [3])).toThrow(/index 3 is out of range for dim 1 of size 3/);
    expect(() => P.expand(P.zeros([2, 3]), [4, 3])).toThrow(/cannot expand shape \[2, 3\] to \[4, 3\]/);
    expect(() => P.concat([P.zeros([2, 3]), P.zeros([3, 3])], 1)).toThrow(/differ outside dim 1/);
  });

  it('pooling, padding and interpolation arguments', () => {
    expect(() => P.maxPool2d(P.zeros([1, 1, 4, 4]), 2, { padding: 2 })).toThrow(/at most half the kernel/);
    expect(() => P.pad(P.zeros([1, 3]), [3, 0], { mode: 'reflect' })).toThrow(/must be less than its size 3/);
    expect(() => P.interpolate(P.zeros([1, 1, 4, 4]), { size: 2, scaleFactor: 2 })).toThrow(/exactly one of size and scaleFactor/);
  });

  // Kept from the gradient-check property run (shrunk counterexample): a scale factor that makes
  // an empty output is refused, as PyTorch refuses it, rather than producing a 0×0 image.
  it('interpolate with scaleFactor 0.5 on a 1×1 input is refused', () => {
    expect(() => P.interpolate(P.zeros([1, 1, 1, 1], { dtype: 'float64' }), { scaleFactor: 0.5, mode: 'bilinear' }))
      .toThrow('interpolate: output size [0, 0] must be positive integers (input [1, 1, 1, 1])');
  });

  it('item on a tensor of several elements', () => {
    expect(() => P.zeros([2]).item()).toThrow(/expected a tensor of one element, got shape \[2\]/);
  });
});
