// Compiles assembly/index.ts with the pinned AssemblyScript compiler, four times: build/kernels.wasm
// imports a shared memory (worker threads in Node, Web Workers in a cross-origin isolated page) and
// build/kernels-single.wasm an ordinary one (a page that is not isolated has no shared memory, so it
// runs on one thread); each also as `-relaxed`, with relaxed SIMD's fused multiply-add in the GEMM,
// loaded where the engine validates it (platform.ts). Runs from the root package's `prepare` script,
// so a fresh clone has all four after `npm ci`.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const here = dirname(fileURLToPath(import.meta.url));
mkdirSync(join(here, 'build'), { recursive: true });
const common = ['-O3', '--noAssert', '--runtime', 'stub', '--enable', 'simd', '--importMemory', '--initialMemory', '32', '--maximumMemory', '65536'];
const outputs = {
  'kernels.wasm': ['--enable', 'threads', '--sharedMemory'],
  'kernels-relaxed.wasm': ['--enable', 'threads', '--sharedMemory', '--enable', 'relaxed-simd'],
  'kernels-single.wasm': [],
  'kernels-single-relaxed.wasm': ['--enable', 'relaxed-simd'],
};
for (const [file, flags] of Object.entries(outputs)) {
  const { error, stderr } = await asc.main([join(here, 'assembly/index.ts'), '--outFile', join(here, 'build', file), ...common, ...flags]);
  if (error) {
    console.error(stderr.toString());
    console.error(`@parcnet/wasm: build of build/${file} failed: ${error.message}`);
    process.exit(1);
  }
  console.log(`@parcnet/wasm: built build/${file}`);
}
