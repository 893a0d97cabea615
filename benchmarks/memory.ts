// Memory of training, measured.
//
// Default: a small ParC-Net (the real blocks, narrow widths) trains on random 16×16 images for
// [steps] steps (10,000), each step in a tidy scope as the trainer's; every 1,000 steps it prints
// the wasm memory, the heap's high-water mark against the bytes live at the step's peak, the bytes
// still live after the step, blocks given back (by scopes and backward, and by the collector's
// safety net), the JS heap after a GC (run with --expose-gc) and RSS. The curve must be flat.
//
// --xs [steps=40]: ParC-Net-XS, CIFAR stem, batch 64, 2 threads, as torch_speed.py runs the
// official model (2 warm-up steps, the timed steps, then as many evaluation forwards), and the
// peak RSS of both processes: ours, and PyTorch's from the anchor (benchmarks/anchor.ts) run
// right after in the same sitting.
//
// Run: node --expose-gc --import tsx benchmarks/memory.ts [steps]
//      PARCNET_OFFICIAL=/tmp/parcnet-official node --expose-gc --import tsx benchmarks/memory.ts --xs [steps]
import { AdamW, crossEntropy } from '@parcnet/nn';
import { memoryStats, models, noGrad, randint, randn, resetWasmHeapPeak, setNumThreads, tidy, wasmHeapStats, wasmMemoryBytes } from 'parcnet';
import { runTorchAnchor } from './anchor.js';

const xs = process.argv.includes('--xs');
const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const steps = Number(positional[0] ?? (xs ? 40 : 10_000));
const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
const gc = (globalThis as { gc?: () => void }).gc;

function build(): { model: models.ParcNet; batch: number; size: number } {
  if (xs) return { model: models.parcnetXS({ numClasses: 10, cifarStem: true }), batch: 64, size: 32 };
  const stage = (c: number, k: number): models.ParcNetScale['stages'][number] => ({ channels: c, spatial: 16, ffn: 32, blocks: 1, metaKernel: k });
  const model = new models.ParcNet(
    { stem: { channels: 8, kernel: 3 }, layer1: 8, layer2: 16, stages: [stage(16, 8), stage(16, 4), stage(16, 2)], fusion: 'add' },
    { numClasses: 10, cifarStem: true },
  );
  return { model, batch: 8, size: 16 };
}

const { model, batch, size } = build();
if (xs) setNumThreads(2);
const optimizer = new AdamW(model.parameters(), { lr: 1e-3, weightDecay: 0.025 });
const x = randn([batch, 3, size, size], { seed: 1 });
const y = randint(0, 10, [batch], { seed: 2 });
const started = performance.now();
let worstRatio = 0;
const warmUp = xs ? 2 : 0;
for (let step = 1; step <= warmUp + steps; step++) {
  resetWasmHeapPeak();
  const loss = tidy(() => {
    optimizer.zeroGrad();
    const l = crossEntropy(model.forward(x), y);
    l.backward();
    optimizer.step();
    return l.item();
  });
  await new Promise((resolve) => setImmediate(resolve));
  const h = wasmHeapStats();
  const ratio = h.heapBytes / h.peakLiveBytes;
  if (step > 1) worstRatio = Math.max(worstRatio, ratio);
  if (step % 1000 === 0 || step === 1 || (xs && (step % 10 === 0 || step === warmUp + steps))) {
    gc?.();
    const m = process.memoryUsage();
    console.log(
      `step ${String(step).padStart(6)}  loss ${loss.toFixed(4)}  wasm ${mb(wasmMemoryBytes())} MB  heap high-water ${mb(h.heapBytes)} MB = ${ratio.toFixed(2)}× the step's live peak ${mb(h.peakLiveBytes)} MB  live after ${mb(h.liveBytes)} MB  ` +
      `blocks ${h.tensorBlocks} given, ${h.tensorBlocksReleased} back by dispose, ${h.tensorBlocksFreed} by the collector  JS heap ${mb(m.heapUsed)} MB  rss ${mb(m.rss)} MB  ${((performance.now() - started) / 1000).toFixed(0)} s`,
    );
  }
}
console.log(`worst heap high-water / live peak after the first step: ${worstRatio.toFixed(2)}× (goal ≤ 1.5×); tensors disposed: ${memoryStats().disposed}`);

if (xs) {
  model.eval();
  for (let i = 0; i < warmUp + steps; i++) noGrad(() => tidy(() => void model.forward(x)));
  const ours = process.resourceUsage().maxRSS / 1024;
  console.log(`parcnet peak RSS over ${warmUp}+${steps} training steps and as many evaluation forwards (2 threads): ${ours.toFixed(0)} MB`);
  const anchor = await runTorchAnchor([2], batch, steps);
  if (anchor) {
    const torch = anchor[0].max_rss_mb;
    console.log(`PyTorch peak RSS, same run: ${torch.toFixed(0)} MB; parcnet / PyTorch = ${(ours / torch).toFixed(2)}× (goal ≤ 1.0×)`);
  }
}
