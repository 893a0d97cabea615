import { withGradMode } from '@parcnet/tensor';

/** Runs `fn` without recording the tape (like `with torch.no_grad()`): for evaluation and updates. */
export function noGrad<T>(fn: () => T): T {
  return withGradMode(false, fn);
}

/** Runs `fn` with recording on, even inside `noGrad`. */
export function enableGrad<T>(fn: () => T): T {
  return withGradMode(true, fn);
}
