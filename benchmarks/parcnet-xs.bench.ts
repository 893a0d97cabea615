// ParC-Net-XS with the CIFAR stem, batch 64, 32×32, float32: training and evaluation images per
// second with the WASM kernels on 1 and 2 threads and with the reference kernels alone, in one run.
// The bar (docs/performance.md): PyTorch 1.13 CPU trains at 27–31 and evaluates at 530–740 images/s;
// onnxruntime-node evaluates the same model (exported by io.serializeOnnx) in this run, on 2 threads.
// Run: npx tsx benchmarks/parcnet-xs.bench.ts [rounds]
import ort from 'onnxruntime-node';
import { AdamW, crossEntropy } from '@parcnet/nn';
import { io, models, noGrad, randint, randn, setBackendEnabled, setNumThreads } from 'parcnet';

const batch = 64;
const rounds = Number(process.argv[2] ?? 3);
const model = models.parcnetXS({ numClasses: 10, cifarStem: true });
const optimizer = new AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0.025 });
const x = randn([batch, 3, 32, 32], { seed: 1 });
const y = randint(0, 10, [batch], { seed: 2 });

function median(times: number[]): number {
  return [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

/** Steps and forwards yield to the event loop in between, as the trainer does (that is when collected tensors give their wasm memory back). */
async function measure(label: string, steps: number): Promise<{ train: number; eval: number }> {
  const trainTimes: number[] = [];
  const evalTimes: number[] = [];
  model.train();
  for (let r = 0; r < steps; r++) {
    const t = performance.now();
    optimizer.zeroGrad();
    crossEntropy(model.forward(x), y).backward();
    optimizer.step();
    trainTimes.push((performance.now() - t) / 1000);
    await new Promise((resolve) => setImmediate(resolve));
  }
  model.eval();
  for (let r = 0; r < steps; r++) {
    const t = performance.now();
    noGrad(() => model.forward(x));
    evalTimes.push((performance.now() - t) / 1000);
    await new Promise((resolve) => setImmediate(resolve));
  }
  const result = { train: batch / median(trainTimes), eval: batch / median(evalTimes) };
  console.log(`${label.padEnd(22)} train ${result.train.toFixed(1).padStart(6)} images/s   eval ${result.eval.toFixed(1).padStart(7)} images/s`);
  return result;
}

// One warm-up step so that compilation and the worker start-up are not measured.
setNumThreads(2);
await measure('warm-up (2 threads)', 1);
setNumThreads(1);
const one = await measure('wasm, 1 thread', rounds);
setNumThreads(2);
const two = await measure('wasm, 2 threads', rounds);
setBackendEnabled('wasm', false);
const reference = await measure('reference only', 1);
setBackendEnabled('wasm', true);
console.log(`2-thread speed-up: train ${(two.train / one.train).toFixed(2)}×, eval ${(two.eval / one.eval).toFixed(2)}×`);
console.log(`against the reference kernels: train ${(two.train / reference.train).toFixed(1)}×, eval ${(two.eval / reference.eval).toFixed(1)}×`);

// onnxruntime-node (native, 2 intra-op threads) on our ONNX export of the same model and batch.
const { bytes } = io.serializeOnnx(model, x);
const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 2, interOpNumThreads: 1 });
const feeds = { input: new ort.Tensor('float32', Float32Array.from(x.toTypedArray()), [batch, 3, 32, 32]) };
await session.run(feeds);
const ortTimes: number[] = [];
for (let r = 0; r < Math.max(rounds, 5); r++) {
  const t = performance.now();
  await session.run(feeds);
  ortTimes.push((performance.now() - t) / 1000);
}
const ortEval = batch / median(ortTimes);
console.log(`${'onnxruntime-node'.padEnd(22)} ${' '.repeat(22)} eval ${ortEval.toFixed(1).padStart(7)} images/s`);
console.log(`evaluation against onnxruntime-node: ${(two.eval / ortEval).toFixed(2)}× its speed (goal: ≥ 0.5×)`);
