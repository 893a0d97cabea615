import { registerKernel, Tensor, type KernelName } from '@parcnet/tensor';

/**
 * How the WASM kernels enter the kernel registry: under the reference kernels' names, above them,
 * for float32 only (the guard); float64 and anything else falls back to the reference.
 */

/** The backend name the WASM kernels register under, e.g. for `setBackendEnabled(WASM, false)` or `getKernel(name, WASM)`. */
export const WASM = 'wasm';
export const PRIORITY = 10;

export const allFloat32 = (...tensors: unknown[]): boolean => tensors.every((t) => !(t instanceof Tensor) || t.dtype === 'float32');

export function register<K extends KernelName>(name: K, fn: Parameters<typeof registerKernel<K>>[0]['fn']): void {
  registerKernel({ name, backend: WASM, priority: PRIORITY, fn, guard: ((...args: unknown[]) => allFloat32(...args)) as never });
}
