// Compiles assembly/index.ts into build/kernels.wasm with the pinned AssemblyScript compiler.
// Runs from the root package's `prepare` script, so a fresh clone has it after `npm ci`.
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import asc from 'assemblyscript/asc';

const here = dirname(fileURLToPath(import.meta.url));
mkdirSync(join(here, 'build'), { recursive: true });
const { error, stderr } = await asc.main([
  join(here, 'assembly/index.ts'),
  '--outFile', join(here, 'build/kernels.wasm'),
  '-O3', '--noAssert', '--runtime', 'stub',
  '--enable', 'simd', '--enable', 'threads',
  '--importMemory', '--sharedMemory', '--initialMemory', '32', '--maximumMemory', '65536',
]);
if (error) {
  console.error(stderr.toString());
  console.error(`@parcnet/wasm: build failed: ${error.message}`);
  process.exit(1);
}
console.log('@parcnet/wasm: built build/kernels.wasm');
