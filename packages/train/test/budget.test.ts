import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dataDir } from '@parcnet/testing';
import { CHECKPOINT_FILE, EVENTS_FILE, LOG_FILE, loadCheckpoint, parseTrainConfig, trainClassifier, type TrainConfig } from '../src/index';
import { budgetDrift, budgetRefusal, evaluationsBetween, expectedSeconds, formatDuration, parseDuration, planBudget, type BudgetPosition } from '../src/budget';
import { expectExactResume } from './resume';

const cifar = join(dataDir, 'cifar10');
const temporaryDir = (): string => mkdtempSync(join(tmpdir(), 'parcnet-budget-'));
const readLines = (file: string): Record<string, unknown>[] => readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

/** Three steps an epoch of 16 images (48 training images), 20 test images, EMA with warm-up, a train line per step. */
function tinyConfig(out: string, overrides: Record<string, unknown> = {}): TrainConfig {
  return parseTrainConfig(
    {
      dataset: { data: cifar, train_images: 48, val_images: 20, train_batch_size: 16, val_batch_size: 10, workers: 1 },
      model: { classifier_dropout: 0.2, block_dropout: 0.1 },
      scheduler: { max_epochs: 2, warmup_iterations: 2 },
      ema: { warmup: true },
      common: { out, threads: 2, log_every: 1 },
    },
    'test',
    overrides,
  );
}

describe('budget arithmetic', () => {
  it('reads durations as hours, minutes and seconds, in that order', () => {
    expect(['2h', '90m', '45s', '1h30m', '1.5h', '1h0m30s', ' 2h '].map(parseDuration)).toEqual([7200, 5400, 45, 5400, 5400, 3630, 7200]);
    for (const bad of ['', '2', 'h', '30m2h', '0s', '2 h', '-1h', '1d']) expect(parseDuration(bad)).toBeNull();
    expect([7200, 7020, 185, 42.46].map(formatDuration)).toEqual(['2h00m', '1h57m', '3m05s', '42.5s']);
  });

  it('common.budget is null by default and must be a duration; ema.warmup is off by default', () => {
    const defaults = parseTrainConfig({}, 'x.yaml');
    expect(defaults.common.budget).toBeNull();
    expect(defaults.ema).toEqual({ enable: true, momentum: 0.0005, warmup: false });
    expect(parseTrainConfig({ common: { budget: '1h30m' } }, 'x.yaml').common.budget).toBe('1h30m');
    expect(() => parseTrainConfig({}, 'x.yaml', { common: { budget: '2 hours' } })).toThrowError(/^x\.yaml: common\.budget \(--budget\) must be a duration such as 2h, 90m, 45s or 1h30m, or null; got "2 hours"$/);
    expect(() => parseTrainConfig({ common: { budget: 7200 } }, 'x.yaml')).toThrowError(/common\.budget \(--budget\) must be a duration/);
    expect(() => parseTrainConfig({ ema: { warmup: 'yes' } }, 'x.yaml')).toThrowError(/ema\.warmup must be true or false/);
  });

  it('counts the evaluations of whole epochs: every n-th and the last', () => {
    expect(evaluationsBetween(0, 7, 1)).toBe(7);
    expect(evaluationsBetween(0, 7, 2)).toBe(4); // after epochs 2, 4, 6 and 7
    expect(evaluationsBetween(3, 7, 2)).toBe(3); // 4, 6, 7
    expect(evaluationsBetween(4, 8, 2)).toBe(2); // 6, 8
    expect(evaluationsBetween(5, 5, 1)).toBe(0);
  });

  // The issue's run: 781 steps of 64 images an epoch at 1 s a step, 84 s to evaluate the model and its EMA.
  const cifar2h: BudgetPosition = { budgetSeconds: 7200, elapsedSeconds: 30, steps: 21, epoch: 0, stepsPerEpoch: 781, everyEpochs: 1, maxEpochs: 50 };
  const speed = { stepSeconds: 1, evalSeconds: 84 };

  it('plans the most whole epochs whose steps and evaluations end inside the budget, less 2 %', () => {
    // 30 s + (781 E − 21) s + 84 E s ≤ 0.98 · 7200 s  ⇒  E = 8 (6,929 s); 9 would end at 7,794 s.
    expect(planBudget(cifar2h, speed)).toEqual({ epochs: 8, steps: 6248, evaluations: 8, expectedSeconds: 6929, capped: false, fits: true });
    expect(planBudget({ ...cifar2h, maxEpochs: 5 }, speed)).toMatchObject({ epochs: 5, capped: true, fits: true });
    // Evaluating every other epoch leaves room for more training.
    expect(planBudget({ ...cifar2h, everyEpochs: 2 }, speed)).toMatchObject({ epochs: 8, evaluations: 4, expectedSeconds: 30 + 6248 - 21 + 4 * 84 });
    expect(planBudget({ ...cifar2h, budgetSeconds: 9000 }, speed).epochs).toBe(10);
    // A re-plan after epoch 3, slower than planned: the epochs done stay, the rest is fitted again.
    const after3: BudgetPosition = { ...cifar2h, elapsedSeconds: 3000, steps: 3 * 781, epoch: 3 };
    // 7 epochs would end at 3,000 s + 4 · 781 · 1.2 s + 4 · 100 s = 7,149 s > 7,056 s.
    expect(expectedSeconds(7, after3, { stepSeconds: 1.2, evalSeconds: 100 })).toBeCloseTo(3000 + 4 * 781 * 1.2 + 400, 6);
    expect(planBudget(after3, { stepSeconds: 1.2, evalSeconds: 100 })).toMatchObject({ epochs: 6, evaluations: 3, fits: true });
  });

  it('a budget that cannot hold one epoch and its evaluation is refused with the numbers', () => {
    const short = { ...cifar2h, budgetSeconds: 600 };
    const plan = planBudget(short, speed);
    expect(plan).toMatchObject({ epochs: 1, fits: false });
    expect(budgetRefusal(short, speed, 64, '10m')).toBe(
      'train: a budget of 10m cannot hold one epoch: at the measured 64.0 img/s (1.000 s a step of 64 images), the 760 steps left ' +
        "of the epoch's 781 take 12m40s and its evaluation 1m24s, after 30.0s gone already; that needs 14m52s (2 % kept back); give a longer " +
        '--budget (common.budget) or fewer images',
    );
  });

  it('the drift is that of the time still to go, evaluations included', () => {
    expect(budgetDrift(speed, { stepSeconds: 1.2, evalSeconds: 84 }, 1000, 0)).toBeCloseTo(0.2, 12);
    expect(budgetDrift(speed, { stepSeconds: 1.05, evalSeconds: 84 }, 1000, 2)).toBeCloseTo(50 / 1168, 12);
    expect(budgetDrift(speed, { stepSeconds: 1, evalSeconds: 168 }, 0, 1)).toBeCloseTo(1, 12);
    expect(budgetDrift(speed, speed, 0, 0)).toBe(0);
  });
});

