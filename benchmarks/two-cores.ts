// How much a second core can add on this machine, with no sharing at all between the two: ParC-Net-XS
// training steps (CIFAR stem, batch 64, 32×32, AdamW, kernels on 1 thread) in one process alone,
// then in two independent processes at once, alternating, so each round compares the two in the
// same few seconds. The pair's combined images/s over the single process's is the ceiling for any
// way of using two threads in one step (split kernels, data-parallel replicas): the two processes
// share only the machine (memory bandwidth, caches, the hypervisor's scheduling of the two virtual
// cores). Compare it with the 2-thread step's gain over the 1-thread step (parcnet-xs.bench.ts).
// Run: npx tsx --conditions parcnet-source benchmarks/two-cores.ts [rounds=3] [steps=6]
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setNumThreads } from 'parcnet';
import { xsWorkload } from './xs-workload.js';

const CHILD = '--child';
const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const rounds = Number(positional[0] ?? 3);
const steps = Number(positional[1] ?? 6);
if (!Number.isInteger(rounds) || rounds < 1 || !Number.isInteger(steps) || steps < 1) {
  throw new RangeError(`two-cores: expected [rounds ≥ 1] [steps ≥ 1], got ${positional.join(' ')}`);
}

/** The child: one warm-up step, then `steps` timed ones; prints its images/s. */
function child(): void {
  setNumThreads(1);
  const batch = 64;
  const { model, trainStep } = xsWorkload(batch);
  model.train();
  trainStep();
  const start = performance.now();
  for (let i = 0; i < steps; i++) trainStep();
  console.log(JSON.stringify({ imagesPerSecond: (batch * steps * 1000) / (performance.now() - start) }));
}

/** Runs `count` children at once (same Node flags as this process, so the same loader and conditions); their images/s. */
function runChildren(count: number): Promise<number[]> {
  const script = fileURLToPath(import.meta.url);
  return Promise.all(Array.from({ length: count }, () => new Promise<number>((resolve, reject) => {
    const proc = spawn(process.execPath, [...process.execArgv, script, CHILD, String(rounds), String(steps)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    proc.on('error', reject);
    proc.on('exit', (code) => {
      if (code !== 0) return reject(new Error(`two-cores: a child process exited with code ${code}`));
      try {
        resolve((JSON.parse(out.trim().split('\n').pop()!) as { imagesPerSecond: number }).imagesPerSecond);
      } catch {
        reject(new Error(`two-cores: a child process printed no result: ${out}`));
      }
    });
  })));
}

if (process.argv.includes(CHILD)) {
  child();
} else {
  const gains: number[] = [];
  for (let round = 1; round <= rounds; round++) {
    const [alone] = await runChildren(1);
    const pair = await runChildren(2);
    const together = pair[0] + pair[1];
    gains.push(together / alone);
    console.log(`round ${round}: one process ${alone.toFixed(1)} images/s; two at once ${pair.map((v) => v.toFixed(1)).join(' + ')} = ${together.toFixed(1)} (${(together / alone).toFixed(2)}×)`);
  }
  const sorted = [...gains].sort((a, b) => a - b);
  console.log(`two independent 1-thread training processes against one: ${gains.map((g) => `${g.toFixed(2)}×`).join(', ')} (median ${sorted[Math.floor(sorted.length / 2)].toFixed(2)}×)`);
}
