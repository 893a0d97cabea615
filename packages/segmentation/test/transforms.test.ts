import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Generator } from '@parcnet/tensor';
import {
  flipSegmentation, IGNORE_INDEX, parseSegmentationConfig, randomCropSegmentation, randomResizeSegmentation, resizeMask, type SegmentationSample,
} from '../src/index';

fc.configureGlobal({ seed: 20261129, numRuns: 120 });

/** An image whose first channel encodes each pixel's position, so we can tell where pixels went. */
const sampleArb = fc
  .record({ height: fc.integer({ min: 1, max: 30 }), width: fc.integer({ min: 1, max: 30 }), seed: fc.nat() })
  .map(({ height, width, seed }): SegmentationSample => {
    const rng = new Generator(seed);
    const plane = height * width;
    const data = new Float32Array(3 * plane);
    for (let p = 0; p < plane; p++) {
      data[p] = p;
      data[plane + p] = rng.integer(0, 256);
      data[2 * plane + p] = rng.integer(0, 256);
    }
    const mask = Uint8Array.from({ length: plane }, () => (rng.uniform() < 0.1 ? IGNORE_INDEX : rng.integer(0, 81)));
    return { image: { data, height, width }, mask };
  });

const valuesOf = (mask: Uint8Array): Set<number> => new Set(mask);

describe('segmentation transforms', () => {
  it('flip is an involution of image and mask', () => {
    fc.assert(
      fc.property(sampleArb, (s) => {
        const twice = flipSegmentation(flipSegmentation(s));
        expect(Array.from(twice.mask)).toEqual(Array.from(s.mask));
        expect(Array.from(twice.image.data)).toEqual(Array.from(s.image.data));
      }),
    );
  });

  it('the crop is size × size; every mask pixel is the one under its image pixel, or 255 where the window leaves the image', () => {
    fc.assert(
      fc.property(sampleArb, fc.integer({ min: 1, max: 40 }), fc.nat(), (s, size, seed) => {
        const c = randomCropSegmentation(s, new Generator(seed), size);
        expect([c.image.height, c.image.width, c.mask.length]).toEqual([size, size, size * size]);
        for (let p = 0; p < size * size; p++) {
          const y = Math.floor(p / size);
          const x = p % size;
          const inside = y < s.image.height && x < s.image.width;
          if (!inside) {
            expect(c.mask[p]).toBe(IGNORE_INDEX);
            continue;
          }
          // The first channel holds the source position, so the mask must be the source's mask there.
          expect(c.mask[p]).toBe(s.mask[c.image.data[p]]);
        }
      }),
    );
  });

  it('random resize sets the shorter side within bounds, keeps the aspect, and invents no labels', () => {
    fc.assert(
      fc.property(sampleArb, fc.integer({ min: 1, max: 20 }), fc.integer({ min: 0, max: 20 }), fc.nat(), (s, low, extra, seed) => {
        const r = randomResizeSegmentation(s, new Generator(seed), low, low + extra);
        const short = Math.min(r.image.height, r.image.width);
        expect(short).toBeGreaterThanOrEqual(low);
        expect(short).toBeLessThanOrEqual(low + extra + 1); // rounding of the longer side can make it the shorter
        expect(r.mask.length).toBe(r.image.height * r.image.width);
        const original = valuesOf(s.mask);
        for (const v of valuesOf(r.mask)) expect(original.has(v)).toBe(true);
      }),
    );
  });

  it('nearest-neighbour mask resize: identity at the same size, exact 2× upsampling', () => {
    const mask = Uint8Array.from([1, 2, 3, 4, 5, 6]);
    expect(Array.from(resizeMask(mask, 2, 3, 2, 3))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(resizeMask(mask, 2, 3, 4, 6))).toEqual([1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 4, 4, 5, 5, 6, 6]);
  });

  it('config errors name the file and the key', () => {
    expect(() => parseSegmentationConfig({ dataset: { crop: 3 } }, 'seg.yaml')).toThrow(/seg\.yaml: unknown key dataset\.crop/);
    expect(() => parseSegmentationConfig({ model: { name: 'parcnet-s' } }, 'seg.yaml')).toThrow(/seg\.yaml: model\.name must be a DeepLabV3 model/);
    expect(() => parseSegmentationConfig({ augmentation: { min_short_side: 300, max_short_side: 200 } }, 'seg.yaml')).toThrow(/max_short_side must be ≥ min_short_side/);
  });
});
