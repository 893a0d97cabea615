import { describe, expect, it } from 'vitest';
import { randn } from '@parcnet/tensor';
import { gradcheck } from '@parcnet/autograd';
import { FixedParc, parcConv } from '../src/index';

describe('the fixed-size ParC of ParC_ConvNets (spec §11)', () => {
  it('depthwise: equals the ParC operator with the conv weight as meta kernel (n = K), PE and bias', () => {
    const m = new FixedParc(3, 'W', 5).to('float64');
    const x = randn([2, 3, 4, 5], { dtype: 'float64', seed: 1 });
    const expected = parcConv(x, m.gccConv.weight, { axis: 'W', metaPE: m.pe, bias: m.gccConv.bias });
    const got = m.forward(x).toTypedArray();
    expected.toTypedArray().forEach((v, i) => expect(got[i]).toBeCloseTo(v, 12));
  });

  it('dense (groups = 1, ParC-ResNet50) and depthwise forms pass gradcheck', () => {
    for (const groups of [1, 4]) {
      const m = new FixedParc(4, 'H', 3, { groups }).to('float64');
      const x = randn([1, 4, 3, 2], { dtype: 'float64', seed: 2 }).requiresGrad_();
      expect(gradcheck((x) => m.forward(x), [x])).toBe(true);
      expect(gradcheck(() => m.forward(x.detach()), [m.gccConv.weight, m.gccConv.bias!, m.pe!])).toBe(true);
    }
  });
});
