import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { observeKernels, type Tensor } from '@parcnet/tensor';

const beside = fileURLToPath(new URL('../../../../shared/', import.meta.url));

/** The data sets: PARCNET_DATA (CI sets it to ../shared/data), else ../shared/data beside the repository. */
export const dataDir = process.env.PARCNET_DATA ?? join(beside, 'data');

/** The PyTorch goldens: PARCNET_GOLDEN, else the golden folder next to the data, else ../shared/golden. */
export const goldenDir =
  process.env.PARCNET_GOLDEN ??
  (process.env.PARCNET_DATA && existsSync(join(process.env.PARCNET_DATA, '..', 'golden')) ? join(process.env.PARCNET_DATA, '..', 'golden') : join(beside, 'golden'));

/** max|a − b| / max|b| (max|a − b| when b is all zeros), the goldens' error measure. */
export function relativeError(actual: Tensor, expected: Tensor): number {
  const a = actual.toTypedArray();
  const b = expected.toTypedArray();
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

/** What `fn` returns, and the names of the kernels it ran, in order: which path an op or module took. */
export function kernelsOf<T>(fn: () => T): { out: T; kernels: string[] } {
  const kernels: string[] = [];
  const stop = observeKernels((name) => kernels.push(name));
  try {
    return { out: fn(), kernels };
  } finally {
    stop();
  }
}
