import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSafetensors } from '@parcnet/io';
import { parcnetH, parcnetS, parcnetXS, type ParcNet } from '../src/index';
import { goldenDir } from '@parcnet/testing';

// spec §5: measured parameter counts, tensor counts and state-dict entries of the official models.
const table = {
  XS: { build: parcnetXS, counts: { 1000: 2_185_384, 100: 1_608_484, 10: 1_550_794 }, tensors: 259, entries: 487,
    children: { conv_1: 464, layer_1: 3_968, layer_2: 86_528, residual: 154_432, layer_3: 234_584, layer_4: 480_048, layer_5: 635_112, conv_1x1_exp: 103_680, classifier: 641_000 } },
  S: { build: parcnetS, counts: { 1000: 5_037_088, 100: 4_460_188, 10: 4_402_498 }, tensors: 299, entries: 557,
    children: { conv_1: 464, layer_1: 3_968, layer_2: 86_528, residual: 154_432, layer_3: 594_800, layer_4: 1_587_456, layer_5: 2_019_192, conv_1x1_exp: 103_680, classifier: 641_000 } },
  H: { build: parcnetH, counts: { 1000: 20_403_940, 100: 19_539_040, 10: 19_452_550 }, tensors: 419, entries: 767,
    children: { conv_1: 3_696, layer_1: 30_336, layer_2: 444_768, residual: 845_280, layer_3: 2_559_108, layer_4: 9_240_534, layer_5: 6_747_858, conv_1x1_exp: 416_640, classifier: 961_000 } },
} as const;

/** Parameters of one top-level child; `residual` is the alias of layer_5.0 (spec §7). */
function childCount(model: ParcNet, name: string): number {
  const child = name === 'residual' ? model.layer5.at(0) : model.namedChildren().find(([n]) => n === name)![1];
  return child.numParameters();
}

describe('ParC-Net parameter counts (spec §5)', () => {
  for (const [name, row] of Object.entries(table)) {
    for (const [classes, count] of Object.entries(row.counts)) {
      it(`ParC-Net-${name}, ${classes} classes: ${count.toLocaleString('en')} parameters, ${row.tensors} tensors, ${row.entries} state-dict entries`, () => {
        const model = row.build({ numClasses: Number(classes) });
        expect(model.numParameters()).toBe(count);
        expect(model.parameters().length).toBe(row.tensors);
        expect(Object.keys(model.stateDict()).length).toBe(row.entries);
        if (classes === '1000') {
          for (const [child, n] of Object.entries(row.children)) expect(childCount(model, child), child).toBe(n);
        }
      });
    }
  }
});

describe('ParC-Net state-dict layout (spec §7)', () => {
  it('XS has exactly the 487 keys of the official state dict, residual.* aliases included', async () => {
    const { tensors } = await loadSafetensors(join(goldenDir, 'parcnet_xs_c10_state_dict.safetensors'));
    const model = parcnetXS({ numClasses: 10 });
    const ours = model.stateDict();
    expect(Object.keys(ours).sort()).toEqual(Object.keys(tensors).sort());
    for (const [k, t] of Object.entries(tensors)) expect(ours[k].shape, k).toEqual(t.shape);
    expect(Object.keys(ours).indexOf('residual.block.exp_1x1.block.conv.weight')).toBeGreaterThan(Object.keys(ours).indexOf('layer_2.2.block.red_1x1.block.norm.num_batches_tracked'));
    expect(ours['residual.block.exp_1x1.block.conv.weight'].storage).toBe(ours['layer_5.0.block.exp_1x1.block.conv.weight'].storage);
  });

  it('can emit the state dict without aliases and load either form', async () => {
    const { tensors } = await loadSafetensors(join(goldenDir, 'parcnet_xs_c10_state_dict.safetensors'));
    const model = parcnetXS({ numClasses: 10 });
    const withoutAliases = Object.fromEntries(Object.entries(tensors).filter(([k]) => !k.startsWith('residual.')));
    expect(Object.keys(model.stateDict({ aliases: false })).length).toBe(469);
    expect(model.loadStateDict(withoutAliases).missingKeys).toEqual([]);
    const other = parcnetXS({ numClasses: 10, seed: 1 });
    other.loadStateDict(model.stateDict());
    expect(Array.from(other.stateDict()['layer_5.0.block.red_1x1.block.conv.weight'].toTypedArray()))
      .toEqual(Array.from(tensors['layer_5.0.block.red_1x1.block.conv.weight'].toTypedArray()));
  });

  it('refuses an alias that differs from its twin, and a mis-shaped key, loading nothing', async () => {
    const { tensors } = await loadSafetensors(join(goldenDir, 'parcnet_xs_c10_state_dict.safetensors'));
    const model = parcnetXS({ numClasses: 10 });
    const before = Array.from(model.stateDict()['conv_1.block.conv.weight'].toTypedArray());
    const tampered = { ...tensors, 'residual.block.red_1x1.block.conv.weight': tensors['residual.block.red_1x1.block.conv.weight'].mul(2) };
    expect(() => model.loadStateDict(tampered)).toThrow(/alias residual.block.red_1x1.block.conv.weight differs from layer_5.0/);
    const misShaped = { ...tensors, 'classifier.fc.weight': tensors['classifier.fc.weight'].slice(0, 0, 5) };
    expect(() => model.loadStateDict(misShaped)).toThrow(/shape mismatch for classifier.fc.weight: expected \[10, 640\], got \[5, 640\]/);
    expect(Array.from(model.stateDict()['conv_1.block.conv.weight'].toTypedArray())).toEqual(before);
  });
});
