import { join } from 'node:path';
import { describe, it } from 'vitest';
import { dataDir } from '@parcnet/testing';
import { parseSegmentationConfig, trainSegmenter } from '../src/index';
import { expectExactResume, tinyRun } from '../../train/test/resume';

const coco = join(dataDir, 'coco-tiny');

describe('trainSegmenter', () => {
  it('a run stopped by max_steps inside an epoch and resumed equals the uninterrupted run, bit for bit', async () => {
    await expectExactResume(async (out, maxSteps, resume) => {
      const config = parseSegmentationConfig({
        dataset: { data: coco, train_batch_size: 2, max_images: 4, eval_splits: ['train2017'], eval_size: 64 },
        augmentation: { min_short_side: 64, max_short_side: 96, crop_size: 64 },
        evaluation: { every_epochs: 1, best_metric: 'train2017_mIoU' },
        ...tinyRun(out, maxSteps),
      }, 'test');
      await trainSegmenter(config, { resume });
    }, [1, 1, 3]);
  }, 120_000);
});
