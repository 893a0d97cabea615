import { ShapeError } from './errors.js';

/** A tensor shape: the size of each dim, outermost first ([] for a 0-d tensor). */
export type Shape = readonly number[];

/** A shape as error messages print it: `[2, 3, 32, 32]`. */
export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

/** The number of elements of a tensor of `shape`: the product of its sizes (1 for []). */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides of `shape`, in elements: the last dim has stride 1. */
export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function assertValidShape(op: string, shape: Shape): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new ShapeError(`${op}: shape ${formatShape(shape)} must hold non-negative integers`);
    }
  }
}

/** An argument as it came, for an error message: `[3, 4]`, `"2"`, `{…}`. */
export function formatValue(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(formatValue).join(', ')}]`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (value !== null && typeof value === 'object') return '{…}';
  return String(value);
}

/** A call's arguments as they came, for an error message: `(2, [3, 4], {…})`. */
export function formatArgs(args: readonly unknown[]): string {
  return `(${args.map(formatValue).join(', ')})`;
}

/**
 * The sizes or dims of a call written either way PyTorch allows: separate numbers, `f(2, 3)`, or
 * one array, `f([2, 3])`. Every entry must be an integer; what range it may take is the op's check.
 */
export function sizesFromArgs(op: string, what: 'sizes' | 'dims', args: readonly unknown[]): number[] {
  let list = args;
  if (args.some((a) => Array.isArray(a))) {
    if (args.length !== 1) {
      throw new ShapeError(`${op}: expected the ${what} as separate numbers or as one array, got ${formatArgs(args)}`);
    }
    list = args[0] as readonly unknown[];
  }
  if (!list.every((d) => typeof d === 'number' && Number.isInteger(d))) {
    throw new ShapeError(`${op}: ${what} must be integers, got ${formatArgs(args)}`);
  }
  return [...(list as readonly number[])];
}

/**
 * Splits a creation function's arguments, sizes as in `sizesFromArgs` then an optional options
 * object: `zeros(2, 3)`, `zeros([2, 3])`, `zeros(2, 3, { dtype })`, `zeros([2, 3], { dtype })`.
 * Whether the sizes are non-negative is left to the caller.
 */
export function sizesAndOptions<O extends object>(op: string, args: readonly unknown[]): [number[], O] {
  const last = args[args.length - 1];
  // A trailing undefined is an omitted options object, `zeros([2, 3], options)`, after some sizes.
  const hasOptions = (last === undefined && args.length > 1) || (last !== null && typeof last === 'object' && !Array.isArray(last));
  const sizes = sizesFromArgs(op, 'sizes', hasOptions ? args.slice(0, -1) : args);
  return [sizes, (hasOptions && last !== undefined ? last : {}) as O];
}

/** Resolves a possibly negative axis against `ndim`, as PyTorch's `dim` arguments do. */
export function normalizeAxis(op: string, axis: number, ndim: number): number {
  const lo = ndim === 0 ? -1 : -ndim;
  const hi = ndim === 0 ? 0 : ndim - 1;
  if (!Number.isInteger(axis)) throw new ShapeError(`${op}: dim must be an integer, got ${formatValue(axis)}`);
  if (axis < lo || axis > hi) {
    throw new ShapeError(`${op}: dim ${axis} is out of range for a tensor of ${ndim} dims (expected ${lo}..${hi})`);
  }
  return axis < 0 ? axis + Math.max(ndim, 1) : axis;
}

/** Normalises a list of axes (undefined means all axes), sorted and without repeats. */
export function normalizeAxes(op: string, axes: number | readonly number[] | undefined, ndim: number): number[] {
  if (axes === undefined) return Array.from({ length: ndim }, (_, i) => i);
  if (typeof axes !== 'number' && !Array.isArray(axes)) {
    throw new ShapeError(`${op}: dim must be an integer or an array of integers, got ${formatValue(axes)}`);
  }
  const list = typeof axes === 'number' ? [axes] : axes;
  const out = list.map((a) => normalizeAxis(op, a, ndim));
  if (new Set(out).size !== out.length) throw new ShapeError(`${op}: dims [${list.join(', ')}] repeat an axis`);
  return out.sort((a, b) => a - b);
}

/** NumPy broadcasting of two shapes, aligned on the right. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(
        `${op}: shapes ${formatShape(a)} and ${formatShape(b)} do not broadcast (dim ${i} of the result: ${da} vs ${db})`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Storage offsets of a strided view's elements, in row-major logical order. */
export function storageOffsets(shape: Shape, strides: readonly number[], offset: number): number[] {
  const out: number[] = [];
  const index = new Array<number>(shape.length).fill(0);
  const total = sizeOf(shape);
  for (let n = 0; n < total; n++) {
    out.push(index.reduce((at, i, d) => at + i * strides[d], offset));
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
  return out;
}
