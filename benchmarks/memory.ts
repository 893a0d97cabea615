// Memory over many training steps: the wasm memory must stop growing and the JS heap must stay flat.
// A small ParC-Net (the real blocks, narrow widths) trains on random 16×16 images, yielding to the
// event loop between steps as the trainer does (that is when the storage of collected tensors goes
// back to the wasm heap); every 1,000 steps it prints the wasm memory size, the tensor storage held
// in it, the JS heap in use (after a GC when run with --expose-gc) and RSS.
// Run: node --expose-gc --import tsx benchmarks/memory.ts [steps]
import { AdamW, crossEntropy } from '@parcnet/nn';
import { models, randint, randn } from 'parcnet';
import { wasmHeapStats, wasmMemoryBytes } from '@parcnet/wasm';

const steps = Number(process.argv[2] ?? 10_000);
const stage = (c: number, k: number) => ({ channels: c, spatial: 16, ffn: 32, blocks: 1, metaKernel: k });
const model = new models.ParcNet(
  { stem: { channels: 8, kernel: 3 }, layer1: 8, layer2: 16, stages: [stage(16, 8), stage(16, 4), stage(16, 2)], fusion: 'add' },
  { numClasses: 10, cifarStem: true },
);
const optimizer = new AdamW(model.parameters(), { lr: 1e-3 });
const x = randn([8, 3, 16, 16], { seed: 1 });
const y = randint(0, 10, [8], { seed: 2 });
const mb = (bytes: number): string => (bytes / 2 ** 20).toFixed(1);
const started = performance.now();
for (let step = 1; step <= steps; step++) {
  optimizer.zeroGrad();
  const loss = crossEntropy(model.forward(x), y);
  loss.backward();
  optimizer.step();
  await new Promise((resolve) => setImmediate(resolve));
  if (step % 1000 === 0 || step === 1) {
    (globalThis as { gc?: () => void }).gc?.();
    const m = process.memoryUsage();
    const h = wasmHeapStats();
    console.log(`step ${String(step).padStart(6)}  loss ${loss.item().toFixed(4)}  wasm ${mb(wasmMemoryBytes())} MB (tensors ${mb(h.tensorBytes)} MB; blocks ${h.tensorBlocks} given, ${h.tensorBlocksFreed} back, ${h.copiedOut} outputs copied out)  heap ${mb(m.heapUsed)} MB  rss ${mb(m.rss)} MB  ${((performance.now() - started) / 1000).toFixed(0)} s`);
  }
}
