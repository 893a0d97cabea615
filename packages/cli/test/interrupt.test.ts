import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { Generator } from '@parcnet/tensor';
import { loadSafetensors } from '@parcnet/io';
import { CHECKPOINT_FILE, LOG_FILE, loadCheckpoint } from '@parcnet/train';

// `parcnet train` stopped by Ctrl-C, SIGTERM and kill -9, resumed with --resume, ends where an
// uninterrupted run ends, bit for bit. The processes run the compiled dist/ (build it first).

const root = fileURLToPath(new URL('../../../', import.meta.url));
const bin = join(root, 'node_modules', '.bin', 'parcnet');
const sample = join(root, 'examples', 'cifar10', 'sample');
const dir = mkdtempSync(join(tmpdir(), 'parcnet-interrupt-'));

// Two epochs of four steps of five images, a checkpoint after every step: a run takes about 6 s on
// 2 cores, and a checkpoint write (37 MB, fsync) about as long as a step, so kills land in both.
const STEPS = 8;
const config = join(dir, 'tiny.yaml');
writeFileSync(config, JSON.stringify({
  model: { name: 'parcnet-xs', cifar_stem: true, classifier_dropout: 0.2, block_dropout: 0.1 },
  dataset: { name: 'cifar10', data: sample, train_images: 20, val_images: 10, train_batch_size: 5, val_batch_size: 10, workers: 1 },
  scheduler: { max_epochs: 2, warmup_iterations: 2 },
  ema: { enable: true },
  common: { seed: 1, threads: 2, log_every: 1, checkpoint_every: 1 },
}));
const trainArgs = (out: string, ...more: string[]): string[] => ['train', '--config', config, '--out', out, '--no-progress', ...more];

/** A running `parcnet` with its output so far. */
interface Run {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  /** Resolves when the process has ended: its exit code, or the signal that ended it. */
  ended: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the bin in its own process group (so a signal to the group is a terminal's Ctrl-C), with extra environment. */
function start(args: string[], env: Record<string, string> = {}): Run {
  const child = spawn(bin, args, { cwd: root, detached: true, env: { ...process.env, ...env } });
  const run: Run = { child, stdout: '', stderr: '', ended: new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal }))) };
  child.stdout!.on('data', (d: Buffer) => (run.stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (run.stderr += d.toString()));
  return run;
}

