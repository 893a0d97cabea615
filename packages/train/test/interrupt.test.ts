import { existsSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  CHECKPOINT_FILE, classificationTask, loadCheckpoint, loadClassificationData, LOG_FILE, parseTrainConfig, trainClassifier, trainTask,
  type TaskTrainResult, type TrainConfig, type TrainingTask,
} from '../src/index';
import { expectExactResume } from './resume';

const temporaryDir = (): string => mkdtempSync(join(tmpdir(), 'parcnet-interrupt-'));
const sample = fileURLToPath(new URL('../../../examples/cifar10/sample', import.meta.url));

/** Two epochs of two steps (16 images of the CIFAR-10 sample, batches of 8), dropout and EMA on: every part of the state a resume restores. */
function smallConfig(out: string, common: Record<string, unknown> = {}): TrainConfig {
  return parseTrainConfig(
    {
      dataset: { data: sample, train_images: 16, val_images: 10, train_batch_size: 8, val_batch_size: 10, workers: 1 },
      model: { classifier_dropout: 0.2, block_dropout: 0.1 },
      scheduler: { max_epochs: 2, warmup_iterations: 2 },
      common: { out, threads: 2, log_every: 1, ...common },
    },
    'test',
  );
}

/**
 * The engine on the classification task, its signal fired while the run's `stopAt.step`-th step is
 * under way (its forward pass done, its backward and update not yet), or as the evaluation of epoch
 * `stopAt.evaluation` begins.
 */
async function trainStoppedAt(out: string, stopAt: { step: number } | { evaluation: number } | null, resume?: string): Promise<TaskTrainResult> {
  const config = smallConfig(out);
  const { train, val } = await loadClassificationData(config);
  const task = classificationTask(config, train, val);
  const controller = new AbortController();
  let steps = 0;
  const stopping: TrainingTask = {
    ...task,
    async *batches(model, epoch, start) {
      for await (const step of task.batches(model, epoch, start)) {
        if (stopAt && 'step' in stopAt && ++steps === stopAt.step) controller.abort();
        yield step;
      }
    },
    evaluate(model, epoch, progress) {
      if (stopAt && 'evaluation' in stopAt && stopAt.evaluation === epoch) controller.abort();
      return task.evaluate(model, epoch, progress);
    },
  };
  try {
    return await trainTask(config, stopping, { resume, signal: controller.signal });
  } finally {
    await task.close();
  }
}

describe('an interrupted run (options.signal)', () => {
  it('a signal during a step: the step is finished and checkpointed; the resumed run equals the uninterrupted one, bit for bit', async () => {
    await expectExactResume(async (out, stopAtStep, resume) => {
      const result = await trainStoppedAt(out, stopAtStep === null ? null : { step: stopAtStep }, resume);
      expect(result.interrupted).toBe(stopAtStep !== null);
    }, [0, 1, 1]);
  });

  it('a signal during an evaluation: it is abandoned, the checkpoint holds the end of the epoch\'s training, and the resumed run evaluates again, bit for bit', async () => {
    await expectExactResume(async (out, stopped, resume) => {
      const result = await trainStoppedAt(out, stopped === null ? null : { evaluation: 0 }, resume);
      expect(result.interrupted).toBe(stopped !== null);
      if (stopped !== null) {
        expect(result.last).toBe(null);
        expect(existsSync(join(out, 'model.safetensors'))).toBe(false);
        expect(readFileSync(join(out, LOG_FILE), 'utf8')).not.toContain('"type":"eval"');
      }
    }, [0, 2, 2]);
  });

  it('a signal before the first step: no step, a checkpoint at step 0 all the same', async () => {
    const out = temporaryDir();
    const controller = new AbortController();
    controller.abort();
    const result = await trainClassifier(smallConfig(out), { signal: controller.signal });
    expect([result.interrupted, result.steps]).toEqual([true, 0]);
    expect((await loadCheckpoint(join(out, CHECKPOINT_FILE))).loop.globalStep).toBe(0);
  });
});

describe('an out folder that cannot be written', () => {
  it('a file in its place or on its path: an error naming the folder and the cause, before any training', async () => {
    const dir = temporaryDir();
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    await expect(trainClassifier(smallConfig(join(file, 'run')))).rejects.toThrowError(`${join(file, 'run')}: the out folder cannot be written (ENOTDIR: not a directory, mkdir '${join(file, 'run')}')`);
    await expect(trainClassifier(smallConfig(file))).rejects.toThrowError(`${file}: is a file, not a folder`);
    expect(readdirSync(dir)).toEqual(['a-file']);
  });

  // A real ENOSPC: the checkpoint's temporary file (one fixed name) is made a link to /dev/full.
  it.skipIf(!existsSync('/dev/full'))('a full disk at a checkpoint: an error naming the file and the cause; the previous checkpoint is unchanged, no partial file is left', async () => {
    const fresh = temporaryDir();
    const checkpoint = join(fresh, CHECKPOINT_FILE);
    symlinkSync('/dev/full', `${checkpoint}.tmp`);
    await expect(trainClassifier(smallConfig(fresh, { checkpoint_every: 1 }))).rejects.toThrowError(`${checkpoint}: cannot be written (ENOSPC: no space left on device, write); nothing was written`);
    expect(readdirSync(fresh).sort()).toEqual(['events.jsonl', 'log.jsonl']);

    const out = temporaryDir();
    const saved = join(out, CHECKPOINT_FILE);
    await trainClassifier(smallConfig(out, { max_steps: 1 }));
    const before = readFileSync(saved);
    symlinkSync('/dev/full', `${saved}.tmp`);
    await expect(trainClassifier(smallConfig(out, { checkpoint_every: 1 }), { resume: saved })).rejects.toThrowError(`${saved}: cannot be written (ENOSPC: no space left on device, write); the previous file is unchanged`);
    expect(readFileSync(saved).equals(before)).toBe(true);
    expect((await loadCheckpoint(saved)).loop.globalStep).toBe(1);
    expect(existsSync(`${saved}.tmp`)).toBe(false);
  });
});