describe('training to a budget', () => {
  it('a tiny run times its first steps, logs and prints its plan, and ends inside the budget', async () => {
    const out = temporaryDir();
    const printed: string[] = [];
    const result = await trainClassifier(tinyConfig(out, { scheduler: { max_epochs: 3 }, common: { budget: '10m' } }), { print: (m) => printed.push(m) });
    const events = readLines(join(out, EVENTS_FILE));
    // No re-plan: the drift is judged on at least 20 steps since the plan, and the run has 6.
    expect(events.map((e) => e.type)).toEqual(['start', 'plan', 'end']);
    const plan = events[1];
    // Three steps an epoch: the plan is made after the first epoch's last step, before its evaluation.
    expect(plan).toMatchObject({ epoch: 0, step: 3, budget: '10m', budget_seconds: 600, epochs: 3, steps: 9, evaluations: 3, capped_by_max_epochs: true });
    for (const key of ['train_images_per_second', 'step_seconds', 'eval_seconds', 'expected_seconds']) expect(plan[key]).toBeGreaterThan(0);
    expect(printed.find((m) => m.startsWith('budget 10m: '))).toMatch(/img\/s training .* an evaluation \(model and EMA\); plan: 3 epochs, 9 steps, 3 evaluations to go \(scheduler\.max_epochs 3 bounds it\); expected end \d\d:\d\d:\d\d/);
    expect(printed.at(-1)).toMatch(/^budget 10m: the run ended [\dhms.]+ after its start, [\dhms.]+ inside the budget$/);
    expect(events[2]).toMatchObject({ epoch: 3, step: 9, interrupted: false, stopped_at_max_steps: false });
    expect(result.epochs).toBe(3);
    expect(result.seconds).toBeLessThan(600);
    expect((await loadCheckpoint(join(out, CHECKPOINT_FILE))).loop.plan).toEqual({ budgetSeconds: 600, epochs: 3, step: 3, replannedAtStep: null });
    const log = readLines(join(out, LOG_FILE));
    for (const line of log) for (const key of ['epoch', 'step', 'loss']) expect(typeof line[key]).toBe('number');
    expect(log.filter((l) => l.type === 'eval').map((l) => l.epoch)).toEqual([0, 1, 2]);
  });

  it('a budget too short for one epoch is refused with the measured numbers', async () => {
    const out = temporaryDir();
    // A tenth of a second is spent before the first step ends: the plan, and its refusal, come then.
    await expect(trainClassifier(tinyConfig(out, { common: { budget: '0.1s' } }))).rejects.toThrowError(
      /^train: a budget of 0\.1s cannot hold one epoch: at the measured [\d.]+ img\/s \([\d.]+ s a step of 16 images\), the 2 steps left of the epoch's 3 take [\d.]+s and its evaluation [\d.]+s, after [\d.]+s gone already; that needs /,
    );
    expect(readLines(join(out, EVENTS_FILE)).map((e) => e.type)).toEqual(['start', 'budget_refused']);
  });

  it('a run stopped inside its plan and resumed keeps the plan and the EMA warm-up, and equals the uninterrupted run bit for bit', async () => {
    // Ten hours hold every epoch: the plan (scheduler.max_epochs) does not depend on the measured speed.
    const resumed: string[] = [];
    await expectExactResume(async (out, maxSteps, resume) => {
      const config = tinyConfig(out, { common: { budget: '10h', ...(maxSteps === null ? {} : { max_steps: maxSteps }) } });
      await trainClassifier(config, { resume, print: (m) => resume && resumed.push(m) });
    }, [1, 1, 4]);
    expect(resumed).toContain("budget: keeping the checkpoint's plan of 10h00m: 2 epochs");
  });
});
