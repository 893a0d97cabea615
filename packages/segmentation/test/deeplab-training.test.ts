import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AdamW, crossEntropy } from '@parcnet/nn';
import { deeplabv3ParcnetS } from '@parcnet/models';
import { Tensor } from '@parcnet/tensor';
import { decodeImage, loadCocoInstances, resizeBilinear } from '@parcnet/data';
import { dataDir } from '@parcnet/testing';
import { IGNORE_INDEX, semanticMask, ConfusionMatrix } from '../src/index';

const coco = join(dataDir, 'coco-tiny');

/** Nearest-neighbour resize of a class mask (labels must not be interpolated). */
function resizeMask(mask: Uint8Array, height: number, width: number, size: number): Int32Array {
  const out = new Int32Array(size * size);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) out[y * size + x] = mask[Math.floor(((y + 0.5) * height) / size) * width + Math.floor(((x + 0.5) * width) / size)];
  }
  return out;
}

describe('DeepLabV3 training on coco-tiny masks', () => {
  it('a few steps on two images lower the cross-entropy (255 ignored) and raise the pixel accuracy', () => {
    const instances = loadCocoInstances(join(coco, 'annotations', 'instances_train2017.json'));
    const size = 64;
    const ids = instances.images.slice(0, 2).map((i) => i.id);
    const images = new Float32Array(2 * 3 * size * size);
    const labels = new Int32Array(2 * size * size);
    ids.forEach((id, b) => {
      const info = instances.images.find((i) => i.id === id)!;
      const image = resizeBilinear(decodeImage(new Uint8Array(readFileSync(join(coco, 'train2017', info.file_name)))), size, size);
      images.set(Float32Array.from(image.data, (v) => v / 255), b * 3 * size * size);
      const { mask, height, width } = semanticMask(instances, id);
      labels.set(resizeMask(mask, height, width, size), b * size * size);
    });
    const x = new Tensor(images, [2, 3, size, size]);
    const y = new Tensor(labels, [2, size, size]);
    const model = deeplabv3ParcnetS({ numClasses: 81, seed: 3 });
    const optimizer = new AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0 });
    const losses: number[] = [];
    let logits: Tensor | null = null;
    for (let step = 0; step < 8; step++) {
      logits = model.forward(x);
      const loss = crossEntropy(logits, y, { ignoreIndex: IGNORE_INDEX });
      optimizer.zeroGrad();
      loss.backward();
      optimizer.step();
      losses.push(loss.item());
    }
    expect(losses[losses.length - 1]).toBeLessThan(0.7 * losses[0]);
    const prediction = new Int32Array(2 * size * size);
    const scores = logits!.toTypedArray();
    for (let b = 0; b < 2; b++) {
      for (let p = 0; p < size * size; p++) {
        let best = 0;
        for (let c = 1; c < 81; c++) if (scores[(b * 81 + c) * size * size + p] > scores[(b * 81 + best) * size * size + p]) best = c;
        prediction[b * size * size + p] = best;
      }
    }
    const matrix = new ConfusionMatrix(81);
    matrix.add(labels, prediction);
    expect(matrix.metrics().aAcc).toBeGreaterThan(0.3);
  }, 300_000);
});
