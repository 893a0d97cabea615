import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AdamW } from '@parcnet/nn';
import { ssdliteParcnetXS } from '@parcnet/models';
import { Tensor } from '@parcnet/tensor';
import { dataDir } from '@parcnet/testing';
import { evaluateSsd, loadCocoDetection, loadDetectionSample, multiboxLoss, resizeDetection, ssdAnchors, ssdPredict, ssdTargets } from '../src/index';

const coco = join(dataDir, 'coco-tiny');

describe('SSDLite training on coco-tiny', () => {
  it('loads the training split (images with boxes only; crowds and degenerate boxes dropped), and a few steps lower the multibox loss', () => {
    const split = loadCocoDetection(join(coco, 'annotations', 'instances_train2017.json'), join(coco, 'train2017'), { training: true });
    expect(split.categoryIds.length).toBe(80);
    expect(split.imageIds.length).toBeGreaterThan(70);
    const size = 64;
    const anchors = ssdAnchors(size);
    const samples = [0, 1, 2, 3].map((i) => resizeDetection(loadDetectionSample(split, i), size, size));
    for (const s of samples) for (const l of s.labels) expect(l >= 1 && l <= 80).toBe(true);
    const images = new Float32Array(4 * 3 * size * size);
    samples.forEach((s, b) => images.set(s.image.data.map((v) => v / 255), b * 3 * size * size));
    const targets = samples.map((s) => ssdTargets(s, anchors));
    expect(targets.every((t) => t.labels.some((l) => l > 0))).toBe(true); // every image has a positive anchor
    const labels = new Tensor(Int32Array.from(targets.flatMap((t) => Array.from(t.labels))), [4, anchors.length / 4]);
    const boxTargets = new Tensor(Float32Array.from(targets.flatMap((t) => Array.from(t.targets))), [4, anchors.length / 4, 4]);
    const x = new Tensor(images, [4, 3, size, size]);

    const model = ssdliteParcnetXS({ numClasses: 81, seed: 1 });
    const optimizer = new AdamW(model.parameters(), { lr: 2e-3, weightDecay: 0 });
    const losses: number[] = [];
    for (let step = 0; step < 12; step++) {
      const { confidences, locations } = model.forwardDetections(x);
      const { loss } = multiboxLoss(confidences, locations, labels, boxTargets);
      optimizer.zeroGrad();
      loss.backward();
      optimizer.step();
      losses.push(loss.item());
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[losses.length - 1]).toBeLessThan(0.7 * losses[0]);
  }, 300_000);
});

describe('SSD inference and COCO evaluation', () => {
  it('predicts boxes inside the image with known class indices, and evaluateSsd scores a split with cocoEval', () => {
    const split = loadCocoDetection(join(coco, 'annotations', 'instances_val2017.json'), join(coco, 'val2017'));
    const few = { ...split, imageIds: split.imageIds.slice(0, 2) };
    const size = 64;
    const anchors = ssdAnchors(size);
    const model = ssdliteParcnetXS({ numClasses: 81, seed: 2 });
    const sample = loadDetectionSample(few, 0);
    const found = ssdPredict(model, sample.image, anchors, { size, scoreThreshold: 0.01 });
    for (const d of found) {
      expect(d.label >= 1 && d.label <= 80).toBe(true);
      expect(d.box[0] >= 0 && d.box[1] >= 0 && d.box[2] <= sample.image.width && d.box[3] <= sample.image.height).toBe(true);
    }
    const { metrics, detections } = evaluateSsd(model, few, anchors, { size, scoreThreshold: 0.01 });
    expect(Object.keys(metrics)).toEqual(['AP', 'AP50', 'AP75', 'APs', 'APm', 'APl', 'AR1', 'AR10', 'AR100']);
    for (const d of detections) expect(few.imageIds).toContain(d.image_id);
    expect(metrics.AP).toBeGreaterThanOrEqual(0); // an untrained model: near 0, but measurable
    // Images already decoded (the trainer's training images) are used as they are: with every image
    // given and the folder gone, nothing is read, and the result is the same.
    const decoded = new Map(few.imageIds.map((id, i) => [id, loadDetectionSample(few, i).image]));
    const reused = evaluateSsd(model, { ...few, imagesDir: join(coco, 'no-such-folder') }, anchors, { size, scoreThreshold: 0.01, images: decoded });
    expect(reused).toEqual({ metrics, detections });
  }, 300_000);
});
