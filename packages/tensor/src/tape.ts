import type { Tensor } from './tensor.js';

/**
 * The tape's unit: what produced a tensor and how to send a gradient back to its inputs.
 * Ops create it right beside their forward (see `recordOp`); the engine in `@parcnet/autograd`
 * walks these nodes. The closure holds only what the backward rule needs.
 */
export interface GradNode {
  /** The op that made the tensor, as error messages name it ('conv2d', 'add', a Function's class name). */
  readonly opName: string;
  /** The op's inputs in order; null where an input does not require a gradient. */
  readonly inputs: readonly (Tensor | null)[];
  /** Returns one gradient per input (null where none flows); undefined for an op without one. */
  backward: ((gradOutput: Tensor) => readonly (Tensor | null)[]) | undefined;
  /** Set once a backward pass without retainGraph has dropped `backward` and its saved tensors. */
  freed: boolean;
}

let gradEnabled = true;

/** Whether ops record the tape now: true unless inside `noGrad` (or `withGradMode(false, …)`). */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Runs `fn` with gradient recording switched on or off, restoring the previous mode after. */
export function withGradMode<T>(enabled: boolean, fn: () => T): T {
  const previous = gradEnabled;
  gradEnabled = enabled;
  try {
    return fn();
  } finally {
    gradEnabled = previous;
  }
}

/**
 * Attaches a backward rule to an op's output when recording is on and some input requires a
 * gradient; otherwise the closure is dropped at once and nothing is kept. An op with no backward
 * rule passes undefined, and back-propagating through it fails with a GradientError naming it.
 */
export function recordOp(
  opName: string,
  output: Tensor,
  inputs: readonly Tensor[],
  backward: ((gradOutput: Tensor) => readonly (Tensor | null)[]) | undefined,
  attrs?: OpAttrs,
): Tensor {
  output.madeBy = opName;
  if (tracer) tracer({ opName, output, inputs, attrs: attrs ?? {} });
  if (!gradEnabled || !inputs.some((t) => t.requiresGrad)) return output;
  output.gradFn = { opName, inputs: inputs.map((t) => (t.requiresGrad ? t : null)), backward, freed: false };
  return output;
}

/** The backward pass `Tensor.backward` delegates to: from `root`, seeded by `gradient` (ones when undefined). */
export type BackwardEngine = (root: Tensor, gradient: Tensor | undefined, options: { retainGraph: boolean }) => void;

let engine: BackwardEngine | null = null;

/** `@parcnet/autograd` installs its engine here when it loads; `Tensor.backward` calls it. */
export function installBackwardEngine(fn: BackwardEngine): void {
  engine = fn;
}

export function backwardEngine(): BackwardEngine | null {
  return engine;
}

/** What an op says about itself beyond its inputs: the settings an exporter needs to redo it. */
export type OpAttrs = object;

/** One op as a tracer sees it: its name, inputs, output and settings. */
export interface TracedOp {
  /** The op's name, as in {@link GradNode.opName}. */
  opName: string;
  /** The tensor the op returned. */
  output: Tensor;
  /** The op's tensor inputs, in order (after any casts and broadcasts the op did). */
  inputs: readonly Tensor[];
  /** The op's settings (axes, strides, padding, …); {} when it has none. */
  attrs: OpAttrs;
}

let tracer: ((op: TracedOp) => void) | null = null;

/** Whether ops are being traced (layers with a fused inference path then run their plain ops, which an exporter knows). */
export function isTracing(): boolean {
  return tracer !== null;
}

/**
 * Runs `fn` with every op reported to `onOp` as it runs, in order, whether or not gradients are
 * recorded (the ONNX exporter builds its graph from this). Tracing does not nest.
 */
export function traceOps<T>(fn: () => T, onOp: (op: TracedOp) => void): T {
  if (tracer) throw new Error('traceOps: already tracing');
  tracer = onOp;
  try {
    return fn();
  } finally {
    tracer = null;
  }
}
