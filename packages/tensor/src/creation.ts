import { allocate, dtypeOfArray, type DType, type TypedArray } from './dtype.js';
import { DTypeError, ShapeError } from './errors.js';
import { resolveGenerator, type RandomOptions } from './random.js';
import { assertValidShape, formatShape, formatValue, sizeOf, sizesAndOptions, type Shape } from './shape.js';
import { Tensor } from './tensor.js';

/** Options of {@link tensor}. */
export interface TensorOptions {
  /** Reinterpret flat data as this shape (its size must match). */
  shape?: Shape;
  /** Default: the typed array's dtype, else float32. */
  dtype?: DType;
  /** Make the tensor a leaf that requires a gradient (float dtypes only). Default false. */
  requiresGrad?: boolean;
}

/** Nested JS arrays of numbers, a number, or a typed array. */
export type TensorData = number | TypedArray | readonly number[] | readonly TensorData[];

function inferNestedShape(data: TensorData): number[] {
  const shape: number[] = [];
  let level: unknown = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0];
  }
  return shape;
}

function flattenNested(data: TensorData, shape: readonly number[], out: number[], depth = 0): void {
  if (depth === shape.length) {
    if (typeof data !== 'number') throw new ShapeError(`tensor: ragged nested array (expected a number at depth ${depth})`);
    out.push(data);
    return;
  }
  if (!Array.isArray(data) || data.length !== shape[depth]) {
    throw new ShapeError(`tensor: ragged nested array (expected length ${shape[depth]} at depth ${depth}, shape ${formatShape(shape)})`);
  }
  for (const item of data as readonly TensorData[]) flattenNested(item, shape, out, depth + 1);
}

/**
 * Makes a tensor from nested arrays, a number or a typed array (copied, and converted when
 * `dtype` differs). `shape` reshapes flat data.
 */
export function tensor(data: TensorData, options: TensorOptions = {}): Tensor {
  let values: TypedArray | number[];
  let shape: number[];
  if (ArrayBuffer.isView(data)) {
    if (!(data instanceof Float32Array || data instanceof Float64Array || data instanceof Int32Array)) {
      throw new DTypeError(`tensor: typed arrays must be Float32Array, Float64Array or Int32Array, got ${(data as object).constructor.name}`);
    }
    values = data;
    shape = [data.length];
  } else if (typeof data === 'number') {
    values = [data];
    shape = [];
  } else {
    shape = inferNestedShape(data);
    values = [];
    flattenNested(data, shape, values);
  }
  if (options.shape) {
    assertValidShape('tensor', options.shape);
    if (sizeOf(options.shape) !== values.length) {
      throw new ShapeError(`tensor: shape ${formatShape(options.shape)} needs ${sizeOf(options.shape)} values, got ${values.length}`);
    }
    shape = [...options.shape];
  }
  const dtype = options.dtype ?? (ArrayBuffer.isView(values) ? dtypeOfArray(values) : 'float32');
  const storage = allocate(dtype, values.length);
  storage.set(values);
  const t = new Tensor(storage, shape);
  if (options.requiresGrad) t.requiresGrad = true;
  return t;
}

/** Options of the creation functions (zeros, ones, full, arange, linspace, eye, …). */
export interface CreationOptions {
  /** Element type. Default float32 (arange: int32 for integer arguments; randint: int32). */
  dtype?: DType;
  /** Make the tensor a leaf that requires a gradient (float dtypes only). Default false. */
  requiresGrad?: boolean;
}

function make(op: string, shape: Shape, options: CreationOptions, fill: (data: TypedArray) => void): Tensor {
  assertValidShape(op, shape);
  const t = Tensor.empty(shape, options.dtype ?? 'float32');
  fill(t.storage);
  if (options.requiresGrad) t.requiresGrad = true;
  return t;
}

/** The arguments of a creation function: sizes (separate or one array), then optional options. */
type SizesThenOptions<O> = (number | Shape | O | undefined)[];

/**
 * A tensor of zeros, like torch.zeros: `zeros(2, 3)`, `zeros([2, 3])`, `zeros(2, 3, { dtype })`
 * or `zeros([2, 3], { dtype })`.
 */
export function zeros(...size: number[]): Tensor;
export function zeros(...args: [...size: number[], options: CreationOptions]): Tensor;
export function zeros(size: Shape, options?: CreationOptions): Tensor;
export function zeros(...args: SizesThenOptions<CreationOptions>): Tensor {
  const [shape, options] = sizesAndOptions<CreationOptions>('zeros', args);
  return make('zeros', shape, options, () => {});
}

/**
 * A tensor of ones, like torch.ones: `ones(2, 3)`, `ones([2, 3])`, `ones(2, 3, { dtype })` or
 * `ones([2, 3], { dtype })`.
 */
export function ones(...size: number[]): Tensor;
export function ones(...args: [...size: number[], options: CreationOptions]): Tensor;
export function ones(size: Shape, options?: CreationOptions): Tensor;
export function ones(...args: SizesThenOptions<CreationOptions>): Tensor {
  const [shape, options] = sizesAndOptions<CreationOptions>('ones', args);
  return make('ones', shape, options, (d) => d.fill(1));
}

