import { describe, expect, it } from 'vitest';
import { randn } from '@parcnet/tensor';
import { gradcheck } from '@parcnet/autograd';
import { ParcNet } from '../src/index';

describe('a tiny ParC-Net under gradcheck', () => {
  it('logits against input and parameters of every kind, eval mode, float64', () => {
    const stage = (c: number, k: number) => ({ channels: c, spatial: 16, ffn: 16, blocks: 1, metaKernel: k });
    const model = new ParcNet(
      { stem: { channels: 4, kernel: 3 }, layer1: 8, layer2: 8, stages: [stage(8, 4), stage(8, 3), stage(8, 2)], fusion: 'add' },
      { numClasses: 3, classifierDropout: 0, blockDropout: 0, seed: 5 },
    ).to('float64').eval();
    const x = randn([1, 3, 16, 12], { dtype: 'float64', seed: 6 }).requiresGrad_();
    expect(gradcheck((x) => model.forward(x), [x])).toBe(true);
    const block = model.layer3.at(1).namedModules().find(([n]) => n === 'spatial_global_rep.0')![1];
    const params = block.parameters().filter((p) => p.shape.length === 4 && p.size <= 64).slice(0, 4);
    params.push(model.classifier!.at(2).parameters()[1]);
    expect(gradcheck(() => model.forward(x.detach()), params)).toBe(true);
  });
});
