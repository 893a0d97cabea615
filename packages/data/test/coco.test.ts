import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dataDir } from '@parcnet/testing';
import { loadCocoInstances, parseCocoInstances } from '../src/index';

const annotations = join(dataDir, 'coco-tiny', 'annotations');

describe('COCO instances JSON', () => {
  it('reads the coco-tiny splits (80 images each; 705 and 815 annotations; 80 categories)', () => {
    const train = loadCocoInstances(join(annotations, 'instances_train2017.json'));
    expect([train.images.length, train.annotations.length, train.categories.length]).toEqual([80, 705, 80]);
    expect(train.annotations.filter((a) => a.iscrowd === 1).length).toBe(6);
    const val = loadCocoInstances(join(annotations, 'instances_val2017.json'));
    expect([val.images.length, val.annotations.length]).toEqual([80, 815]);
  });

  it('refuses missing keys, boxes outside the image and unknown categories, naming the file and the annotation', () => {
    const base = () => ({
      images: [{ id: 1, file_name: 'a.jpg', width: 100, height: 50 }],
      annotations: [{ id: 7, image_id: 1, category_id: 3, bbox: [10, 10, 20, 20], area: 400, iscrowd: 0 }],
      categories: [{ id: 3, name: 'car' }],
    });
    expect(parseCocoInstances(base(), 'x.json').annotations.length).toBe(1);
    expect(() => parseCocoInstances({ images: [], categories: [] }, 'x.json')).toThrowError(/x\.json: missing the "annotations" list/);
    const outside = base();
    outside.annotations[0].bbox = [90, 10, 20, 20];
    expect(() => parseCocoInstances(outside, 'x.json')).toThrowError(/x\.json: annotation 7: bbox \[90, 10, 20, 20\] lies outside image 1 \(100×50\)/);
    const unknown = base();
    unknown.annotations[0].category_id = 99;
    expect(() => parseCocoInstances(unknown, 'x.json')).toThrowError(/annotation 7 has category 99, which is not in "categories"/);
    const noImage = base();
    noImage.annotations[0].image_id = 2;
    expect(() => parseCocoInstances(noImage, 'x.json')).toThrowError(/annotation 7 refers to image 2/);
    const noBox = base() as unknown as { annotations: Record<string, unknown>[] };
    delete noBox.annotations[0].bbox;
    expect(() => parseCocoInstances(noBox, 'x.json')).toThrowError(/annotation 7 has bbox undefined/);
  });
});
