import { describe, expect, it } from 'vitest';
import { cocoEval, type CocoDetection } from '../src/index';

type Gt = { id: number; image_id: number; category_id?: number; bbox: [number, number, number, number]; iscrowd?: 0 | 1; area?: number };

function groundTruth(annotations: Gt[], images = [1, 2], categories = [1]) {
  return {
    images: images.map((id) => ({ id, file_name: `${id}.jpg`, width: 640, height: 480 })),
    categories: categories.map((id) => ({ id, name: `c${id}` })),
    annotations: annotations.map((a) => ({ category_id: 1, iscrowd: 0, area: a.bbox[2] * a.bbox[3], ...a })),
  };
}
const det = (image_id: number, bbox: [number, number, number, number], score: number, category_id = 1): CocoDetection => ({ image_id, category_id, bbox, score });

describe('cocoEval (COCOeval semantics)', () => {
  it('perfect detections score 1 everywhere they can be measured, −1 where there is nothing to measure', () => {
    const gt = groundTruth([
      { id: 1, image_id: 1, bbox: [10, 10, 100, 100] },
      { id: 2, image_id: 2, bbox: [50, 60, 20, 20] },
    ]);
    const m = cocoEval(gt, [det(1, [10, 10, 100, 100], 0.9), det(2, [50, 60, 20, 20], 0.8)]);
    // Precision is tp / (tp + fp + eps) with numpy's eps, as in pycocotools: "1" is 1 − 2.2e-16.
    const rounded = Object.fromEntries(Object.entries(m).map(([k, v]) => [k, Number(v.toFixed(12))]));
    expect(rounded).toEqual({ AP: 1, AP50: 1, AP75: 1, APs: 1, APm: -1, APl: 1, AR1: 1, AR10: 1, AR100: 1 });
  });

  it('computes 101-point interpolated precision: TP, FP, TP over two objects gives (51·1 + 50·⅔)/101', () => {
    const gt = groundTruth([
      { id: 1, image_id: 1, bbox: [0, 0, 10, 10] },
      { id: 2, image_id: 1, bbox: [100, 100, 10, 10] },
    ]);
    const m = cocoEval(gt, [det(1, [0, 0, 10, 10], 0.9), det(1, [300, 300, 10, 10], 0.8), det(1, [100, 100, 10, 10], 0.7)]);
    const expected = (51 + 50 * (2 / 3)) / 101;
    expect(m.AP).toBeCloseTo(expected, 12);
    expect(m.AP50).toBeCloseTo(expected, 12);
    expect(m.APs).toBeCloseTo(expected, 12);
    expect([m.APm, m.APl]).toEqual([-1, -1]);
    expect(m.AR1).toBe(0.5);
    expect(m.AR10).toBe(1);
  });

  it('IoU thresholds: a box with IoU 0.72 counts at .50–.70 and misses at .75–.95', () => {
    const gt = groundTruth([{ id: 1, image_id: 1, bbox: [0, 0, 100, 100] }]);
    // Shifted 16.28 px to the right: intersection 83.72·100, union 116.28·100, IoU ≈ 0.72.
    const m = cocoEval(gt, [det(1, [16.28, 0, 100, 100], 0.9)]);
    expect(m.AP50).toBeCloseTo(1, 12);
    expect(m.AP75).toBe(0);
    expect(m.AP).toBeCloseTo(0.5, 12);
    expect(m.AR100).toBeCloseTo(0.5, 12);
  });

  it('a detection on a crowd region is ignored, not a false positive; without the crowd flag it would be one', () => {
    const annotations: Gt[] = [
      { id: 1, image_id: 1, bbox: [0, 0, 50, 50] },
      { id: 2, image_id: 1, bbox: [200, 200, 200, 200], iscrowd: 1 },
    ];
    const dets = [det(1, [210, 210, 40, 40], 0.95), det(1, [0, 0, 50, 50], 0.9)];
    expect(cocoEval(groundTruth(annotations), dets).AP).toBeCloseTo(1, 12);
    const notCrowd = annotations.map((a) => ({ ...a, iscrowd: 0 as const }));
    expect(cocoEval(groundTruth(notCrowd), dets).AP).toBeLessThan(0.6);
  });

  it('images without objects: a detection there is a false positive; images with neither change nothing', () => {
    const gt = groundTruth([{ id: 1, image_id: 1, bbox: [0, 0, 50, 50] }], [1, 2, 3]);
    expect(cocoEval(gt, [det(1, [0, 0, 50, 50], 0.5)]).AP).toBeCloseTo(1, 12);
    const withFalse = cocoEval(gt, [det(1, [0, 0, 50, 50], 0.5), det(2, [0, 0, 50, 50], 0.9)]);
    // The false positive ranks first: precision 1/2 at recall 1, for every threshold.
    expect(withFalse.AP).toBeCloseTo(0.5, 12);
    expect(withFalse.AR100).toBe(1);
    // Nothing detected at all: AP 0 (there are objects), not −1.
    expect(cocoEval(gt, []).AP).toBe(0);
  });

  it('categories are evaluated separately and averaged; a wrong category is a miss', () => {
    const gt = groundTruth(
      [
        { id: 1, image_id: 1, category_id: 1, bbox: [0, 0, 50, 50] },
        { id: 2, image_id: 1, category_id: 2, bbox: [100, 0, 50, 50] },
      ],
      [1],
      [1, 2],
    );
    const m = cocoEval(gt, [det(1, [0, 0, 50, 50], 0.9, 1), det(1, [100, 0, 50, 50], 0.9, 1)]);
    expect(m.AP).toBeCloseTo(0.5, 12); // category 1: 1 (the extra box ranks below the hit); category 2: 0
  });

  it('refuses detections for unknown images and malformed ground truth, naming them', () => {
    const gt = groundTruth([{ id: 1, image_id: 1, bbox: [0, 0, 5, 5] }]);
    expect(() => cocoEval(gt, [det(9, [0, 0, 5, 5], 1)])).toThrowError(/detection 0 is for image 9/);
    expect(() => cocoEval({ images: [] }, [])).toThrowError(/missing the "annotations" list/);
  });
});

