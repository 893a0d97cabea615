import { hasRelaxedSimd, kernelImports, MEMORY_PAGES, type HelperData, type Platform } from './platform.js';

/**
 * Browsers: the module is fetched and instantiated asynchronously (top-level await, so importing
 * the package still hands out ready kernels). A cross-origin isolated page gets the shared-memory
 * build and Web Workers as helpers; any other page has no SharedArrayBuffer and runs the
 * single-memory build on one thread. Both builds compile the same source, so results are the same;
 * where the browser has relaxed SIMD (Chrome 114+), both are the relaxed builds.
 */

const isolated = globalThis.crossOriginIsolated === true && typeof SharedArrayBuffer !== 'undefined';
const relaxed = hasRelaxedSimd();

// Four literal URLs, so a bundler (Vite) sees and ships every build.
function buildUrl(): string {
  if (isolated) return (relaxed ? new URL('../build/kernels-relaxed.wasm', import.meta.url) : new URL('../build/kernels.wasm', import.meta.url)).href;
  return (relaxed ? new URL('../build/kernels-single-relaxed.wasm', import.meta.url) : new URL('../build/kernels-single.wasm', import.meta.url)).href;
}

/** URL of the kernel build this page loads: shared-memory when cross-origin isolated, else single-memory; relaxed SIMD where the browser has it. */
export const wasmPath = buildUrl();

async function load(): Promise<Platform['kernels']> {
  const response = await fetch(wasmPath);
  if (!response.ok) throw new Error(`@parcnet/wasm: fetching ${wasmPath} failed: HTTP ${response.status}`);
  const module = await WebAssembly.compile(await response.arrayBuffer());
  const memory = new WebAssembly.Memory({ initial: MEMORY_PAGES.initial, maximum: MEMORY_PAGES.browserMaximum, shared: isolated });
  const instance = await WebAssembly.instantiate(module, kernelImports(memory));
  return { memory, module, instance, shared: isolated, relaxed };
}

/** The page's main thread may not block; a worker (where parcnet may also run) may. */
const canBlock = typeof (globalThis as { document?: unknown }).document === 'undefined';

function spin(array: Int32Array<SharedArrayBuffer>, index: number, value: number, ms: number): 'ok' | 'timed-out' {
  const end = performance.now() + ms;
  while (Atomics.load(array, index) === value) if (performance.now() > end) return 'timed-out';
  return 'ok';
}

export const platform: Platform = {
  kernels: await load(),
  maxThreads: isolated ? Math.max(1, navigator.hardwareConcurrency || 1) : 1,
  // A page keeps less: a tab holding gigabytes is worse than a slower forward. Without shared memory, none (heap.ts).
  tensorLimit: 256 * 2 ** 20,
  maxMemoryBytes: MEMORY_PAGES.browserMaximum * 65536,
  startsAsync: true,
  startHelper(data: HelperData) {
    const worker = new Worker(new URL('./worker.browser.mjs', import.meta.url), { type: 'module', name: `parcnet kernels ${data.index}` });
    const ready = new Promise<void>((resolve, reject) => {
      worker.addEventListener('message', () => resolve(), { once: true });
      worker.addEventListener('error', (e) => reject(new Error(`@parcnet/wasm: kernel worker ${data.index} failed to start: ${e.message}`)), { once: true });
    });
    worker.postMessage(data);
    return { ready, terminate: () => worker.terminate() };
  },
  wait: (array, index, value, ms) => (canBlock ? (Atomics.wait(array, index, value, ms) === 'timed-out' ? 'timed-out' : 'ok') : spin(array, index, value, ms)),
};
