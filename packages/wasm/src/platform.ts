/**
 * What the kernels need from the place they run in: the compiled module with its memory, how many
 * threads the machine offers, how a helper thread is started and how the calling thread waits.
 * `platform.node.ts` and `platform.browser.ts` implement it; package.json's `#platform` import
 * picks one by the `browser` condition, so the kernels and the thread pool never touch Node or DOM
 * APIs themselves.
 */
export interface KernelModule {
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
  instance: WebAssembly.Instance;
  /** True when `memory` is shared, so helper threads can run kernels on it. */
  shared: boolean;
  /** True for the relaxed-SIMD build (fused multiply-add in the GEMM). */
  relaxed: boolean;
}

/** Everything a helper thread needs to serve kernel calls (see worker-loop.mjs). */
export interface HelperData {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: Int32Array<SharedArrayBuffer>;
  args: Float64Array<SharedArrayBuffer>;
  index: number;
  callable: readonly string[];
  maxArgs: number;
  /** Where helper 0's slot starts in `control`, and the words per helper (threads.ts). */
  slots: number;
  perWorker: number;
  /** Which word of `control` (PENDING, JITTER, SPIN, NEXT) or of a helper's slot (TICKET … FAILED_CHUNK) holds what: threads.ts's layout, the one definition. */
  words: ControlWords;
}

/** The layout of the pool's shared `control` words (threads.ts defines it, worker-loop.mjs reads it from its data). */
export interface ControlWords {
  PENDING: number;
  JITTER: number;
  SPIN: number;
  NEXT: number;
  TICKET: number;
  OFFER: number;
  POSTED: number;
  FROM_THE_END: number;
  EXPORT: number;
  ARG_COUNT: number;
  TOTAL: number;
  CHUNK: number;
  CHUNKS: number;
  TAKEN: number;
  DONE: number;
  FAILED: number;
  FAILED_CHUNK: number;
}

export interface Helper {
  /** Resolves once the thread is listening (a browser starts workers asynchronously). */
  ready: Promise<void>;
  terminate(): void;
}

export interface Platform {
  kernels: KernelModule;
  /** The number of threads kernels may use here: the cores, or 1 without shared memory. */
  maxThreads: number;
  /**
   * How much tensor storage may stay in wasm memory by default (bytes; see heap.ts): it is memory
   * the process keeps once reached, traded for not copying kernel outputs.
   */
  tensorLimit: number;
  /** The memory's maximum size in bytes. */
  maxMemoryBytes: number;
  /** Whether helpers must be started (and awaited) before a kernel call may use them. */
  startsAsync: boolean;
  startHelper(data: HelperData): Helper;
  /**
   * Waits while `array[index] === value`, for at most `ms`; 'ok' once it changed or a notify came
   * (the caller re-reads the word either way). A browser's main thread may not block in
   * Atomics.wait, so there it spins.
   */
  wait(array: Int32Array<SharedArrayBuffer>, index: number, value: number, ms: number): 'ok' | 'timed-out';
}

/** Pages of 64 KiB: Node may grow to wasm32's 4 GiB; a page stops at 2 GiB (a shared memory reserves its maximum up front). */
export const MEMORY_PAGES = { initial: 32, maximum: 65536, browserMaximum: 32768 } as const;

/** The imports every instance of the kernel module gets: the memory, and abort as a thrown error. */
export function kernelImports(memory: WebAssembly.Memory): WebAssembly.Imports {
  return { env: { memory, abort: () => { throw new Error('@parcnet/wasm: abort'); } } };
}

/**
 * A module of one function using f32x4.relaxed_madd: it validates where the engine has relaxed SIMD
 * (Chrome 114+; Node 20 behind --experimental-wasm-relaxed-simd, which platform.node.ts sets).
 */
const RELAXED_SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, // magic, version
  1, 8, 1, 96, 3, 123, 123, 123, 1, 123, // type (v128, v128, v128) → v128
  3, 2, 1, 0, // one function of that type
  10, 13, 1, 11, 0, 32, 0, 32, 1, 32, 2, 253, 133, 2, 11, // local.get 0, 1, 2; f32x4.relaxed_madd
]);

export function hasRelaxedSimd(): boolean {
  return WebAssembly.validate(RELAXED_SIMD_PROBE);
}
