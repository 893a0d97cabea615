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
    /**
     * Inference's ParC mixing in a ParC block: x [B, C, H, W] (C even) split into halves along C,
     * the first half convolved along H then along W, the second along W then along H (each conv as
     * ParcConv with its kernel and offset tables), each half added to its input:
     * y = concat(x₁ + P_W(P_H(x₁)), x₂ + P_H(P_W(x₂))).
     */
    ParcMixer: (x: Tensor, halves: readonly [ParcMixerHalf, ParcMixerHalf]) => Tensor;
  }
}

/** One conv of a ParcMixer: its kernel and offset, both [C/2, n] (n the length of its axis). */
export interface ParcTables {
  kernel: Tensor;
  offset: Tensor;
}

/** A half's two convs, in the order they run (along H then W for the first half, W then H for the second). */
export interface ParcMixerHalf {
  first: ParcTables;
  second: ParcTables;
}
