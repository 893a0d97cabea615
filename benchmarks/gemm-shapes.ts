// GEMM and 1×1-conv throughput on the shapes ParC-Net-XS (CIFAR stem, batch 64) runs, best of a few
// timings each, in GFLOP/s: a quick check while tuning gemm.ts (the benny suite is kernels.bench.ts).
// Run: npx tsx benchmarks/gemm-shapes.ts [threads]
import { matmul, conv2d, randn, startThreads } from 'parcnet';
const threads = Number(process.argv[2] ?? 1);
// The helpers up before the first timing (they would otherwise start with the first split job).
await startThreads(threads);
function best(fn: () => unknown, reps = 9): number {
  let b = Infinity;
  for (let i = 0; i < reps; i++) { const t = performance.now(); fn(); b = Math.min(b, performance.now() - t); }
  return b;
}
const a = randn([512, 512]); const b = randn([512, 512]);
const t = best(() => matmul(a, b));
console.log(`matmul 512³ ${(2 * 512 ** 3 / t / 1e6).toFixed(1)} GFLOP/s`);
for (const [c, o, hw] of [[64, 128, 32], [128, 64, 32], [96, 192, 16], [192, 96, 16], [256, 128, 8], [384, 256, 4]]) {
  const x = randn([64, c, hw, hw]); const w = randn([o, c, 1, 1]);
  const tc = best(() => conv2d(x, w, {}), 5);
  console.log(`pointwise ${c}→${o} ${hw}×${hw} b64 ${(2 * 64 * c * o * hw * hw / tc / 1e6).toFixed(1)} GFLOP/s`);
}
for (const [m, k, n] of [[128, 64, 1024], [64, 128, 1024], [128, 64, 65536], [512, 512, 512], [256, 256, 256], [128, 128, 128]]) {
  const a2 = randn([m, k]); const b2 = randn([k, n]);
  const tm = best(() => matmul(a2, b2), 7);
  console.log(`matmul ${m}×${k}×${n} ${(2 * m * n * k / tm / 1e6).toFixed(1)} GFLOP/s`);
}
