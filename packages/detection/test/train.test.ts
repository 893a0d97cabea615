import { join } from 'node:path';
import { describe, it } from 'vitest';
import { dataDir } from '@parcnet/testing';
import { parseDetectionConfig, trainDetector } from '../src/index';
import { expectExactResume, tinyRun } from '../../train/test/resume';

const coco = join(dataDir, 'coco-tiny');

describe('trainDetector', () => {
  it('a run stopped by max_steps inside an epoch and resumed equals the uninterrupted run, bit for bit', async () => {
    await expectExactResume(async (out, maxSteps, resume) => {
      const config = parseDetectionConfig({
        dataset: { data: coco, image_size: 64, train_batch_size: 2, max_images: 4, eval_splits: ['train2017'] },
        evaluation: { every_epochs: 1, best_metric: 'train2017_AP' },
        ...tinyRun(out, maxSteps),
      }, 'test');
      await trainDetector(config, { resume });
    }, [1, 1, 3]);
  }, 120_000);
});