describe('cocoEval reads ground truth as pycocotools does (bbox)', () => {
  // The least pycocotools' COCO + COCOeval('bbox') need: ids, image_id, category_id, bbox.
  const minimal = (annotations: Record<string, unknown>[], images: Record<string, unknown>[] = [{ id: 1 }]) => ({
    images,
    categories: [{ id: 1 }],
    annotations: annotations.map((a, i) => ({ id: i + 1, image_id: 1, category_id: 1, ...a })),
  });
  const hit = [det(1, [10, 10, 20, 20], 0.9)];

  it('images need only an id: no file_name (nor width and height) is fine', () => {
    const withFiles = minimal([{ bbox: [10, 10, 20, 20], iscrowd: 0, area: 400 }], [{ id: 1, file_name: '1.jpg', width: 64, height: 48 }]);
    const withoutFiles = minimal([{ bbox: [10, 10, 20, 20], iscrowd: 0, area: 400 }], [{ id: 1 }]);
    expect(cocoEval(withoutFiles, hit)).toEqual(cocoEval(withFiles, hit));
    expect(cocoEval(withoutFiles, hit).AP).toBeCloseTo(1, 12);
  });

  it('iscrowd absent is 0: the object counts, a detection on it is a hit', () => {
    const absent = minimal([{ bbox: [10, 10, 20, 20], area: 400 }]);
    expect(cocoEval(absent, hit)).toEqual(cocoEval(minimal([{ bbox: [10, 10, 20, 20], area: 400, iscrowd: 0 }]), hit));
    expect(cocoEval(absent, hit).AP).toBeCloseTo(1, 12);
    // As a crowd it would be ignored, leaving nothing to measure.
    expect(cocoEval(minimal([{ bbox: [10, 10, 20, 20], area: 400, iscrowd: 1 }]), hit).AP).toBe(-1);
  });

  it('area absent is the box\'s width · height, which decides small / medium / large', () => {
    // 20 × 20 = 400 < 32²: small.
    const small = cocoEval(minimal([{ bbox: [10, 10, 20, 20], iscrowd: 0 }]), hit);
    expect([small.APs, small.APm, small.APl]).toEqual([expect.closeTo(1, 12), -1, -1]);
    // 40 × 50 = 2000: medium, although a given (mask) area of 900 would have made it small.
    const box = [5, 5, 40, 50];
    const medium = cocoEval(minimal([{ bbox: box }]), [det(1, box as [number, number, number, number], 0.9)]);
    expect([medium.APs, medium.APm, medium.APl]).toEqual([-1, expect.closeTo(1, 12), -1]);
    const given = cocoEval(minimal([{ bbox: box, area: 900 }]), [det(1, box as [number, number, number, number], 0.9)]);
    expect([given.APs, given.APl]).toEqual([expect.closeTo(1, 12), -1]);
  });

  it('segmentation absent is fine for boxes: with or without a polygon, the same metrics', () => {
    const withPolygon = minimal([{ bbox: [10, 10, 20, 20], area: 300, iscrowd: 0, segmentation: [[10, 10, 30, 10, 30, 30]] }]);
    const without = minimal([{ bbox: [10, 10, 20, 20], area: 300, iscrowd: 0 }]);
    const dets = [det(1, [12, 10, 20, 20], 0.9), det(1, [40, 40, 10, 10], 0.8)];
    expect(cocoEval(without, dets)).toEqual(cocoEval(withPolygon, dets));
    expect(cocoEval(without, dets).AP50).toBeCloseTo(1, 12);
  });

  it('an annotation\'s own "ignore" field is not read (COCOeval._prepare overwrites it with iscrowd)', () => {
    expect(cocoEval(minimal([{ bbox: [10, 10, 20, 20], ignore: 1 }]), hit).AP).toBeCloseTo(1, 12);
  });

  it('still refuses what cannot be evaluated, naming it', () => {
    expect(() => cocoEval(minimal([{ bbox: [0, 0, 5, 5] }], [{ file_name: 'x.jpg' }]), [])).toThrowError(/image \{"file_name":"x.jpg"\} has no numeric "id"/);
    expect(() => cocoEval(minimal([{ bbox: [0, 0, 5] }]), [])).toThrowError(/annotation 1 has bbox \[0,0,5\]/);
    expect(() => cocoEval(minimal([{ bbox: [0, 0, 5, 5], iscrowd: 2 }]), [])).toThrowError(/annotation 1 has iscrowd 2/);
    expect(() => cocoEval(minimal([{ bbox: [0, 0, 5, 5], image_id: 4 }]), [])).toThrowError(/annotation 1 refers to image 4/);
  });
});
