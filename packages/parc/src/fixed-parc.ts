import { Conv2d, Module, normal_, truncNormal_ } from '@parcnet/nn';
import { add, formatShape, pad, ShapeError, zeros, type Tensor } from '@parcnet/tensor';
import type { ParcAxis } from './kernel-names.js';

/**
 * The fixed-size ParC of the official `ParC_ConvNets` (spec §11): no meta kernel and no resampling —
 * an ordinary convolution `gcc_conv` with kernel (G, 1) or (1, G) and a bias, depthwise by default
 * or dense with groups = 1 (ParC-ResNet50), on the input with its first G − 1 rows (or columns)
 * appended, after adding a PE `pe` [1, dim, G, 1] / [1, dim, 1, G]. The map must be G long along
 * the axis. This is the official formulation (wrap then a valid convolution), kept as such.
 */
export class FixedParc extends Module {
  /** `pe` [1, dim, G, 1] (axis H) or [1, dim, 1, G] (axis W), trunc-normal(0.02) at init; null when `usePE` is false. */
  readonly pe: Tensor | null;
  /** `gcc_conv`: Conv2d dim → dim, kernel (G, 1) or (1, G), with bias, no padding; depthwise unless `groups` says otherwise. */
  readonly gccConv: Conv2d;

  /**
   * @param dim Channels in and out.
   * @param axis The axis the kernel spans and wraps along.
   * @param globalKernelSize G, the kernel length: the map's length along `axis` (14 or 7 in the official models).
   * @param options `usePE` (default true) and `groups` of `gcc_conv` (default dim, depthwise; 1 for ParC-ResNet50's dense ParC).
   */
  constructor(readonly dim: number, readonly axis: ParcAxis, readonly globalKernelSize: number, options: { usePE?: boolean; groups?: number } = {}) {
    super();
    const g = globalKernelSize;
    // PEs: randn, then overwritten by trunc_normal(std 0.02) as the official code does.
    this.pe = options.usePE ?? true ? this.parameter('pe', truncNormal_(normal_(zeros(axis === 'H' ? [1, dim, g, 1] : [1, dim, 1, g])), { std: 0.02 })) : null;
    this.gccConv = this.child('gcc_conv', new Conv2d(dim, dim, axis === 'H' ? [g, 1] : [1, g], { groups: options.groups ?? dim }));
  }

  /** x: [B, dim, H, W] → [B, dim, H, W]; the length along `axis` must be G, else a ShapeError. */
  forward(x: Tensor): Tensor {
    const n = this.axis === 'H' ? x.shape[2] : x.shape[3];
    if (n !== this.globalKernelSize) {
      throw new ShapeError(`FixedParc(${this.axis}, G=${this.globalKernelSize}): the map must be ${this.globalKernelSize} long along ${this.axis}, got input ${formatShape(x.shape)}`);
    }
    const shifted = this.pe ? add(x, this.pe) : x;
    const wrap = this.axis === 'H' ? [0, 0, 0, n - 1] : [0, n - 1];
    return this.gccConv.forward(pad(shifted, wrap, { mode: 'circular' }));
  }
}
