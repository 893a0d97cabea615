import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Generator } from '@parcnet/tensor';
import { flipDetection, hsv8ToRgb, photometricDistort, resizeDetection, rgbToHsv8, ssdRandomCrop, type DetectionSample } from '../src/index';

fc.configureGlobal({ seed: 20261129, numRuns: 150 });

const sampleArb = fc
  .record({ height: fc.integer({ min: 8, max: 40 }), width: fc.integer({ min: 8, max: 40 }), seed: fc.nat(), count: fc.integer({ min: 0, max: 5 }) })
  .map(({ height, width, seed, count }): DetectionSample => {
    const rng = new Generator(seed);
    const boxes = new Float32Array(4 * count);
    for (let i = 0; i < count; i++) {
      const x0 = rng.uniform() * (width - 2);
      const y0 = rng.uniform() * (height - 2);
      boxes.set([x0, y0, x0 + 1 + rng.uniform() * (width - x0 - 1), y0 + 1 + rng.uniform() * (height - y0 - 1)], 4 * i);
    }
    const image = { data: Float32Array.from({ length: 3 * height * width }, () => rng.integer(0, 256)), height, width };
    return { image, boxes, labels: Int32Array.from({ length: count }, (_, i) => i + 1) };
  });

function insideImage(s: DetectionSample): boolean {
  for (let i = 0; i < s.boxes.length; i += 4) {
    const [x0, y0, x1, y1] = s.boxes.subarray(i, i + 4);
    if (!(x0 >= -1e-4 && y0 >= -1e-4 && x1 <= s.image.width + 1e-4 && y1 <= s.image.height + 1e-4 && x0 <= x1 && y0 <= y1)) return false;
  }
  return true;
}

describe('detection transforms', () => {
  it('random crop, flip and resize keep every box inside the image and the labels with their boxes', () => {
    fc.assert(
      fc.property(sampleArb, fc.nat(), (sample, seed) => {
        const rng = new Generator(seed);
        const cropped = ssdRandomCrop(sample, rng);
        expect(insideImage(cropped)).toBe(true);
        expect(cropped.boxes.length).toBe(4 * cropped.labels.length);
        for (const l of cropped.labels) expect(sample.labels.includes(l)).toBe(true);
        const flipped = flipDetection(cropped);
        expect(insideImage(flipped)).toBe(true);
        const resized = resizeDetection(flipped, 32, 32);
        expect([resized.image.height, resized.image.width]).toEqual([32, 32]);
        expect(insideImage(resized)).toBe(true);
      }),
    );
  });

  it('flipping twice gives back the sample; photometric distortion stays within 0…255', () => {
    fc.assert(
      fc.property(sampleArb, fc.nat(), (sample, seed) => {
        const twice = flipDetection(flipDetection(sample));
        // Exact for the pixels; the boxes to float32 rounding (W − (W − x) need not be x).
        twice.boxes.forEach((v, i) => expect(Math.abs(v - sample.boxes[i])).toBeLessThan(1e-5));
        expect(Array.from(twice.image.data)).toEqual(Array.from(sample.image.data));
        const distorted = photometricDistort(sample.image, new Generator(seed));
        expect(distorted.data.every((v) => v >= 0 && v <= 255 && Number.isInteger(v))).toBe(true);
        expect([distorted.height, distorted.width]).toEqual([sample.image.height, sample.image.width]);
      }),
    );
  });

  it('8-bit HSV round-trips RGB within the rounding of OpenCV\'s ranges, and knows the primaries', () => {
    expect(rgbToHsv8(255, 0, 0)).toEqual([0, 255, 255]);
    expect(rgbToHsv8(0, 255, 0)).toEqual([60, 255, 255]);
    expect(rgbToHsv8(0, 0, 255)).toEqual([120, 255, 255]);
    expect(rgbToHsv8(128, 128, 128)).toEqual([0, 0, 128]);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), (r, g, b) => {
        const back = hsv8ToRgb(...rgbToHsv8(r, g, b));
        // Hue in 2° steps and saturation in 1/255 steps: a few levels at most on saturated colours.
        for (const [x, y] of [[back[0], r], [back[1], g], [back[2], b]]) expect(Math.abs(x - y)).toBeLessThanOrEqual(6);
      }),
    );
  });

  it('photometric distortion with every part skipped is the identity on integer pixels; parts draw from the generator only', () => {
    const image = { data: Float32Array.from({ length: 3 * 4 * 5 }, (_, i) => (i * 37) % 256), height: 4, width: 5 };
    // A generator whose first six draws are all ≥ 0.5 skips every part.
    let skipSeed = 0;
    for (; skipSeed < 10_000; skipSeed++) {
      const g = new Generator(skipSeed);
      if (Array.from({ length: 6 }, () => g.uniform()).every((u) => u >= 0.5)) break;
    }
    const same = photometricDistort(image, new Generator(skipSeed));
    const roundTrip = Array.from(image.data);
    for (let p = 0; p < 20; p++) {
      const rgb = hsv8ToRgb(...rgbToHsv8(image.data[p], image.data[20 + p], image.data[40 + p]));
      [0, 1, 2].forEach((c) => (roundTrip[c * 20 + p] = rgb[c]));
    }
    expect(Array.from(same.data)).toEqual(roundTrip);
    expect(Array.from(photometricDistort(image, new Generator(5)).data)).toEqual(Array.from(photometricDistort(image, new Generator(5)).data));
  });
});