/** Waits until `condition` holds; false when the process ended first. */
async function until(run: Run, condition: () => boolean): Promise<boolean> {
  let ended = false;
  void run.ended.then(() => (ended = true));
  for (;;) {
    if (condition()) return true;
    if (ended) return condition();
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const started = (run: Run): boolean => /steps per epoch; out /.test(run.stdout);
const trainLines = (out: string): number => (existsSync(join(out, LOG_FILE)) ? readFileSync(join(out, LOG_FILE), 'utf8').split('\n').filter((l) => l.includes('"type":"train"')).length : 0);

/** The log without wall-time measurements. */
function measurements(out: string): unknown[] {
  return readFileSync(join(out, LOG_FILE), 'utf8').trim().split('\n').map((line) => {
    const record = JSON.parse(line) as Record<string, unknown>;
    return Object.fromEntries(Object.entries(record).filter(([k]) => !k.includes('per_second') && k !== 'elapsed_seconds' && k !== 'data_wait_fraction' && k !== 'pool_slow_waits'));
  });
}

const reference = join(dir, 'whole');

/** The run in `out` ended as the uninterrupted one: checkpoint tensors, loop, weights files and log, bit for bit, and no file more. */
async function expectSameAsUninterrupted(out: string): Promise<void> {
  expect(readdirSync(out).sort()).toEqual(readdirSync(reference).sort());
  const a = await loadSafetensors(join(reference, CHECKPOINT_FILE));
  const b = await loadSafetensors(join(out, CHECKPOINT_FILE));
  expect(Object.keys(b.tensors).sort()).toEqual(Object.keys(a.tensors).sort());
  for (const [key, t] of Object.entries(a.tensors)) {
    if (!Buffer.from(t.toTypedArray().buffer).equals(Buffer.from(b.tensors[key].toTypedArray().buffer))) throw new Error(`${out}: ${key} differs from the uninterrupted run`);
  }
  const loopA = (await loadCheckpoint(join(reference, CHECKPOINT_FILE))).loop;
  const loopB = (await loadCheckpoint(join(out, CHECKPOINT_FILE))).loop;
  expect({ ...loopB, elapsedSeconds: 0 }).toEqual({ ...loopA, elapsedSeconds: 0 });
  for (const file of ['model.safetensors', 'best.safetensors']) expect(readFileSync(join(out, file)).equals(readFileSync(join(reference, file))), file).toBe(true);
  expect(measurements(out)).toEqual(measurements(reference));
}

describe('parcnet train interrupted', () => {
  beforeAll(async () => {
    const run = start(trainArgs(reference));
    expect((await run.ended).code, run.stderr).toBe(0);
  }, 120_000);

  it('Ctrl-C: finishes the step, checkpoints it, prints the --resume command and exits 130; the command resumes to the uninterrupted result', async () => {
    const out = join(dir, 'sigint');
    const run = start(trainArgs(out));
    expect(await until(run, () => trainLines(out) >= 2)).toBe(true);
    process.kill(-run.child.pid!, 'SIGINT'); // to the process group, as a terminal does
    expect(await run.ended).toEqual({ code: 130, signal: null });
    expect(run.stderr).toMatch(/SIGINT: stopping after this step to write a checkpoint/);
    const step = Number(/interrupted after step (\d+) \(epoch 1, batch \d\/4\); checkpoint /.exec(run.stdout)?.[1]);
    expect(step).toBeGreaterThanOrEqual(2);
    // Every step taken is in the checkpoint (log_every 1: one train line per step).
    expect((await loadCheckpoint(join(out, CHECKPOINT_FILE))).loop.globalStep).toBe(step);
    expect(trainLines(out)).toBe(step);
    const command = /to continue:\n {2}(.+)\n/.exec(run.stdout)?.[1] ?? '';
    expect(command).toBe(`npx parcnet train --config ${config} --out ${out} --no-progress --resume ${join(out, CHECKPOINT_FILE)}`);
    const resumed = spawnSync('sh', ['-c', command], { cwd: root, encoding: 'utf8' });
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain(`resuming from ${join(out, CHECKPOINT_FILE)}: epoch 1, batch ${step}, step ${step}`);
    await expectSameAsUninterrupted(out);
  }, 120_000);

  it('SIGTERM: the same stop, exit code 143', async () => {
    const out = join(dir, 'sigterm');
    const run = start(trainArgs(out));
    expect(await until(run, () => trainLines(out) >= 1)).toBe(true);
    run.child.kill('SIGTERM');
    expect(await run.ended).toEqual({ code: 143, signal: null });
    const step = Number(/interrupted after step (\d+) /.exec(run.stdout)?.[1]);
    expect((await loadCheckpoint(join(out, CHECKPOINT_FILE))).loop.globalStep).toBe(step);
    expect(run.stdout).toContain(`stopped by SIGTERM; to continue:\n  npx parcnet train --config ${config} --out ${out} --no-progress --resume ${join(out, CHECKPOINT_FILE)}\n`);
  }, 120_000);

  it('a second Ctrl-C quits at once (130), even in the middle of a checkpoint write, and the last checkpoint stays whole', async () => {
    const out = join(dir, 'twice');
    const first = start(trainArgs(out, '--max-steps', '2'));
    expect((await first.ended).code).toBe(0);
    const checkpoint = join(out, CHECKPOINT_FILE);
    const before = readFileSync(checkpoint);
    // The resumed run's first checkpoint write stops half-way (test hook) and waits: only the second signal can end it.
    const run = start(trainArgs(out, '--resume', checkpoint), { PARCNET_TEST_CHECKPOINT_STALL: '1:half' });
    expect(await until(run, () => run.stderr.includes('checkpoint write stalled'))).toBe(true);
    process.kill(-run.child.pid!, 'SIGINT');
    expect(await until(run, () => run.stderr.includes('SIGINT: stopping after this step'))).toBe(true);
    await sleep(1100); // a signal within a second of the first counts as the same press
    process.kill(-run.child.pid!, 'SIGINT');
    expect(await run.ended).toEqual({ code: 130, signal: null });
    expect(readFileSync(checkpoint).equals(before)).toBe(true);
    expect((await loadCheckpoint(checkpoint)).loop.globalStep).toBe(2);
  }, 120_000);

  it('kill -9 at random moments, some in the middle of checkpoint writes: each --resume continues, and the end equals the uninterrupted run bit for bit', async () => {
    const out = join(dir, 'killed');
    const checkpoint = join(out, CHECKPOINT_FILE);
    const random = new Generator(18);
    type Kill = 'startup' | 'training' | 'half-written' | 'before-rename';
    const plan: Kill[] = ['startup', 'startup', 'half-written', 'half-written', 'before-rename', 'before-rename', ...Array<Kill>(5).fill('training')];
    for (let i = plan.length - 1; i > 0; i--) {
      const j = random.integer(0, i + 1);
      [plan[i], plan[j]] = [plan[j], plan[i]];
    }
    const moments: string[] = [];
    for (const planned of plan) {
      const resume = existsSync(checkpoint);
      // Killed before its first checkpoint: nothing to resume, start afresh.
      if (!resume) rmSync(out, { recursive: true, force: true });
      const stepBefore = resume ? (await loadCheckpoint(checkpoint)).loop.globalStep : 0;
      const bytesBefore = resume ? readFileSync(checkpoint) : null;
      // Near the end a kill must come before the run finishes: a stall at the first write, which loses every step of this part.
      const nearEnd = stepBefore >= STEPS - 3;
      const kill: Kill = nearEnd && (planned === 'training' || planned === 'startup') ? 'half-written' : planned;
      const stallAt = kill === 'half-written' || kill === 'before-rename' ? (nearEnd ? 1 : random.integer(1, 3)) : 0;
      const env: Record<string, string> = stallAt > 0 ? { PARCNET_TEST_CHECKPOINT_STALL: `${stallAt}:${kill === 'half-written' ? 'half' : 'whole'}` } : {};
      const run = start(trainArgs(out, ...(resume ? ['--resume', checkpoint] : [])), env);
      let reached: boolean;
      if (kill === 'startup') {
        await sleep(random.uniform() * 1500);
        reached = true;
      } else if (kill === 'training') {
        const steps = random.integer(1, 3);
        reached = (await until(run, () => started(run))) && (await until(run, () => trainLines(out) >= stepBefore + steps));
        await sleep(random.uniform() * 600);
      } else {
        reached = await until(run, () => run.stderr.includes('checkpoint write stalled'));
        expect(existsSync(`${checkpoint}.tmp`)).toBe(true);
      }
      expect(reached, `${kill}: the run ended before the kill\n${run.stdout}\n${run.stderr}`).toBe(true);
      run.child.kill('SIGKILL');
      const ended = await run.ended;
      expect(ended.signal, `${kill}: ${run.stderr}`).toBe('SIGKILL');
      // Whatever the moment, the last checkpoint reads back; a write cut short changed nothing.
      if (existsSync(checkpoint)) {
        const stepAfter = (await loadCheckpoint(checkpoint)).loop.globalStep;
        expect(stepAfter).toBeGreaterThanOrEqual(stepBefore);
        if (stallAt === 1 && bytesBefore) expect(readFileSync(checkpoint).equals(bytesBefore)).toBe(true);
        moments.push(`${kill}${stallAt ? ` (write ${stallAt})` : ''}: step ${stepBefore} → ${stepAfter}`);
      } else moments.push(`${kill}: no checkpoint yet`);
    }
    console.log(`kill -9 moments:\n  ${moments.join('\n  ')}`);
    const last = start(trainArgs(out, '--resume', checkpoint));
    expect((await last.ended).code, last.stderr).toBe(0);
    expect(last.stdout).toMatch(/done: 2 epochs, 8 steps/);
    await expectSameAsUninterrupted(out);
  }, 240_000);

  it('an out folder that cannot be made: one line naming it and the cause, before any training', () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    const result = spawnSync(bin, trainArgs(join(file, 'run')), { cwd: root, encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(`parcnet train: ${join(file, 'run')}: the out folder cannot be written (ENOTDIR: not a directory, mkdir '${join(file, 'run')}')\n`);
    expect(result.stdout).toBe('');
  });
});
