import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Generator } from '@parcnet/tensor';
import { flipDetection, photometricDistort, resizeDetection, ssdRandomCrop, type DetectionSample } from '../src/index';

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
        expect(distorted.data.every((v) => v >= 0 && v <= 255)).toBe(true);
      }),
    );
  });
});
