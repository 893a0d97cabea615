import '@parcnet/wasm';
// Where the time goes: wraps every kernel with a timer for one ParC-Net-XS training step, or with
// `eval` as the second argument for one evaluation forward.
// Run: npx tsx benchmarks/kernel-time.ts [batch] [train|eval]
import { crossEntropy, AdamW } from '@parcnet/nn';
import { getKernel, listKernels, models, noGrad, randint, randn, registerKernel, Tensor, type KernelName } from 'parcnet';

const time = new Map<string, { ms: number; calls: number }>();
for (const name of Object.keys(listKernels()) as KernelName[]) {
  const reference = (getKernel(name, 'wasm') ?? getKernel(name, 'reference')) as unknown as (...a: unknown[]) => unknown;
  registerKernel({
    name, backend: 'timer', priority: 100,
    guard: (getKernel(name, 'wasm') ? (...args: unknown[]) => args.every((a) => !(a instanceof Tensor) || a.dtype === 'float32') : undefined) as never,
    fn: ((...args: unknown[]) => {
      const t = performance.now();
      const out = reference(...args);
      const e = time.get(name) ?? { ms: 0, calls: 0 };
      e.ms += performance.now() - t;
      e.calls++;
      time.set(name, e);
      return out;
    }) as never,
  });
}
const batch = Number(process.argv[2] ?? 16);
const model = models.parcnetXS({ numClasses: 10, cifarStem: true });
const opt = new AdamW(model.parameters());
const x = randn([batch, 3, 32, 32], { seed: 1 });
const y = randint(0, 10, [batch], { seed: 2 });
const evaluate = process.argv[3] === 'eval';
if (evaluate) model.eval();
model.forward(x); // warm-up: compilation and worker start-up
time.clear();
const t0 = performance.now();
if (evaluate) {
  noGrad(() => model.forward(x));
} else {
  opt.zeroGrad();
  crossEntropy(model.forward(x), y).backward();
  opt.step();
}
const total = performance.now() - t0;
const kernelTotal = [...time.values()].reduce((a, b) => a + b.ms, 0);
console.log(`step ${total.toFixed(0)} ms, in kernels ${kernelTotal.toFixed(0)} ms`);
for (const [name, e] of [...time].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25)) console.log(name.padEnd(28), e.ms.toFixed(0).padStart(7), 'ms', String(e.calls).padStart(6), 'calls');
