import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Generator } from '@parcnet/tensor';
import { applyTransforms, crop, flipHorizontal, randomResizedBox, resizeBilinear, toFloatImage, validateTransforms, type FloatImage, type TransformSpec } from '../src/index';

fc.configureGlobal({ seed: 20261129, numRuns: 60 });

const imageArb = fc
  .record({ height: fc.integer({ min: 1, max: 12 }), width: fc.integer({ min: 1, max: 12 }), seed: fc.nat() })
  .map(({ height, width, seed }) => {
    const rng = new Generator(seed);
    return { data: Uint8Array.from({ length: 3 * height * width }, () => rng.integer(0, 256)), height, width };
  });

const same = (a: FloatImage, b: FloatImage): boolean => a.height === b.height && a.width === b.width && a.data.every((v, i) => v === b.data[i]);

describe('transforms', () => {
  it('horizontal flip is an involution and bgr twice is the identity', () => {
    fc.assert(
      fc.property(imageArb, (image) => {
        const f = toFloatImage(image);
        expect(same(flipHorizontal(flipHorizontal(f)), f)).toBe(true);
        const twice = applyTransforms(image, [{ name: 'bgr' }, { name: 'bgr' }], new Generator(0));
        expect(same(twice, f)).toBe(true);
      }),
    );
  });

  it('random crop: the output has the asked size and every pixel is a source pixel of its channel or the fill', () => {
    fc.assert(
      fc.property(imageArb, fc.integer({ min: 0, max: 4 }), fc.nat(), (image, padding, seed) => {
        const size: [number, number] = [Math.max(1, image.height - 1), image.width];
        const out = applyTransforms(image, [{ name: 'randomCrop', size, padding, fill: -1 }], new Generator(seed));
        expect([out.height, out.width]).toEqual(size);
        const plane = image.height * image.width;
        for (let c = 0; c < 3; c++) {
          const values = new Set(image.data.subarray(c * plane, (c + 1) * plane));
          for (let p = 0; p < out.height * out.width; p++) {
            const v = out.data[c * out.height * out.width + p];
            expect(v === -1 || values.has(v)).toBe(true);
          }
        }
        // Without padding, a crop of the full size is the image itself.
        expect(same(applyTransforms(image, [{ name: 'randomCrop', size: [image.height, image.width] }], new Generator(seed)), toFloatImage(image))).toBe(true);
      }),
    );
  });

  it('a crop reads the window it names, the same as slicing the planes', () => {
    const image = toFloatImage({ data: Uint8Array.from({ length: 3 * 4 * 5 }, (_, i) => i), height: 4, width: 5 });
    const out = crop(image, 1, 2, 2, 2, 0);
    expect(Array.from(out.data)).toEqual([7, 8, 12, 13, 27, 28, 32, 33, 47, 48, 52, 53]);
    expect(Array.from(crop(image, -1, -1, 2, 2, 9).data.subarray(0, 4))).toEqual([9, 9, 9, 0]);
  });

  it('RandomResizedCrop boxes lie inside the image; the output has the asked size', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 64 }), fc.nat(), (height, width, seed) => {
        const box = randomResizedBox(height, width, [0.08, 1], [3 / 4, 4 / 3], new Generator(seed));
        expect(box.top >= 0 && box.left >= 0 && box.height >= 1 && box.width >= 1).toBe(true);
        expect(box.top + box.height <= height && box.left + box.width <= width).toBe(true);
      }),
    );
    const image = { data: new Uint8Array(3 * 20 * 30).fill(7), height: 20, width: 30 };
    const out = applyTransforms(image, [{ name: 'randomResizedCrop', size: 16 }], new Generator(3));
    expect([out.height, out.width]).toEqual([16, 16]);
    expect(out.data.every((v) => Math.abs(v - 7) < 1e-5)).toBe(true);
  });

  it('resize keeps constant images constant, maps corners to corners and sets the shorter side; centre crop is centred', () => {
    const image = { data: Uint8Array.from({ length: 3 * 2 * 2 }, (_, i) => [0, 100, 200, 50][i % 4]), height: 2, width: 2 };
    const up = resizeBilinear(image, 4, 4);
    // Half-pixel centres: output (0, 0) sits at source (−0.25, −0.25), clamped to pixel (0, 0).
    expect(up.data[0]).toBe(0);
    expect(up.data[15]).toBe(50);
    expect(up.data[1]).toBe(25);
    const wide = applyTransforms({ data: new Uint8Array(3 * 10 * 20), height: 10, width: 20 }, [{ name: 'resize', size: 5 }], new Generator(0));
    expect([wide.height, wide.width]).toEqual([5, 10]);
    const centre = applyTransforms({ data: Uint8Array.from({ length: 3 * 5 * 5 }, (_, i) => i % 25), height: 5, width: 5 }, [{ name: 'centerCrop', size: 1 }], new Generator(0));
    expect(Array.from(centre.data)).toEqual([12, 12, 12]);
  });

  it('the same seed gives the same augmentation, and toFloat + normalize compute (x/255 − mean)/std', () => {
    const specs: TransformSpec[] = [{ name: 'randomCrop', size: 8, padding: 2 }, { name: 'horizontalFlip' }, { name: 'toFloat' }, { name: 'normalize', mean: [0.5, 0.5, 0.5], std: [0.25, 0.5, 1] }];
    fc.assert(
      fc.property(imageArb.filter((i) => i.height >= 8 && i.width >= 8), fc.nat(), (image, seed) => {
        expect(same(applyTransforms(image, specs, new Generator(seed)), applyTransforms(image, specs, new Generator(seed)))).toBe(true);
      }),
    );
    const out = applyTransforms({ data: new Uint8Array([255, 0, 51]), height: 1, width: 1 }, [{ name: 'toFloat' }, { name: 'normalize', mean: [0.5, 0.5, 0.5], std: [0.25, 0.5, 1] }], new Generator(0));
    expect(Array.from(out.data).map((v) => +v.toFixed(6))).toEqual([2, -1, -0.3]);
  });

  it('config transforms are checked with messages that name the place', () => {
    expect(validateTransforms(['bgr', { name: 'toFloat' }], 'cfg')).toEqual([{ name: 'bgr' }, { name: 'toFloat' }]);
    expect(() => validateTransforms([{ name: 'rotate' }], 'cfg.yaml')).toThrowError(/cfg\.yaml: transform 0 .*unknown name; known: randomCrop/);
    expect(() => validateTransforms([{ name: 'randomCrop', size: -3 }], 'cfg')).toThrowError(/size must be a positive integer/);
    expect(() => validateTransforms([{ name: 'normalize', mean: [0, 0, 0], std: [1, 0, 1] }], 'cfg')).toThrowError(/std non-zero/);
    expect(() => validateTransforms('bgr', 'cfg')).toThrowError(/transforms must be a list/);
  });
});
