// What data-parallel replicas could give at most on this machine, against splitting kernels across
// threads (issue 21): in one process, ParC-Net-XS training steps (CIFAR stem, AdamW) at batch 64 on
// 1 and on 2 kernel threads, then two worker threads each running a full training step on 32
// images with its kernels on 1 thread, at once. The replicas exchange nothing (no gradient sum, no
// batch-norm statistics, no parameter copy), so their figure is an upper bound for replicas.
// Plain JavaScript on the built packages: tsx's loader does not reach worker threads.
// Run: npm run build && node benchmarks/replicas-probe.mjs [rounds=3] [steps=4]
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { AdamW, crossEntropy } from '@parcnet/nn';
import { models, randint, randn, setNumThreads, tidy } from 'parcnet';

/** A training step at `batch` images, random data, as the trainer runs it (in a tidy scope). */
function makeStep(batch) {
  const model = models.parcnetXS({ numClasses: 10, cifarStem: true });
  const optimizer = new AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0.025 });
  const x = randn([batch, 3, 32, 32], { seed: 1 });
  const y = randint(0, 10, [batch], { seed: 2 });
  model.train();
  return () => tidy(() => {
    optimizer.zeroGrad();
    crossEntropy(model.forward(x), y).backward();
    optimizer.step();
  });
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

if (!isMainThread) {
  setNumThreads(1);
  const step = makeStep(workerData.batch);
  step();
  parentPort.on('message', (steps) => {
    for (let i = 0; i < steps; i++) step();
    parentPort.postMessage('done');
  });
  parentPort.postMessage('ready');
} else {
  const rounds = Number(process.argv[2] ?? 3);
  const steps = Number(process.argv[3] ?? 4);
  if (!Number.isInteger(rounds) || rounds < 1 || !Number.isInteger(steps) || steps < 1) {
    throw new RangeError(`replicas-probe: expected [rounds ≥ 1] [steps ≥ 1], got ${process.argv.slice(2).join(' ')}`);
  }
  const step = makeStep(64);
  const replicas = [0, 1].map(() => new Worker(new URL(import.meta.url), { workerData: { batch: 32 } }));
  await Promise.all(replicas.map((w) => new Promise((resolve) => w.once('message', resolve))));
  const gains = [];
  for (let round = 1; round <= rounds; round++) {
    const speed = {};
    for (const threads of [1, 2]) {
      setNumThreads(threads);
      step();
      const times = [];
      for (let i = 0; i < steps; i++) {
        const t = performance.now();
        step();
        times.push(performance.now() - t);
      }
      speed[threads] = 64_000 / median(times);
    }
    const start = performance.now();
    await Promise.all(replicas.map((w) => new Promise((resolve) => { w.once('message', resolve); w.postMessage(steps); })));
    const pair = (64_000 * steps) / (performance.now() - start);
    gains.push(pair / speed[2]);
    console.log(`round ${round}: batch 64 on 1 thread ${speed[1].toFixed(1)} images/s, on 2 threads ${speed[2].toFixed(1)}; two replicas of 32 on 1 thread each ${pair.toFixed(1)} (${(pair / speed[1]).toFixed(2)}× the 1-thread step, ${(pair / speed[2]).toFixed(2)}× the 2-thread one)`);
  }
  console.log(`replicas against split kernels, round by round: ${gains.map((g) => `${g.toFixed(2)}×`).join(', ')} (median ${median(gains).toFixed(2)}×)`);
  await Promise.all(replicas.map((w) => w.terminate()));
}
