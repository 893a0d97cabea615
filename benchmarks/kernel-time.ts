import '@parcnet/wasm';
// Where the time goes: wraps every kernel with a timer for one ParC-Net-XS training step, or with
// `eval` as the second argument for one evaluation forward; per step, averaged over [steps] after
// one warm-up step, on [threads] WASM threads.
// Run: npx tsx benchmarks/kernel-time.ts [batch=16] [train|eval] [steps=1] [threads=all]
import { listKernels, registerKernel, runKernel, setBackendEnabled, setNumThreads, type Conv2DAttrs, type KernelName, type Tensor } from 'parcnet';
import { xsWorkload } from './xs-workload.js';

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
/** Conv calls split by kind and shape (kernel/stride, input → output channels, input map): which convs the time goes to. */
function convKind(name: KernelName, args: unknown[]): string {
  const attrs = args[args.length - 1] as Conv2DAttrs;
  const w = name === 'Conv2DBackpropFilter' ? args[2] as number[] : (args[1] as Tensor).shape;
  const input = name === 'Conv2DBackpropInput' ? args[2] as number[] : (args[0] as Tensor).shape;
  const [o, cg, kh, kw] = w;
  const kind = attrs.groups > 1 && cg === 1 ? 'depthwise' : kh === 1 && kw === 1 ? 'pointwise' : 'dense';
  return `${kind} ${kh}×${kw}/${attrs.stride[0]} ${input[1]}→${o} @${input[2]}`;
}
const batch = Number(process.argv[2] ?? 16);
const evaluate = process.argv[3] === 'eval';
const steps = Number(process.argv[4] ?? 1);
if (process.argv[5] !== undefined) setNumThreads(Number(process.argv[5]));
const { model, trainStep, evalForward } = xsWorkload(batch);
if (evaluate) model.eval();
const step = evaluate ? evalForward : trainStep;
step(); // warm-up: compilation, worker start-up, heap blocks
time.clear();
const t0 = performance.now();
for (let i = 0; i < steps; i++) step();
const total = (performance.now() - t0) / steps;
const kernelTotal = [...time.values()].reduce((a, b) => a + b.ms, 0) / steps;
console.log(`step ${total.toFixed(0)} ms, in kernels ${kernelTotal.toFixed(0)} ms (per step, ${steps} steps)`);
for (const [name, e] of [...time].sort((a, b) => b[1].ms - a[1].ms).slice(0, Number(process.env.TOP ?? 30))) {
  console.log(name.padEnd(34), (e.ms / steps).toFixed(1).padStart(8), 'ms', String(e.calls / steps).padStart(6), 'calls');
}
