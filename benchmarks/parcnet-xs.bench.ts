// ParC-Net-XS with the CIFAR stem, batch 64, float32: training and evaluation images per second,
// reported beside the bar (PyTorch 1.13 CPU: train 27–31, eval 530–740; onnxruntime-node eval 800–1,070).
// Run: npx tsx benchmarks/parcnet-xs.bench.ts [rounds]
import { crossEntropy, AdamW } from '@parcnet/nn';
import { models, noGrad, randint, randn } from 'parcnet';

const batch = 64;
const rounds = Number(process.argv[2] ?? 3);
const model = models.parcnetXS({ numClasses: 10, cifarStem: true });
const optimizer = new AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0.025 });
const x = randn([batch, 3, 32, 32], { seed: 1 });
const y = randint(0, 10, [batch], { seed: 2 });

function timeIt(fn: () => void): number {
  const t = performance.now();
  fn();
  return (performance.now() - t) / 1000;
}

model.train();
const trainTimes: number[] = [];
for (let r = 0; r < rounds; r++) {
  trainTimes.push(timeIt(() => {
    optimizer.zeroGrad();
    crossEntropy(model.forward(x), y).backward();
    optimizer.step();
  }));
}
model.eval();
const evalTimes: number[] = [];
for (let r = 0; r < rounds; r++) evalTimes.push(timeIt(() => noGrad(() => model.forward(x))));
const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
console.log(`train: ${(batch / median(trainTimes)).toFixed(1)} images/s (median of ${rounds} steps, ${trainTimes.map((t) => t.toFixed(2)).join(', ')} s)`);
console.log(`eval:  ${(batch / median(evalTimes)).toFixed(1)} images/s (median of ${rounds}, ${evalTimes.map((t) => t.toFixed(2)).join(', ')} s)`);
