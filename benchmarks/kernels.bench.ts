// Kernel throughput in GFLOP/s (a multiply-add = 2 FLOPs), float32, measured side by side in one run:
// parcnet's WASM kernels on 1 and 2 threads, parcnet's reference kernels, tfjs-backend-wasm (XNNPACK,
// one thread) and tfjs-backend-cpu. Each timing includes getting the result out as a typed array;
// the inputs are already in each framework's memory.
// Run: npm run bench (or npx tsx benchmarks/kernels.bench.ts)
import b from 'benny';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';
import {
  conv2d, getKernel, matmul, parc, randn, setBackendEnabled, setNumThreads, type Conv2DAttrs, type Tensor,
} from 'parcnet';

/** Runs a tfjs computation, reads its result out and frees every tensor it made (tf.tidy slowed tfjs-wasm 10× here). */
function tfjsRun(make: () => tf.Tensor[]): void {
  const tensors = make();
  tensors[tensors.length - 1].dataSync();
  for (const t of tensors) t.dispose();
}

interface Workload {
  name: string;
  flops: number;
  ours: () => void;
  tfjs: () => () => void;
}

/**
 * Our inputs in wasm memory, as tfjs's live in its backend's memory: an elementwise op's output
 * stays there (packages/wasm/src/heap.ts), so the timings do not include copying inputs in.
 */
const resident = (t: Tensor): Tensor => t.mul(1);

const attrs = (padding: number, groups: number): Conv2DAttrs => ({ stride: [1, 1], padding: [padding, padding], dilation: [1, 1], groups });

function convWorkload(name: string, n: number, c: number, o: number, k: number, size: number, groups: number): Workload {
  const x = resident(randn([n, c, size, size], { seed: 1 }));
  const w = resident(randn([o, c / groups, k, k], { seed: 2 }));
  return {
    name,
    flops: 2 * n * o * (c / groups) * k * k * size * size,
    ours: () => void conv2d(x, w, { padding: (k - 1) / 2, groups }).toTypedArray(),
    tfjs: () => {
      // tfjs is NHWC; depthwise filters are [k, k, C, 1], dense ones [k, k, C, O].
      const xt = tf.randomNormal([n, size, size, c]);
      if (groups === c) {
        const wt = tf.randomNormal([k, k, c, 1]);
        return () => tfjsRun(() => [tf.depthwiseConv2d(xt as tf.Tensor4D, wt as tf.Tensor4D, 1, 'same')]);
      }
      const wt = tf.randomNormal([k, k, c, o]);
      return () => tfjsRun(() => [tf.conv2d(xt as tf.Tensor4D, wt as tf.Tensor4D, 1, 'same')]);
    },
  };
}

function parcWorkload(name: string, n: number, c: number, size: number): Workload {
  const x = resident(randn([n, c, size, size], { seed: 3 }));
  const meta = resident(randn([c, 1, size, 1], { seed: 4 }));
  return {
    name,
    flops: 2 * n * c * size * size * size,
    ours: () => void parc.parcConv(x, meta, { axis: 'H' }).toTypedArray(),
    tfjs: () => {
      // tfjs has no circular padding: emulate the wrap by concatenating the first n − 1 rows, then a valid depthwise conv.
      const xt = tf.randomNormal([n, size, size, c]) as tf.Tensor4D;
      const wt = tf.randomNormal([size, 1, c, 1]) as tf.Tensor4D;
      return () => tfjsRun(() => {
        const head = tf.slice(xt, [0, 0, 0, 0], [n, size - 1, size, c]);
        const wrapped = tf.concat([xt, head], 1) as tf.Tensor4D;
        return [head, wrapped, tf.depthwiseConv2d(wrapped, wt, 1, 'valid')];
      });
    },
  };
}

const a512 = resident(randn([512, 512], { seed: 5 }));
const b512 = resident(randn([512, 512], { seed: 6 }));
const workloads: Workload[] = [
  {
    name: 'matmul 512³', flops: 2 * 512 ** 3,
    ours: () => void matmul(a512, b512).toTypedArray(),
    tfjs: () => {
      const x = tf.randomNormal([512, 512]) as tf.Tensor2D;
      const y = tf.randomNormal([512, 512]) as tf.Tensor2D;
      return () => tfjsRun(() => [tf.matMul(x, y)]);
    },
  },
  convWorkload('conv2d 3×3, 64→64, batch 8, 32×32', 8, 64, 64, 3, 32, 1),
  convWorkload('depthwise 3×3, 128 ch, batch 8, 32×32', 8, 128, 128, 3, 32, 128),
  parcWorkload('ParC 16-tap, 128 ch, batch 8, 16×16', 8, 128, 16),
  parcWorkload('ParC 32-tap, 128 ch, batch 8, 32×32', 8, 128, 32),
];

