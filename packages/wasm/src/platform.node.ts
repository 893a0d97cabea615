import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { hasRelaxedSimd, kernelImports, MEMORY_PAGES, type HelperData, type Platform } from './platform.js';

/**
 * Node: the module is read and instantiated synchronously; helpers are worker_threads. Node 20 has
 * relaxed SIMD behind a V8 flag: it is switched on here before the module compiles (the flag is
 * process-wide, so the workers get it too), and the relaxed build loads when the engine then
 * validates it. PARCNET_WASM_RELAXED=0 keeps the plain build.
 */

function relaxedSimd(): boolean {
  if (process.env.PARCNET_WASM_RELAXED === '0') return false;
  if (hasRelaxedSimd()) return true;
  setFlagsFromString('--experimental-wasm-relaxed-simd');
  return hasRelaxedSimd();
}

const relaxed = relaxedSimd();
/** Absolute path of the kernel module Node loads: build/kernels-relaxed.wasm when relaxed SIMD is on, else build/kernels.wasm. */
export const wasmPath = fileURLToPath(new URL(relaxed ? '../build/kernels-relaxed.wasm' : '../build/kernels.wasm', import.meta.url));

function load(): Platform['kernels'] {
  if (!existsSync(wasmPath)) {
    throw new Error(`@parcnet/wasm: ${wasmPath} is missing; \`npm ci\` builds it (or run \`npm run build -w @parcnet/wasm\`)`);
  }
  const memory = new WebAssembly.Memory({ initial: MEMORY_PAGES.initial, maximum: MEMORY_PAGES.maximum, shared: true });
  const module = new WebAssembly.Module(readFileSync(wasmPath));
  return { memory, module, instance: new WebAssembly.Instance(module, kernelImports(memory)), shared: true, relaxed };
}

const workerScript = fileURLToPath(new URL('./worker.mjs', import.meta.url));

export const platform: Platform = {
  kernels: load(),
  maxThreads: Math.max(1, availableParallelism()),
  // 1.5 GiB: a ParC-Net-XS training step at batch 64 (32×32) fits, so its outputs are never copied.
  tensorLimit: 1536 * 2 ** 20,
  maxMemoryBytes: MEMORY_PAGES.maximum * 65536,
  startsAsync: false,
  startHelper(data: HelperData) {
    const worker = new Worker(workerScript, { workerData: data });
    worker.unref();
    // About 85 ms from here on this machine; jobs posted meanwhile run on the calling thread.
    const ready = new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    return { ready, terminate: () => void worker.terminate() };
  },
  wait: (array, index, value, ms) => (Atomics.wait(array, index, value, ms) === 'timed-out' ? 'timed-out' : 'ok'),
};
