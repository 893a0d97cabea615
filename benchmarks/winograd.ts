// Dense 3×3 convs with stride 1 at ParC-Net-XS's fusion-conv shapes (batch 64, CIFAR stem: 96 channels
// at 8×8, 128 at 4×4, 160 at 2×2): im2col + GEMM against Winograd F(2×2, 3×3), forward and both
// backward passes, best of 7 each, alternating in one run, and the largest difference between the
// two relative to the largest output.
// Then whole ParC-Net-XS steps with Winograd on and off, alternating (below).
// Run: npx tsx --conditions parcnet-source benchmarks/winograd.ts [threads=1] [pairs=8]
import { setWinograd } from '@parcnet/wasm';
import { getKernel, randn, setNumThreads, tidy, type Tensor } from 'parcnet';
import { xsWorkload } from './xs-workload.js';
setNumThreads(Number(process.argv[2] ?? 1));
const run = (name: string) => getKernel(name as never, 'wasm') as unknown as (...a: unknown[]) => Tensor;
const attrs = { stride: [1, 1], padding: [1, 1], dilation: [1, 1], groups: 1 };
for (const [c, hw] of [[96, 8], [128, 4], [160, 2]]) {
  const x = randn([64, c, hw, hw], { seed: 1 }); const w = randn([c, c, 3, 3], { seed: 2 }); const g = randn([64, c, hw, hw], { seed: 3 });
  const res: string[] = [];
  for (const [label, fn] of [
    ['fwd', () => run('Conv2D')(x, w, attrs)], ['dx', () => run('Conv2DBackpropInput')(g, w, x.shape, attrs)], ['dw', () => run('Conv2DBackpropFilter')(x, g, w.shape, attrs)],
  ] as const) {
    const outs: Float32Array[] = []; const times: number[] = [];
    for (const on of [false, true]) {
      setWinograd(on);
      outs.push(tidy(() => fn().toTypedArray() as Float32Array));
      let best = Infinity;
      for (let r = 0; r < 7; r++) { const t = performance.now(); tidy(() => { fn(); }); best = Math.min(best, performance.now() - t); }
      times.push(best);
    }
    let worst = 0, scale = 0;
    for (let i = 0; i < outs[0].length; i++) { worst = Math.max(worst, Math.abs(outs[0][i] - outs[1][i])); scale = Math.max(scale, Math.abs(outs[0][i])); }
    res.push(`${label} im2col ${times[0].toFixed(1)} ms, winograd ${times[1].toFixed(1)} ms (${(times[0] / times[1]).toFixed(2)}×), rel diff ${(worst / scale).toExponential(1)}`);
  }
  console.log(`${c}@${hw}:`, res.join(' | '));
}

// Whole training and evaluation steps of ParC-Net-XS (batch 64), Winograd on and off alternating step
// by step in this one process, so the machine's drift hits both alike: the median of the paired
// ratios (im2col time / Winograd time) is what the algorithm moved.
const { model, trainStep, evalForward } = xsWorkload(64);
const pairs = Number(process.argv[3] ?? 8);
for (const mode of ['train', 'eval'] as const) {
  const ratios: number[] = [];
  const times: [number[], number[]] = [[], []];
  if (mode === 'eval') model.eval();
  for (let pair = -1; pair < pairs; pair++) {
    const t: number[] = [];
    for (const on of [false, true]) {
      setWinograd(on);
      const start = performance.now();
      if (mode === 'eval') evalForward();
      else trainStep();
      t.push(performance.now() - start);
    }
    // Pair −1 warms both paths up.
    if (pair < 0) continue;
    times[0].push(t[0]);
    times[1].push(t[1]);
    ratios.push(t[0] / t[1]);
  }
  const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
  console.log(`${mode} step: im2col ${median(times[0]).toFixed(0)} ms, Winograd ${median(times[1]).toFixed(0)} ms (medians of ${pairs}); paired ratio median ${median(ratios).toFixed(3)}×, range ${Math.min(...ratios).toFixed(3)}–${Math.max(...ratios).toFixed(3)}`);
}
