import type { Tensor } from '@parcnet/tensor';

/** The axis a ParC operator convolves along: 'H' (height, dimension 2 of NCHW) or 'W' (width, dimension 3). */
export type ParcAxis = 'H' | 'W';

// The ParC kernels join @parcnet/tensor's kernel table, so backends register them by the same names.
declare module '@parcnet/tensor' {
  interface KernelSignatures {
    /**
     * Circular depthwise convolution along `axis`, kernel not centred (spec §2.1 step 3):
     * y[b, c, i, j] = offset[c, i] + Σₖ kernel[c, k] · x[b, c, (i + k) mod n, j] for axis H (n = H;
     * kernel and offset [C, n]; along W, offset[c, j]). The offset, when given, carries what is added
     * along the axis: the bias, and the conv of a positional encoding added to the input.
     */
    ParcConv: (x: Tensor, kernel: Tensor, axis: ParcAxis, offset?: Tensor | null) => Tensor;
    /** The transposed operator: dx[b, c, p, j] = Σᵢ g[b, c, i, j] · kernel[c, (p − i) mod n]. */
    ParcConvBackpropInput: (gradOutput: Tensor, kernel: Tensor, axis: ParcAxis) => Tensor;
    /** dkernel[c, k] = Σ_{b, i, j} g[b, c, i, j] · x[b, c, (i + k) mod n, j], shape [C, n]. */
    ParcConvBackpropKernel: (x: Tensor, gradOutput: Tensor, axis: ParcAxis) => Tensor;
  }
}
