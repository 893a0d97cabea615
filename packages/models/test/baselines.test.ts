import { describe, expect, it } from 'vitest';
import { randn } from '@parcnet/tensor';
import type { Module } from '@parcnet/nn';
import { convnextXT, mobilenetV2, mobilevitS, mobilevitXS, parcConvnextXT, parcMobileNetV2, parcResnet50, profile, resnet50 } from '../src/index';

// spec §11: parameters (1000 classes) and counted MACs of the baselines and ParC-* variants.
const rows: { name: string; build: () => Module; size: number; params: number; macs: number; linear: number }[] = [
  { name: 'MobileViT-S', build: mobilevitS, size: 256, params: 5_578_632, macs: 1_823_196_160, linear: 730_842_112 },
  { name: 'MobileViT-XS', build: mobilevitXS, size: 256, params: 2_317_848, macs: 908_635_136, linear: 301_194_240 },
  { name: 'MobileNetV2', build: mobilenetV2, size: 224, params: 3_504_872, macs: 300_774_272, linear: 1_280_000 },
  { name: 'ParC-MobileNetV2', build: parcMobileNetV2, size: 224, params: 3_532_136, macs: 301_997_312, linear: 1_280_000 },
  { name: 'ResNet50', build: resnet50, size: 224, params: 25_557_032, macs: 4_089_184_256, linear: 2_048_000 },
  { name: 'ParC-ResNet50', build: parcResnet50, size: 224, params: 23_737_640, macs: 3_941_466_112, linear: 2_048_000 },
  { name: 'ConvNeXt-XT', build: convnextXT, size: 224, params: 7_438_360, macs: 1_143_964_032, linear: 1_040_833_536 },
  { name: 'ParC-ConvNeXt-XT', build: parcConvnextXT, size: 224, params: 7_412_824, macs: 1_139_222_400, linear: 1_040_833_536 },
];

describe('baselines and ParC-* variants (spec §11)', () => {
  for (const r of rows) {
    it(`${r.name}: ${r.params.toLocaleString('en')} parameters, ${r.macs.toLocaleString('en')} MACs at ${r.size}`, () => {
      const model = r.build();
      expect(model.numParameters()).toBe(r.params);
      const p = profile(model, [1, 3, r.size, r.size]);
      expect({ macs: p.macs, linear: p.linearMacs }).toEqual({ macs: r.macs, linear: r.linear });
    });
  }

  it('MobileViT-S at 224 (spec §11: 1,416,770,560 MACs)', () => {
    expect(profile(mobilevitS(), [1, 3, 224, 224]).macs).toBe(1_416_770_560);
  });

  it('ParC-MobileNetV2 runs at 224 and refuses another size', () => {
    const model = parcMobileNetV2({ numClasses: 4 });
    const x = randn([1, 3, 224, 224], { seed: 1 });
    const y = model.eval().forward(x);
    expect(y.shape).toEqual([1, 4]);
    expect(() => model.forward(randn([1, 3, 192, 192]))).toThrow(/FixedParc\(H, G=14\): the map must be 14 long along H, got input \[1, 192, 12, 12\]/);
  });
});
