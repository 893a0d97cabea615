import '@parcnet/wasm';
// How long kernel threads should poll before they sleep (setThreadSpin), measured in one process:
// rounds that alternate the settings (the order reversed every other round, so a setting is not
// always first after a slow spell), each a few ParC-Net-XS training steps and evaluation forwards
// (CIFAR stem, batch 64) on 2 threads, medians per round. The machine's speed swings within
// minutes, so each round's settings are compared with each other, never with another round's: the
// summary gives each setting's images/s over the first setting's, round by round, and their median.
// Also the 1-thread step with the first setting, for the gain of the second thread.
// Run: npx tsx benchmarks/thread-spin.ts [rounds=4] [spins in µs=0,1000] [steps=3]
import { setNumThreads, setThreadSpin } from 'parcnet';
import { xsWorkload } from './xs-workload.js';

const rounds = Number(process.argv[2] ?? 4);
const spins = (process.argv[3] ?? '0,1000').split(',').map(Number);
const steps = Number(process.argv[4] ?? 3);
const batch = 64;

const { model, trainStep, evalForward } = xsWorkload(batch);

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
// Lets the pool's helpers and the collector run between timed calls, as a training loop's awaits do.
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Training and evaluation images/s (medians of `steps` and 2·`steps` calls after one untimed call). */
async function measure(threads: number, spin: number): Promise<{ train: number; evaluate: number }> {
  setNumThreads(threads);
  setThreadSpin(spin);
  const train: number[] = [];
  const evaluate: number[] = [];
  model.train();
  for (let i = 0; i <= steps; i++) {
    const t = performance.now();
    trainStep();
    if (i > 0) train.push(performance.now() - t);
    await tick();
  }
  model.eval();
  for (let i = 0; i <= 2 * steps; i++) {
    const t = performance.now();
    evalForward();
    if (i > 0) evaluate.push(performance.now() - t);
    await tick();
  }
  return { train: (batch * 1000) / median(train), evaluate: (batch * 1000) / median(evaluate) };
}

const perRound: { spin: number; train: number; evaluate: number }[][] = [];
const gains: number[] = [];
for (let round = 0; round < rounds; round++) {
  const order = round % 2 === 0 ? spins : [...spins].reverse();
  const results: { spin: number; train: number; evaluate: number }[] = [];
  for (const spin of order) {
    const r = await measure(2, spin);
    results.push({ spin, ...r });
    console.log(`round ${round + 1}, 2 threads, poll ${spin} µs: training ${r.train.toFixed(1)} images/s, evaluation ${r.evaluate.toFixed(1)}`);
  }
  const single = await measure(1, spins[0]);
  gains.push(results.find((r) => r.spin === spins[0])!.train / single.train);
  console.log(`round ${round + 1}, 1 thread, poll ${spins[0]} µs: training ${single.train.toFixed(1)} images/s, evaluation ${single.evaluate.toFixed(1)}`);
  perRound.push(results);
}

const ratio = (spin: number, key: 'train' | 'evaluate'): number[] =>
  perRound.map((results) => results.find((r) => r.spin === spin)![key] / results.find((r) => r.spin === spins[0])![key]);
console.log(`\nagainst polling ${spins[0]} µs, round by round (median):`);
for (const spin of spins.slice(1)) {
  for (const key of ['train', 'evaluate'] as const) {
    const r = ratio(spin, key);
    console.log(`  poll ${spin} µs, ${key === 'train' ? 'training' : 'evaluation'}: ${r.map((v) => `${v.toFixed(2)}×`).join(', ')} (${median(r).toFixed(2)}×)`);
  }
}
console.log(`2-thread training step against the 1-thread one (poll ${spins[0]} µs): ${gains.map((v) => `${v.toFixed(2)}×`).join(', ')} (${median(gains).toFixed(2)}×)`);
