import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { loadSafetensors } from '@parcnet/io';
import { CHECKPOINT_FILE, LOG_FILE, loadCheckpoint } from '../src/index';

/** The run's log lines without the wall-time measurements (images/s, seconds, data wait). */
function measurements(out: string): unknown[] {
  return readFileSync(join(out, LOG_FILE), 'utf8').trim().split('\n').map((line) => {
    const record = JSON.parse(line) as Record<string, unknown>;
    return Object.fromEntries(Object.entries(record).filter(([k]) => !k.includes('per_second') && k !== 'elapsed_seconds' && k !== 'data_wait_fraction' && k !== 'pool_slow_waits'));
  });
}

/** The shared sections of a task's tiny resume run: two epochs on 2 threads, a train line per step, `out` and `maxSteps`. */
export function tinyRun(out: string, maxSteps: number | null): Record<string, unknown> {
  return { scheduler: { max_epochs: 2, warmup_iterations: 1 }, common: { out, threads: 2, log_every: 1, max_steps: maxSteps } };
}

/**
 * The law every task of the engine keeps: a run stopped by max_steps inside an epoch and resumed
 * from its checkpoint ends equal, bit for bit, to the uninterrupted run (weights, EMA, optimiser
 * state, loop position and generators, and the log). `train(out, maxSteps, resume)` runs the task's
 * tiny config; `stop` is where the stopped run must stand: [epoch, batchInEpoch, globalStep].
 * Returns the final checkpoint's tensor names.
 */
export async function expectExactResume(train: (out: string, maxSteps: number | null, resume?: string) => Promise<unknown>, stop: [number, number, number]): Promise<string[]> {
  const folder = (): string => mkdtempSync(join(tmpdir(), 'parcnet-resume-'));
  const whole = folder();
  await train(whole, null);
  const parted = folder();
  await train(parted, stop[2]);
  const stopped = await loadCheckpoint(join(parted, CHECKPOINT_FILE));
  expect([stopped.loop.epoch, stopped.loop.batchInEpoch, stopped.loop.globalStep]).toEqual(stop);
  await train(parted, null, join(parted, CHECKPOINT_FILE));

  const a = await loadSafetensors(join(whole, CHECKPOINT_FILE));
  const b = await loadSafetensors(join(parted, CHECKPOINT_FILE));
  expect(Object.keys(b.tensors).sort()).toEqual(Object.keys(a.tensors).sort());
  for (const [key, t] of Object.entries(a.tensors)) {
    const mine = Buffer.from(t.toTypedArray().buffer);
    const theirs = Buffer.from(b.tensors[key].toTypedArray().buffer);
    if (!mine.equals(theirs)) throw new Error(`resumed run differs in ${key}`);
  }
  const loopA = (await loadCheckpoint(join(whole, CHECKPOINT_FILE))).loop;
  const loopB = (await loadCheckpoint(join(parted, CHECKPOINT_FILE))).loop;
  expect({ ...loopB, elapsedSeconds: 0 }).toEqual({ ...loopA, elapsedSeconds: 0 });
  expect(measurements(parted)).toEqual(measurements(whole));
  return Object.keys(a.tensors);
}