// Backward kernels: ours against tfjs-backend-cpu (tfjs-backend-wasm has no Conv2DBackpropFilter).
function backwardWorkloads(): Workload[] {
  const x = resident(randn([8, 64, 32, 32], { seed: 7 }));
  const w = resident(randn([64, 64, 3, 3], { seed: 8 }));
  const g = resident(randn([8, 64, 32, 32], { seed: 9 }));
  const flops = 2 * 8 * 64 * 64 * 9 * 1024;
  const input = getKernel('Conv2DBackpropInput', 'wasm')!;
  const filter = getKernel('Conv2DBackpropFilter', 'wasm')!;
  // tfjs tensors are made when the case runs, after its backend is set.
  const tfjsInputs = (): [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D] =>
    [tf.randomNormal([8, 32, 32, 64]) as tf.Tensor4D, tf.randomNormal([3, 3, 64, 64]) as tf.Tensor4D, tf.randomNormal([8, 32, 32, 64]) as tf.Tensor4D];
  return [
    {
      name: 'conv2d backprop input 3×3, 64→64', flops, ours: () => void input(g, w, x.shape, attrs(1, 1)).toTypedArray(),
      tfjs: () => {
        const [, wt, gt] = tfjsInputs();
        return () => tfjsRun(() => [tf.conv2dTranspose(gt, wt, [8, 32, 32, 64], 1, 'same')]);
      },
    },
    {
      name: 'conv2d backprop filter 3×3, 64→64', flops, ours: () => void filter(x, g, w.shape, attrs(1, 1)).toTypedArray(),
      tfjs: () => {
        const [xt, , gt] = tfjsInputs();
        const attrs = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dilations: [1, 1], filterShape: [3, 3, 64, 64] };
        return () => tfjsRun(() => [tf.engine().runKernel('Conv2DBackpropFilter', { x: xt, dy: gt }, attrs) as tf.Tensor]);
      },
    },
  ];
}

type Row = Record<string, number>;
const results = new Map<string, Row>();

async function run(label: string, cases: [string, () => void, number][]): Promise<void> {
  await b.suite(
    label,
    ...cases.map(([name, fn]) => b.add(name, fn, { minSamples: 5, maxTime: 1.5 })),
    b.cycle((result) => {
      const [name, , flops] = cases.find(([n]) => n === result.name)!;
      const [workload, variant] = name.split(' | ');
      const row = results.get(workload) ?? {};
      row[variant] = (result.ops * flops) / 1e9;
      results.set(workload, row);
    }),
  );
}

async function main(): Promise<void> {
  const all = [...workloads, ...backwardWorkloads()];
  for (const threads of [1, 2]) {
    setNumThreads(threads);
    await run(`parcnet wasm, ${threads} thread(s)`, all.map((w) => [`${w.name} | wasm ${threads}t`, w.ours, w.flops]));
  }
  setBackendEnabled('wasm', false);
  await run('parcnet reference', workloads.slice(0, 3).map((w) => [`${w.name} | reference`, w.ours, w.flops]));
  setBackendEnabled('wasm', true);
  for (const backend of ['wasm', 'cpu'] as const) {
    await tf.setBackend(backend);
    await tf.ready();
    const cases = (backend === 'wasm' ? workloads : all).map((w) => [`${w.name} | tfjs-${backend}`, w.tfjs(), w.flops] as [string, () => void, number]);
    await run(`tfjs-backend-${backend}`, cases);
  }
  const columns = ['wasm 1t', 'wasm 2t', 'reference', 'tfjs-wasm', 'tfjs-cpu'];
  console.log(`\n| workload (GFLOP/s) | ${columns.join(' | ')} | 1t / tfjs-wasm | 2t / 1t |`);
  console.log(`|---|${columns.map(() => '---:').join('|')}|---:|---:|`);
  for (const [workload, row] of results) {
    const cell = (k: string): string => (row[k] === undefined ? '—' : row[k].toFixed(2));
    const ratio = row['tfjs-wasm'] ? (row['wasm 1t'] / row['tfjs-wasm']).toFixed(2) + '×' : '—';
    console.log(`| ${workload} | ${columns.map(cell).join(' | ')} | ${ratio} | ${(row['wasm 2t'] / row['wasm 1t']).toFixed(2)}× |`);
  }
}

await main();
