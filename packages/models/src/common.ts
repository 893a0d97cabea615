import { Module } from '@parcnet/nn';
import { mean, type Tensor } from '@parcnet/tensor';

/** cvnets' GlobalPool(mean): [N, C, H, W] → [N, C]. */
export class GlobalPool extends Module {
  /** x: [N, C, H, W] → [N, C], the mean over H and W. */
  forward(x: Tensor): Tensor {
    return mean(x, [2, 3]);
  }
}
