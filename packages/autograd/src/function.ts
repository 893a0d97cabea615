import { formatShape, GradientError, isFloatDType, isGradEnabled, ShapeError, Tensor } from '@parcnet/tensor';
import { noGrad } from './grad-mode.js';

/**
 * A new op with a hand-written backward, like torch.autograd.Function:
 *
 *   class ScaledTanh extends Function {
 *     static forward(ctx: FunctionCtx, x: Tensor, scale: number): Tensor {
 *       const y = tanh(x);
 *       ctx.saveForBackward(y);
 *       ctx.scale = scale;                     // anything that is not a tensor: a ctx attribute
 *       return y.mul(scale);
 *     }
 *     static backward(ctx: FunctionCtx, gradOutput: Tensor): [Tensor | null, null] {
 *       const [y] = ctx.savedTensors;          // d(s·tanh x)/dx = s·(1 − tanh² x)
 *       const dx = ctx.needsInputGrad[0] ? gradOutput.mul(y.mul(y).neg().add(1)).mul(ctx.scale as number) : null;
 *       return [dx, null];                     // one per forward input; null for the number
 *     }
 *   }
 *   const y = ScaledTanh.apply(x, 2);
 *
 * `apply` runs forward with recording off, so the ops inside leave no tape; the output is then
 * recorded as one node named after the class, whose backward is the user's. Backward returns one
 * gradient per forward input (a single Tensor or null when there is one input), each null or of its
 * input's shape; anything else is a GradientError or ShapeError naming the class. Tensors inside
 * arrays or objects are not inputs (as in PyTorch). Forward returns one tensor: the tape records
 * one output per node. An integer output is returned without a node (not differentiable).
 *
 * Backward runs with recording off, so a Function has no second derivative.
 */
export class Function {
  /** Runs `forward` and records its output with `backward` as its derivative. Call it on the subclass. */
  static apply<F extends FunctionClass>(this: F, ...args: ForwardArguments<F>): Tensor {
    const name = this.name;
    if (typeof this.forward !== 'function' || typeof this.backward !== 'function') {
      throw new GradientError(`${name}.apply: a Function subclass needs static forward(ctx, ...inputs) and static backward(ctx, gradOutput)`);
    }
    const inputs = args as readonly unknown[];
    const ctx = new FunctionCtx(inputs.map((a) => isGradEnabled() && a instanceof Tensor && a.requiresGrad));
    let output: unknown = noGrad(() => this.forward(ctx, ...(inputs as never[])));
    if (!(output instanceof Tensor)) {
      throw new GradientError(`${name}.forward must return one Tensor, got ${describe(output)}`);
    }
    if (!ctx.needsInputGrad.some(Boolean) || !isFloatDType(output.dtype)) return output;
    // The node goes on a tensor of forward's own: an input returned as it is (or a tensor already
    // in a graph) gets a new view of the same storage, so its own gradFn is never overwritten.
    if (output.requiresGrad || inputs.includes(output)) output = output.detach();
    const result = output as Tensor;
    // Not recordOp: that would also report the node to a tracer (ONNX export, profiling), which has
    // already seen the ops forward ran.
    result.gradFn = {
      opName: name,
      inputs: inputs.filter((a): a is Tensor => a instanceof Tensor).map((t) => (t.requiresGrad ? t : null)),
      backward: (gradOutput) => checkedGradients(name, this.backward(ctx, gradOutput), inputs),
      freed: false,
    };
    return result;
  }
}

/**
 * What a Function's forward hands to its backward (torch.autograd.function.FunctionCtx): tensors
 * through `saveForBackward`, anything else as an attribute (`ctx.scale = 2`, read back as
 * `ctx.scale as number`, or type the parameter as `FunctionCtx & { scale: number }`).
 */
export class FunctionCtx {
  [attribute: string]: unknown;
  /**
   * One flag per argument of `apply`: whether backward will be asked for that input's gradient
   * (a tensor requiring one, with recording on). Backward may return null where it is false.
   */
  readonly needsInputGrad: readonly boolean[];
  #saved: readonly Tensor[] = [];

  constructor(needsInputGrad: readonly boolean[]) {
    this.needsInputGrad = Object.freeze([...needsInputGrad]);
  }

  /** Keeps tensors for backward (replacing any saved before); read them back from `savedTensors`. */
  saveForBackward(...tensors: Tensor[]): void {
    tensors.forEach((t, i) => {
      if (!(t instanceof Tensor)) {
        throw new GradientError(`saveForBackward: argument ${i} is ${describe(t)}, not a Tensor; keep other values as ctx attributes (ctx.name = value)`);
      }
    });
    this.#saved = Object.freeze([...tensors]);
  }

  /** The tensors given to `saveForBackward`, in order. */
  get savedTensors(): readonly Tensor[] {
    return this.#saved;
  }
}

/** The static side of a Function subclass, as `apply` needs it. */
export interface FunctionClass {
  /** The class's name, which names its tape node and its errors. */
  readonly name: string;
  /** Computes the output from the inputs (recording off), saving on `ctx` what backward needs; returns one tensor. */
  forward(ctx: FunctionCtx, ...inputs: never[]): Tensor;
  /** Returns the gradient of each forward input (null where none) given the output's gradient. */
  backward(ctx: FunctionCtx, gradOutput: Tensor): FunctionGradients;
}

/** What backward returns: one gradient (or null) per forward input; a bare one for a single input. */
export type FunctionGradients = Tensor | null | undefined | readonly (Tensor | null | undefined)[];

/** The arguments of a subclass's forward after ctx: what its `apply` takes. */
export type ForwardArguments<F extends FunctionClass> = F['forward'] extends (ctx: never, ...inputs: infer A) => Tensor ? A : never;

/**
 * Checks what backward returned against the forward inputs, and returns the gradients of the
 * tensor inputs in order (the node's inputs).
 */
function checkedGradients(name: string, returned: FunctionGradients, inputs: readonly unknown[]): (Tensor | null)[] {
  const gradients = Array.isArray(returned) ? (returned as readonly unknown[]) : [returned];
  if (gradients.length !== inputs.length) {
    throw new GradientError(
      `${name}.backward returned ${gradients.length} gradient${gradients.length === 1 ? '' : 's'}, but forward took ${inputs.length} ` +
        `input${inputs.length === 1 ? '' : 's'} (${inputs.map(describe).join(', ')}); return one per input, null where there is none`,
    );
  }
  const forTensors: (Tensor | null)[] = [];
  inputs.forEach((input, k) => {
    const g = gradients[k] ?? null;
    if (g !== null && !(g instanceof Tensor)) {
      throw new GradientError(`${name}.backward: gradient ${k} is ${describe(g)}, expected a Tensor or null`);
    }
    if (!(input instanceof Tensor)) {
      if (g !== null) throw new GradientError(`${name}.backward: returned a gradient for input ${k}, which is ${describe(input)}, not a Tensor; return null there`);
      return;
    }
    if (g !== null && formatShape(g.shape) !== formatShape(input.shape)) {
      throw new ShapeError(`${name}.backward: gradient ${k} has shape ${formatShape(g.shape)}, expected ${formatShape(input.shape)} (the shape of input ${k})`);
    }
    forTensors.push(g);
  });
  return forTensors;
}

function describe(value: unknown): string {
  if (value instanceof Tensor) return `Tensor ${formatShape(value.shape)}`;
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') return `an object (${value.constructor?.name ?? 'no constructor'})`;
  return `${typeof value} ${String(value)}`;
}
