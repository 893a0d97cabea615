import { keep, type Tensor } from '@parcnet/tensor';

/**
 * torch.nn.utils.clip_grad_norm_: scales every gradient in place by maxNorm / (total + 1e-6)
 * when the global L2 norm over all of them exceeds maxNorm. Returns the norm before clipping.
 */
export function clipGradNorm(parameters: readonly Tensor[], maxNorm: number): number {
  let squares = 0;
  for (const p of parameters) if (p.grad) for (const g of p.grad.toTypedArray()) squares += g * g;
  const total = Math.sqrt(squares);
  const scale = maxNorm / (total + 1e-6);
  if (scale < 1) {
    for (const p of parameters) {
      if (!p.grad) continue;
      const g = p.grad.contiguous();
      const data = g.storage;
      for (let i = g.offset; i < g.offset + g.size; i++) data[i] *= scale;
      // A new contiguous copy must outlive the step's scope, as the gradient it replaces did.
      if (g !== p.grad) p.grad = keep(g);
    }
  }
  return total;
}
