// Baseline: GFLOP/s of the reference (plain TypeScript) matmul and conv2d kernels, float32.
// These are the numbers the WASM kernels must beat. Run: npm run bench
import b from 'benny';
import { conv2d, matmul, randn } from 'parcnet';

const cases = [
  { name: 'matmul 256³', flops: 2 * 256 ** 3, run: prepareMatmul(256) },
  { name: 'matmul 512³', flops: 2 * 512 ** 3, run: prepareMatmul(512) },
  // 2 · N · O · Ho · Wo · C · kH · kW
  { name: 'conv2d 3×3, 64→64, batch 8, 32×32', flops: 2 * 8 * 64 * 32 * 32 * 64 * 9, run: prepareConv() },
];

function prepareMatmul(n: number): () => void {
  const x = randn([n, n], { seed: 1 });
  const y = randn([n, n], { seed: 2 });
  return () => void matmul(x, y);
}

function prepareConv(): () => void {
  const x = randn([8, 64, 32, 32], { seed: 3 });
  const w = randn([64, 64, 3, 3], { seed: 4 });
  return () => void conv2d(x, w, { padding: 1 });
}

const gflops = new Map<string, number>();

await b.suite(
  'reference kernels (float32, one thread)',
  ...cases.map((c) => b.add(c.name, c.run)),
  b.cycle((result) => {
    const c = cases.find((k) => k.name === result.name)!;
    gflops.set(c.name, (result.ops * c.flops) / 1e9);
  }),
  b.complete(() => {
    console.log('\n| workload | GFLOP/s |\n|---|---:|');
    for (const [name, value] of gflops) console.log(`| ${name} | ${value.toFixed(2)} |`);
  }),
);
