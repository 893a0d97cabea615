import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCocoInstances } from '@parcnet/data';
import { dataDir } from '@parcnet/testing';
import { ConfusionMatrix, decodeRle, fillPolygon, IGNORE_INDEX, semanticMask } from '../src/index';

const instances = loadCocoInstances(join(dataDir, 'coco-tiny', 'annotations', 'instances_train2017.json'));

describe('segmentation masks and metrics', () => {
  it('fills a polygon by pixel centres', () => {
    const mask = new Uint8Array(25);
    fillPolygon(mask, 5, 5, [1, 1, 4, 1, 4, 3, 1, 3], 7);
    const rows = Array.from({ length: 5 }, (_, y) => Array.from(mask.subarray(5 * y, 5 * y + 5)).join(''));
    expect(rows).toEqual(['00000', '07770', '07770', '00000', '00000']);
  });

  it('decodes column-major runs; the crowd RLEs of coco-tiny decode to masks whose bounding box is the annotated bbox', () => {
    expect(Array.from(decodeRle({ counts: [1, 2, 3], size: [2, 3] }))).toEqual([0, 1, 0, 1, 0, 0]);
    const crowds = instances.annotations.filter((a) => a.iscrowd === 1);
    expect(crowds.length).toBe(6);
    // (Their `area` fields are not the run totals in COCO itself, so the box is the check.)
    for (const a of crowds) {
      const rle = a.segmentation as { counts: number[]; size: [number, number] };
      const binary = decodeRle(rle);
      const [height, width] = rle.size;
      let [x0, y0, x1, y1] = [width, height, -1, -1];
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          if (!binary[y * width + x]) continue;
          [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
        }
      }
      // pycocotools' toBbox reports the width and height one pixel short of the decoded extent.
      expect([x0, y0, x1 - x0, y1 - y0], `annotation ${a.id}`).toEqual(a.bbox);
      expect(binary.reduce((s, v) => s + v, 0)).toBe(rle.counts.filter((_, i) => i % 2 === 1).reduce((s, v) => s + v, 0));
    }
    expect(() => decodeRle({ counts: [1, 2], size: [2, 3] }, 'x')).toThrowError(/x: the runs cover 3 pixels, the mask has 2×3/);
  });

  it('polygons rasterise to within 3 % of the annotated areas over the training split; masks hold classes and 255', () => {
    let annotated = 0;
    let rasterised = 0;
    for (const a of instances.annotations.filter((x) => x.iscrowd === 0)) {
      const image = instances.images.find((i) => i.id === a.image_id)!;
      const mask = new Uint8Array(image.height * image.width);
      for (const polygon of a.segmentation as number[][]) fillPolygon(mask, image.height, image.width, polygon, 1);
      rasterised += mask.reduce((s, v) => s + v, 0);
      annotated += a.area;
    }
    expect(Math.abs(rasterised - annotated) / annotated).toBeLessThan(0.03);
    const withCrowd = instances.annotations.find((a) => a.iscrowd === 1)!.image_id;
    const { mask } = semanticMask(instances, withCrowd);
    const values = new Set(mask);
    expect(values.has(IGNORE_INDEX)).toBe(true);
    for (const v of values) expect(v === IGNORE_INDEX || (v >= 0 && v <= 80)).toBe(true);
  });

  it('mIoU, mAcc and aAcc from a confusion matrix, ignoring 255 and classes never present', () => {
    const m = new ConfusionMatrix(3);
    m.add([0, 0, 1, 1, 255], [0, 1, 1, 1, 2]);
    const r = m.metrics();
    // class 0: IoU 1/2, acc 1/2; class 1: IoU 2/3, acc 1; class 2 absent from the truth.
    expect(r.mIoU).toBeCloseTo((1 / 2 + 2 / 3) / 2, 12);
    expect(r.mAcc).toBeCloseTo(0.75, 12);
    expect(r.aAcc).toBeCloseTo(0.75, 12);
  });
});
