import { contiguousStrides, DTypeError, formatShape, GradientError, storageOffsets, Tensor } from '@parcnet/tensor';
import { grad } from './engine.js';
import { noGrad } from './grad-mode.js';

/** Options of {@link gradcheck}: the step and tolerances, as torch.autograd.gradcheck's. */
export interface GradcheckOptions {
  /** Central-difference step. Default 1e-6. */
  eps?: number;
  /** Absolute tolerance. Default 1e-5. */
  atol?: number;
  /** Relative tolerance, times |numerical|. Default 1e-3. */
  rtol?: number;
}

/**
 * What the checked function returns: one tensor or an array of them.
 * @inline
 */
type Outputs = Tensor | readonly Tensor[];

function asList(out: Outputs): readonly Tensor[] {
  return out instanceof Tensor ? [out] : out;
}

function unravel(flat: number, shape: readonly number[]): string {
  const strides = contiguousStrides(shape);
  return formatShape(shape.map((d, i) => Math.floor(flat / strides[i]) % d));
}

/**
 * Compares the Jacobian that backward computes with float64 central differences, like
 * torch.autograd.gradcheck: for every input that requires a gradient and every output element,
 * |analytic − numerical| ≤ atol + rtol · |numerical|. Returns true, or throws a GradientError naming
 * the worst element (output, input, both indices and both values).
 */
export function gradcheck(fn: (...inputs: Tensor[]) => Outputs, inputs: readonly Tensor[], options: GradcheckOptions = {}): true {
  const eps = options.eps ?? 1e-6;
  const atol = options.atol ?? 1e-5;
  const rtol = options.rtol ?? 1e-3;
  const checked = inputs.map((x, i) => ({ x, i })).filter(({ x }) => x.requiresGrad);
  if (checked.length === 0) throw new GradientError('gradcheck: no input requires a gradient');
  for (const { x, i } of checked) {
    if (x.dtype !== 'float64') throw new DTypeError(`gradcheck: input ${i} must be float64 for reliable differences, got ${x.dtype}`);
    if (x.shape.some((d, k) => d > 1 && x.strides[k] === 0)) {
      throw new GradientError(`gradcheck: input ${i} ${formatShape(x.shape)} has overlapping memory (a stride of 0); pass a contiguous copy`);
    }
  }
  const outputs = asList(fn(...inputs));
  outputs.forEach((o, k) => {
    if (o.dtype !== 'float64') throw new DTypeError(`gradcheck: output ${k} must be float64, got ${o.dtype}`);
  });

  // Numerical Jacobian columns: one per input element, the change of every output element.
  const numerical = checked.map(({ x }) =>
    storageOffsets(x.shape, x.strides, x.offset).map((at) => {
      const original = x.storage[at];
      const evaluate = (value: number): Float64Array[] => {
        x.storage[at] = value;
        return noGrad(() => asList(fn(...inputs)).map((o) => o.toTypedArray() as Float64Array));
      };
      const plus = evaluate(original + eps);
      const minus = evaluate(original - eps);
      x.storage[at] = original;
      return plus.map((p, k) => p.map((v, e) => (v - minus[k][e]) / (2 * eps)));
    }),
  );

  let worst: { excess: number; message: string } | null = null;
  outputs.forEach((out, k) => {
    if (!out.requiresGrad) {
      // No tape: the analytic Jacobian is zero; every numerical entry must be too.
      numerical.forEach((columns, c) =>
        columns.forEach((col, e) =>
          col[k].forEach((n, o) => {
            const excess = Math.abs(n) - atol;
            if (excess > 0 && (!worst || excess > worst.excess)) {
              worst = {
                excess,
                message: `output ${k} element ${unravel(o, out.shape)} does not require a gradient, but depends on input ${checked[c].i} element ${unravel(e, checked[c].x.shape)} (numerical ${n})`,
              };
            }
          }),
        ),
      );
      return;
    }
    for (let o = 0; o < out.size; o++) {
      const seed = new Tensor(new Float64Array(out.size), out.shape);
      seed.storage[o] = 1;
      const rows = grad([out], checked.map(({ x }) => x), [seed], { retainGraph: true });
      rows.forEach((row, c) => {
        const analytic = row.toTypedArray();
        numerical[c].forEach((col, e) => {
          const n = col[k][o];
          const a = analytic[e];
          const excess = Math.abs(a - n) - (atol + rtol * Math.abs(n));
          if ((excess > 0 || Number.isNaN(excess)) && (!worst || excess > worst.excess || Number.isNaN(excess))) {
            worst = {
              excess: Number.isNaN(excess) ? Infinity : excess,
              message:
                `output ${k} element ${unravel(o, out.shape)} w.r.t. input ${checked[c].i} element ${unravel(e, checked[c].x.shape)}: ` +
                `analytic ${a}, numerical ${n} (|diff| ${Math.abs(a - n)} > atol ${atol} + rtol ${rtol}·|numerical|)`,
            };
          }
        });
      });
    }
  });
  if (worst) throw new GradientError(`gradcheck: Jacobian mismatch; worst at ${(worst as { message: string }).message}`);
  return true;
}
