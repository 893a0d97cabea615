import { describe, expect, it } from 'vitest';
import { parcnetH, parcnetS, parcnetXS, profile } from '../src/index';

// spec §5 (ImageNet layout, 1000 classes) and §12 (CIFAR stem, 10 classes): counted MACs.
const rows = [
  { model: 'XS', build: parcnetXS, size: 256, conv: 927_320_576, parc: 16_056_320, linear: 640_000, total: 944_016_896 },
  { model: 'XS', build: parcnetXS, size: 224, conv: 709_983_296, parc: 10_756_480, linear: 640_000, total: 721_379_776 },
  { model: 'S', build: parcnetS, size: 256, conv: 1_622_170_112, parc: 34_537_472, linear: 640_000, total: 1_657_347_584 },
  { model: 'S', build: parcnetS, size: 224, conv: 1_241_992_832, parc: 23_137_408, linear: 640_000, total: 1_265_770_240 },
  { model: 'H', build: parcnetH, size: 256, conv: 8_446_580_064, parc: 96_878_592, linear: 960_000, total: 8_544_418_656 },
  { model: 'H', build: parcnetH, size: 224, conv: 6_466_987_584, parc: 64_901_088, linear: 960_000, total: 6_532_848_672 },
];

describe('profile: counted MACs equal the spec', () => {
  for (const r of rows) {
    it(`ParC-Net-${r.model} at ${r.size}×${r.size}: ${r.total.toLocaleString('en')} MACs`, () => {
      const p = profile(r.build(), [1, 3, r.size, r.size]);
      expect({ conv: p.convMacs, parc: p.parcMacs, linear: p.linearMacs, total: p.macs }).toEqual({ conv: r.conv, parc: r.parc, linear: r.linear, total: r.total });
    });
  }

  it('CIFAR stem (spec §12): 32×32 equals the ImageNet stem at 64×64; per-module figures add up', () => {
    const cifar = profile(parcnetXS({ numClasses: 10, cifarStem: true }), [1, 3, 32, 32]);
    expect([cifar.macs, cifar.parcMacs, cifar.linearMacs, cifar.parameters]).toEqual([58_228_736, 250_880, 6_400, 1_550_794]);
    expect(profile(parcnetXS({ numClasses: 10 }), [1, 3, 32, 32]).macs).toBe(14_541_760);
    expect(profile(parcnetXS({ numClasses: 10, cifarStem: true }), [1, 3, 64, 64]).macs).toBe(233_854_720);
    const top = cifar.modules.filter((m) => m.name !== '' && !m.name.includes('.'));
    expect(top.reduce((n, m) => n + m.macs, 0)).toBe(cifar.macs);
    expect(cifar.modules.find((m) => m.name === 'classifier.fc')!.macs).toBe(6_400);
  });
});
