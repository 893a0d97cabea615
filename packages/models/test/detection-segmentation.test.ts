import { describe, expect, it } from 'vitest';
import { noGrad } from '@parcnet/autograd';
import { randn } from '@parcnet/tensor';
import { deeplabv3ParcnetS, ssdliteParcnetS, ssdliteParcnetXS } from '../src/index';

describe('SSDLite and DeepLabV3 on ParC-Net (spec §8, §9)', () => {
  it('SSDLite-ParC-Net-S: 5,197,282 parameters with 81 classes, 640 state-dict entries in the official layout', () => {
    const model = ssdliteParcnetS({ numClasses: 81 });
    expect(model.numParameters()).toBe(5_197_282);
    const keys = Object.keys(model.stateDict());
    expect(keys.length).toBe(640);
    const count = (prefix: string): number => model.namedParameters().filter(([k]) => k.startsWith(prefix)).reduce((n, [, p]) => n + p.size, 0);
    expect([count('encoder.'), count('extra_layers.'), count('ssd_heads.')]).toEqual([4_292_408, 105_312, 799_562]);
    expect(keys).toContain('encoder.residual.block.exp_1x1.block.conv.weight');
    expect(keys).toContain('ssd_heads.5.loc_cls_layer.block.conv.bias');
    expect(keys).toContain('extra_layers.os_-1.1.block.conv.weight');
    expect(keys.some((k) => k.startsWith('encoder.classifier') || k.startsWith('encoder.conv_1x1_exp'))).toBe(false);
    // Other class counts (spec §8): 80 → 5,189,312, 91 → 5,276,982.
    expect(ssdliteParcnetS({ numClasses: 80 }).numParameters()).toBe(5_189_312);
    expect(ssdliteParcnetS({ numClasses: 91 }).numParameters()).toBe(5_276_982);
  });

  it('SSDLite predicts 4 box numbers and C logits per anchor, as many anchors as its feature maps give', () => {
    const model = ssdliteParcnetXS({ numClasses: 5 }).eval();
    const { locations, confidences } = noGrad(() => model.forwardDetections(randn([2, 3, 64, 64], { seed: 1 })));
    // 64×64: maps 4, 2, 1, 1, 1, 1 → 4·4·6 + 2·2·6 + 3·6 + 4 = 142 anchors.
    expect(locations.shape).toEqual([2, 142, 4]);
    expect(confidences.shape).toEqual([2, 142, 5]);
  });

  it('DeepLabV3-ParC-Net-S: 5,816,397 parameters with 21 classes (head 1,523,989), output stride 16, logits at input size', () => {
    const model = deeplabv3ParcnetS({ numClasses: 21 });
    expect(model.numParameters()).toBe(5_816_397);
    const head = model.namedParameters().filter(([k]) => k.startsWith('seg_head.')).reduce((n, [, p]) => n + p.size, 0);
    expect(head).toBe(1_523_989);
    const keys = Object.keys(model.stateDict());
    expect(keys).toContain('seg_head.aspp.aspp_layer.convs.4.aspp_pool.conv_1x1.block.conv.weight');
    expect(keys).toContain('seg_head.classifier.classifier.block.conv.bias');
    const stages = noGrad(() => model.eval().encoder.forwardEncoder(randn([1, 3, 64, 64], { seed: 2 })));
    expect(stages.layer_4.shape.slice(2)).toEqual([4, 4]);
    expect(stages.layer_5.shape.slice(2)).toEqual([4, 4]); // no stride in layer_5 at output stride 16
    const y = noGrad(() => model.forward(randn([1, 3, 64, 64], { seed: 2 })));
    expect(y.shape).toEqual([1, 21, 64, 64]);
  });
});
