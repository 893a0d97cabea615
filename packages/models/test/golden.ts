import { fileURLToPath } from 'node:url';
import type { Tensor } from '@parcnet/tensor';

/** ../shared/golden, beside the repository (PARCNET_GOLDEN overrides). */
export const goldenDir = process.env.PARCNET_GOLDEN ?? fileURLToPath(new URL('../../../../shared/golden/', import.meta.url));

/** max|a − b| / max|b|, the goldens' error measure (their README). */
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
