import '@parcnet/wasm';
// Where the time goes: wraps every kernel with a timer for one ParC-Net-XS training step, or with
// `eval` as the second argument for one evaluation forward.
// Run: npx tsx benchmarks/kernel-time.ts [batch] [train|eval]
import { crossEntropy, AdamW } from '@parcnet/nn';
import { listKernels, models, noGrad, randint, randn, registerKernel, runKernel, setBackendEnabled, type Conv2DAttrs, type KernelName, type Tensor } from 'parcnet';

// The timer sits above every backend and dispatches again with itself switched off, so each call
// runs exactly the kernel (and guard) it would run untimed; kernels nested inside one count once.
const time = new Map<string, { ms: number; calls: number }>();
for (const name of Object.keys(listKernels()) as KernelName[]) {
  registerKernel({
    name, backend: 'timer', priority: 100,
    fn: ((...args: unknown[]) => {
      const t = performance.now();
      setBackendEnabled('timer', false);
      try {
        return (runKernel as (n: KernelName, ...a: unknown[]) => unknown)(name, ...args);
      } finally {
        setBackendEnabled('timer', true);
        const key = name.startsWith('Conv2D') ? `${name} ${convKind(name, args)}` : name;
        const e = time.get(key) ?? { ms: 0, calls: 0 };
        e.ms += performance.now() - t;
        e.calls++;
        time.set(key, e);
      }
    }) as never,
  });
}
/** Conv calls split by kind, with the weight shape: which convs the time goes to. */
function convKind(name: KernelName, args: unknown[]): string {
  const attrs = args[args.length - 1] as Conv2DAttrs;
  const w = name === 'Conv2DBackpropFilter' ? args[2] as number[] : (args[1] as Tensor).shape;
  const [, cg, kh, kw] = w;
  const kind = attrs.groups > 1 && cg === 1 ? 'depthwise' : kh === 1 && kw === 1 ? 'pointwise' : 'dense';
  return `${kind} ${kh}×${kw}/${attrs.stride[0]}`;
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