/**
 * An array shape for the functions whose shape is not last (full, randint): as in torch.full and
 * torch.randint, it is one array, since separate sizes would run into the numbers after them.
 */
function arrayShape(op: string, shape: Shape): Shape {
  if (!Array.isArray(shape)) throw new ShapeError(`${op}: size must be one array of integers, got ${formatValue(shape)}`);
  return shape;
}

/** A tensor filled with `value`, like torch.full; the size is one array: `full([2, 3], 7)`. */
export const full = (shape: Shape, value: number, options: CreationOptions = {}): Tensor =>
  make('full', arrayShape('full', shape), options, (d) => d.fill(value));
/** Zeros of `x`'s shape and (unless `options.dtype`) dtype, like torch.zeros_like. */
export const zerosLike = (x: Tensor, options: CreationOptions = {}): Tensor => zeros(x.shape, { dtype: x.dtype, ...options });
/** Ones of `x`'s shape and (unless `options.dtype`) dtype, like torch.ones_like. */
export const onesLike = (x: Tensor, options: CreationOptions = {}): Tensor => ones(x.shape, { dtype: x.dtype, ...options });
/** `value` in `x`'s shape and (unless `options.dtype`) dtype, like torch.full_like. */
export const fullLike = (x: Tensor, value: number, options: CreationOptions = {}): Tensor =>
  full(x.shape, value, { dtype: x.dtype, ...options });

/** [start, end) in steps; int32 when every argument is an integer, else float32 (unless `dtype`). */
export function arange(start: number, end?: number, step = 1, options: CreationOptions = {}): Tensor {
  if (end === undefined) [start, end] = [0, start];
  if (step === 0 || !Number.isFinite(step)) throw new ShapeError(`arange: step must be finite and non-zero, got ${step}`);
  const length = Math.max(0, Math.ceil((end - start) / step));
  const dtype = options.dtype ?? ([start, end, step].every(Number.isInteger) ? 'int32' : 'float32');
  return make('arange', [length], { ...options, dtype }, (d) => {
    for (let i = 0; i < length; i++) d[i] = start + i * step;
  });
}

/** `steps` evenly spaced values from start to end inclusive. */
export function linspace(start: number, end: number, steps: number, options: CreationOptions = {}): Tensor {
  if (!Number.isInteger(steps) || steps < 0) throw new ShapeError(`linspace: steps must be a non-negative integer, got ${steps}`);
  const delta = steps > 1 ? (end - start) / (steps - 1) : 0;
  // Like PyTorch, fill the second half from the end so that both endpoints are exact.
  return make('linspace', [steps], options, (d) => {
    const half = Math.floor(steps / 2);
    for (let i = 0; i < steps; i++) d[i] = i < half ? start + i * delta : end - (steps - 1 - i) * delta;
  });
}

/** An n × m matrix with ones on the diagonal. */
export function eye(n: number, m = n, options: CreationOptions = {}): Tensor {
  return make('eye', [n, m], options, (d) => {
    for (let i = 0; i < Math.min(n, m); i++) d[i * m + i] = 1;
  });
}

/** Options of the random creation functions: dtype and requiresGrad, plus a seed or a generator. */
export type RandomCreationOptions = CreationOptions & RandomOptions;

/**
 * Uniform in [0, 1), from `generator`, a fresh generator seeded by `seed`, or the default one, like
 * torch.rand: `rand(2, 3)`, `rand([2, 3])`, `rand(2, 3, { seed })` or `rand([2, 3], { seed })`.
 */
export function rand(...size: number[]): Tensor;
export function rand(...args: [...size: number[], options: RandomCreationOptions]): Tensor;
export function rand(size: Shape, options?: RandomCreationOptions): Tensor;
export function rand(...args: SizesThenOptions<RandomCreationOptions>): Tensor {
  const [shape, options] = sizesAndOptions<RandomCreationOptions>('rand', args);
  const g = resolveGenerator(options);
  return make('rand', shape, options, (d) => {
    for (let i = 0; i < d.length; i++) d[i] = g.uniform();
  });
}

/**
 * Standard normal deviates, like torch.randn: `randn(2, 3)`, `randn([2, 3])`, `randn(2, 3, { seed })`
 * or `randn([2, 3], { seed })`.
 */
export function randn(...size: number[]): Tensor;
export function randn(...args: [...size: number[], options: RandomCreationOptions]): Tensor;
export function randn(size: Shape, options?: RandomCreationOptions): Tensor;
export function randn(...args: SizesThenOptions<RandomCreationOptions>): Tensor {
  const [shape, options] = sizesAndOptions<RandomCreationOptions>('randn', args);
  const g = resolveGenerator(options);
  return make('randn', shape, options, (d) => {
    for (let i = 0; i < d.length; i++) d[i] = g.normal();
  });
}

/** Uniform integers in [low, high), int32 by default; the size is one array, as in torch.randint. */
export function randint(low: number, high: number, shape: Shape, options: RandomCreationOptions = {}): Tensor {
  if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) {
    throw new ShapeError(`randint: need integers low < high, got ${low} and ${high}`);
  }
  const g = resolveGenerator(options);
  return make('randint', arrayShape('randint', shape), { dtype: 'int32', ...options }, (d) => {
    for (let i = 0; i < d.length; i++) d[i] = g.integer(low, high);
  });
}
