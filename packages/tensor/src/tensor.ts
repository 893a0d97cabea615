import { allocate, dtypeOfArray, isFloatDType, type DType, type TypedArray } from './dtype.js';
import { DTypeError, GradientError } from './errors.js';
import { contiguousStrides, formatShape, sizeOf, sizesFromArgs, type Shape } from './shape.js';
import { backwardEngine, type GradNode } from './tape.js';
import { countDisposed, DisposedTensorError, releaseStorage, retainStorage, setTensorClass } from './memory.js';
import * as elementwise from './ops/elementwise.js';
import * as unary from './ops/unary.js';
import * as reduce from './ops/reduce.js';
import * as views from './ops/views.js';
import { repeat, tile } from './ops/repeat.js';
import { cast, contiguous } from './ops/cast.js';
import { matmul } from './ops/matmul.js';
import { softmax, logSoftmax } from './ops/softmax.js';

/** A tensor operand: a tensor, or a JS number that broadcasts like a 0-d tensor of the other's dtype. */
export type TensorLike = Tensor | number;

/** Options of {@link Tensor.backward}. */
export interface BackwardOptions {
  /** Keep the graph's saved tensors so that backward can run through it again. */
  retainGraph?: boolean;
}

/**
 * An n-dimensional strided view over a typed-array storage. Views (reshape, permute, slice, expand,
 * flip…) share the storage and differ in shape, strides and offset; element [i0, i1, …] lives at
 * `storage[offset + i0 * strides[0] + i1 * strides[1] + …]`.
 */
let nextId = 0;

export class Tensor {
  /** Where the elements live; null once the tensor is disposed. */
  private data: TypedArray | null;
  /** True while this tensor holds a count on managed storage (memory.ts). */
  private managed: boolean;
  /** Creation order, unique: the autograd engine disposes only gradients it made itself (ids at or past its start). */
  readonly id = nextId++;
  /** The op that made this tensor ('conv2d', 'add', …; 'tensor' for one made directly), as errors name it. */
  madeBy = 'tensor';
  /** Size of each dim, e.g. [B, C, H, W]; [] for a 0-d tensor. */
  readonly shape: readonly number[];
  /** Storage step per dim, in elements (0 for a broadcast dim, negative for a flipped one). */
  readonly strides: readonly number[];
  /** Index in `storage` of element [0, 0, …], in elements. */
  readonly offset: number;
  /** Element type: 'float32', 'float64' or 'int32' (the storage's typed array). */
  readonly dtype: DType;
  /** The tape node that produced this tensor; null for leaves. */
  gradFn: GradNode | null = null;
  /** The accumulated gradient of a leaf that requires one, after `backward()`. */
  grad: Tensor | null = null;
  private leafRequiresGrad = false;

  constructor(storage: TypedArray, shape: Shape, strides?: readonly number[], offset = 0) {
    this.data = storage;
    this.shape = Object.freeze([...shape]);
    this.strides = Object.freeze(strides ? [...strides] : contiguousStrides(shape));
    this.offset = offset;
    this.dtype = dtypeOfArray(storage);
    this.managed = retainStorage(this, storage, true);
  }

  /** The flat typed array holding the elements, shared with every view of it; throws once the tensor is disposed. */
  get storage(): TypedArray {
    if (this.data === null) throw this.disposedError();
    return this.data;
  }

  /** True once {@link dispose} (or the end of its scope) gave this tensor's memory back. */
  get isDisposed(): boolean {
    return this.data === null;
  }

  /**
   * Gives this tensor's memory back now instead of when the collector finds it (tfjs's dispose):
   * its storage returns to the backend once no other live tensor (a view) stands on it. Any later
   * use throws, naming the op that made it. Disposing twice does nothing.
   */
  dispose(): void {
    const storage = this.data;
    if (storage === null) return;
    this.data = null;
    countDisposed();
    if (this.managed) {
      this.managed = false;
      releaseStorage(storage);
    }
  }

  private disposedError(): DisposedTensorError {
    return new DisposedTensorError(
      `a tensor made by ${this.madeBy} (shape ${formatShape(this.shape)}, ${this.dtype}) was used after its memory was released by dispose() or the end of the tidy scope it was made in; return it from the scope or keep() it`,
    );
  }

  /** The id the next tensor made will get: every tensor made from now on has an id at least this. */
  static nextId(): number {
    return nextId;
  }

  /** A fresh contiguous tensor of zeros. */
  static empty(shape: Shape, dtype: DType): Tensor {
    return new Tensor(allocate(dtype, sizeOf(shape)), shape);
  }

  /** The number of dims, `shape.length` (torch's `dim()`). */
  get ndim(): number {
    return this.shape.length;
  }

  /** The number of elements. */
  get size(): number {
    return sizeOf(this.shape);
  }

  /** The number of elements, as torch.Tensor.numel (same as `size`). */
  numel(): number {
    return this.size;
  }

  /** True for a tensor no recorded op produced (gradFn null): a parameter, an input, a detached value. */
  get isLeaf(): boolean {
    return this.gradFn === null;
  }

  /** Whether gradients flow to this tensor: a leaf set to require one, or any output of a recorded op. */
  get requiresGrad(): boolean {
    return this.leafRequiresGrad || this.gradFn !== null;
  }

  /** Sets whether a leaf requires a gradient (float dtypes only); a non-leaf cannot be switched off (use detach()). */
  set requiresGrad(value: boolean) {
    if (this.gradFn !== null) {
      if (!value) {
        throw new GradientError(
          `requiresGrad: cannot switch off on a non-leaf tensor made by ${this.gradFn.opName}; use detach()`,
        );
      }
      return;
    }
    if (value && !isFloatDType(this.dtype)) {
      throw new DTypeError(`requiresGrad: only float32 and float64 tensors can require gradients, got ${this.dtype}`);
    }
    this.leafRequiresGrad = value;
  }

  /** Sets requiresGrad and returns this tensor, for chaining. */
  requiresGrad_(value = true): this {
    this.requiresGrad = value;
    return this;
  }

  /** True when the elements are laid out row-major with no gaps from `offset`. */
  isContiguous(): boolean {
    let expected = 1;
    for (let i = this.shape.length - 1; i >= 0; i--) {
      if (this.shape[i] !== 1 && this.strides[i] !== expected) return false;
      expected *= this.shape[i];
    }
    return true;
  }

  /** A contiguous copy of the elements, in row-major order, as a typed array of this dtype. */
  toTypedArray(): TypedArray {
    if (this.isContiguous()) return this.storage.slice(this.offset, this.offset + this.size);
    // The contiguous copy may be a kernel output in wasm memory: its storage would go back (and be
    // reused) when its scope ends, so the caller gets an ordinary copy and the temporary goes back now.
    const copy = contiguous(this);
    const values = copy.storage.slice(copy.offset, copy.offset + copy.size);
    copy.dispose();
    return values;
  }

  /** The elements as nested JS arrays (a number for a 0-d tensor). */
  toArray(): unknown {
    const flat = this.toTypedArray();
    const build = (dim: number, start: number): unknown => {
      if (dim === this.shape.length) return flat[start];
      const step = sizeOf(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim] }, (_, i) => build(dim + 1, start + i * step));
    };
    return build(0, 0);
  }

  /** The value of a one-element tensor. */
  item(): number {
    if (this.size !== 1) throw new GradientError(`item: expected a tensor of one element, got shape ${formatShape(this.shape)}`);
    return this.storage[this.offset];
  }

  /** Back-propagates from this tensor; a non-scalar needs an explicit `gradient` of its shape. */
  backward(gradient?: Tensor, options: BackwardOptions = {}): void {
    const engine = backwardEngine();
    if (!engine) throw new GradientError('backward: the autograd engine is not loaded (import @parcnet/autograd or parcnet)');
    engine(this, gradient, { retainGraph: options.retainGraph ?? false });
  }

  /**
   * Replaces this leaf's data by `source`'s (storage, shape, strides, dtype), keeping the tensor
   * object — like `param.data = …` in PyTorch, so that modules and optimisers holding it see the
   * change (Module.to uses it). Clears `.grad`.
   */
  setData(source: Tensor): void {
    if (this.gradFn !== null) throw new GradientError(`setData: only leaves can take new data; this tensor was made by ${this.gradFn.opName}`);
    if (this.leafRequiresGrad && !isFloatDType(source.dtype)) throw new DTypeError(`setData: a tensor that requires a gradient cannot hold ${source.dtype}`);
    const storage = source.storage;
    const previous = this.data;
    const wasManaged = this.managed;
    this.data = storage;
    // Not tracked by the open scope: the leaf was made outside it (a parameter or buffer updated in a step).
    this.managed = retainStorage(this, storage, false);
    if (wasManaged && previous !== null) releaseStorage(previous);
    const self = this as { shape: readonly number[]; strides: readonly number[]; offset: number; dtype: DType };
    self.shape = source.shape;
    self.strides = source.strides;
    self.offset = source.offset;
    self.dtype = source.dtype;
    this.grad = null;
  }

  /** The same data, cut from the graph: no gradFn, not requiring a gradient. */
  detach(): Tensor {
    return new Tensor(this.storage, this.shape, this.strides, this.offset);
  }

  /** A one-line description, `Tensor(shape=[2, 3], dtype=float32, requiresGrad)`; the elements are not printed. */
  toString(): string {
    return `Tensor(shape=${formatShape(this.shape)}, dtype=${this.dtype}${this.requiresGrad ? ', requiresGrad' : ''})`;
  }

  // The methods below forward to the ops of the same name (see ops/), for PyTorch-style chaining.
  /** This tensor converted to `dtype` (itself when it already has it), like torch.Tensor.to(dtype). */
  to(dtype: DType): Tensor { return cast(this, dtype); }
  /** This tensor if row-major contiguous, else a contiguous copy. */
  contiguous(): Tensor { return contiguous(this); }
  /** A contiguous copy that stays in the graph (gradients flow back), like torch.Tensor.clone. */
  clone(): Tensor { return cast(this, this.dtype, true); }
  /** this + other, broadcast and promoted. */
  add(other: TensorLike): Tensor { return elementwise.add(this, other); }
  /** this − other, broadcast and promoted. */
  sub(other: TensorLike): Tensor { return elementwise.sub(this, other); }
  /** this · other elementwise, broadcast and promoted. */
  mul(other: TensorLike): Tensor { return elementwise.mul(this, other); }
  /** this / other, true division: integer operands give float32. */
  div(other: TensorLike): Tensor { return elementwise.div(this, other); }
  /** this ** other elementwise, broadcast and promoted. */
  pow(other: TensorLike): Tensor { return elementwise.pow(this, other); }
  /** −x elementwise (float tensors). */
  neg(): Tensor { return unary.neg(this); }
  /** eˣ elementwise (float tensors). */
  exp(): Tensor { return unary.exp(this); }
  /** Natural logarithm elementwise (float tensors). */
  log(): Tensor { return unary.log(this); }
  /** Square root elementwise (float tensors). */
  sqrt(): Tensor { return unary.sqrt(this); }
  /** |x| elementwise (float tensors). */
  abs(): Tensor { return unary.abs(this); }
  /** max(x, 0) elementwise (float tensors). */
  relu(): Tensor { return unary.relu(this); }
  /** 1 / (1 + e⁻ˣ) elementwise (float tensors). */
  sigmoid(): Tensor { return unary.sigmoid(this); }
  /** Hyperbolic tangent elementwise (float tensors). */
  tanh(): Tensor { return unary.tanh(this); }
  /** Each element limited to [min, max], like torch.clamp. */
  clamp(min: number, max: number): Tensor { return elementwise.clamp(this, min, max); }
  /** Σ over one dim or an array of dims (all when omitted): `x.sum(1)`, `x.sum([0, 2], true)`. */
  sum(axes?: number | readonly number[], keepdim = false): Tensor { return reduce.sum(this, axes, keepdim); }
  /** The mean over one dim or an array of dims (all when omitted): `x.mean(1)`, `x.mean([0, 2], true)`. */
  mean(axes?: number | readonly number[], keepdim = false): Tensor { return reduce.mean(this, axes, keepdim); }
  /** The variance over one dim or an array of dims (all when omitted), unbiased unless told. */
  var(axes?: number | readonly number[], options?: reduce.VarOptions): Tensor { return reduce.variance(this, axes, options); }
  /** The largest value over one dim or an array of dims (all when omitted), like torch.amax. */
  max(axes?: number | readonly number[], keepdim = false): Tensor { return reduce.max(this, axes, keepdim); }
  /** The smallest value over one dim or an array of dims (all when omitted), like torch.amin. */
  min(axes?: number | readonly number[], keepdim = false): Tensor { return reduce.min(this, axes, keepdim); }
  /** Index of the largest element along `axis` (of the flattened tensor when omitted), as int32, like torch.argmax. */
  argmax(axis?: number, keepdim = false): Tensor { return reduce.argmax(this, axis, keepdim); }
  /** Softmax along `axis`: exp(x) / Σ exp(x), computed stably. */
  softmax(axis: number): Tensor { return softmax(this, axis); }
  /** log(softmax(x)) along `axis`, computed stably. */
  logSoftmax(axis: number): Tensor { return logSoftmax(this, axis); }
  /** The matrix product with `other`, as torch.matmul. */
  matmul(other: Tensor): Tensor { return matmul(this, other); }

  // The methods that take a shape or dims take them as PyTorch does: separate numbers, `x.reshape(2, -1)`,
  // or one array, `x.reshape([2, -1])`.

  /** The same elements in a new shape, `x.reshape(2, -1)` or `x.reshape([2, -1])`; one size may be -1. */
  reshape(...shape: number[]): Tensor;
  reshape(shape: Shape): Tensor;
  reshape(...args: (number | Shape)[]): Tensor { return views.reshape(this, sizesFromArgs('reshape', 'sizes', args)); }
  /** reshape under PyTorch's other name: `x.view(2, -1)` or `x.view([2, -1])` (a copy when strides need one). */
  view(...shape: number[]): Tensor;
  view(shape: Shape): Tensor;
  view(...args: (number | Shape)[]): Tensor { return views.reshape(this, sizesFromArgs('view', 'sizes', args)); }
  /** Dims startDim…endDim merged into one (all by default), as torch.flatten; a view when the strides allow. */
  flatten(startDim = 0, endDim = -1): Tensor { return views.flatten(this, startDim, endDim); }
  /** The dims reordered, as a view: `x.permute(2, 0, 1)` or `x.permute([2, 0, 1])`. */
  permute(...dims: number[]): Tensor;
  permute(dims: readonly number[]): Tensor;
  permute(...args: (number | readonly number[])[]): Tensor { return views.permute(this, sizesFromArgs('permute', 'dims', args)); }
  /** Dims `dim0` and `dim1` swapped, as a view (torch.transpose). */
  transpose(dim0: number, dim1: number): Tensor { return views.transpose(this, dim0, dim1); }
  /** Size-1 dims removed: all of them, or only `dim` (unchanged when it is not 1), as a view. */
  squeeze(dim?: number): Tensor { return views.squeeze(this, dim); }
  /** A size-1 dim inserted at `dim` (−1 appends), as a view (torch.unsqueeze). */
  unsqueeze(dim: number): Tensor { return views.unsqueeze(this, dim); }
  /** Broadcast to a shape as a view, `x.expand(4, -1, 3)` or `x.expand([4, -1, 3])`; -1 keeps a dim. */
  expand(...shape: number[]): Tensor;
  expand(shape: Shape): Tensor;
  expand(...args: (number | Shape)[]): Tensor { return views.expand(this, sizesFromArgs('expand', 'sizes', args)); }
  /** Copies laid side by side along each dim, `x.repeat(2, 3)` or `x.repeat([2, 3])`; at least ndim counts. */
  repeat(...repeats: number[]): Tensor;
  repeat(repeats: Shape): Tensor;
  repeat(...args: (number | Shape)[]): Tensor { return repeat(this, sizesFromArgs('repeat', 'sizes', args)); }
  /** torch.tile: `x.tile(2, 3)` or `x.tile([2, 3])`; fewer counts than dims apply to the last dims. */
  tile(...dims: number[]): Tensor;
  tile(dims: Shape): Tensor;
  tile(...args: (number | Shape)[]): Tensor { return tile(this, sizesFromArgs('tile', 'sizes', args)); }
  /** Reversed along some dims, as a view: `x.flip(0, 1)` or `x.flip([0, 1])`. */
  flip(...dims: number[]): Tensor;
  flip(dims: readonly number[]): Tensor;
  flip(...args: (number | readonly number[])[]): Tensor { return views.flip(this, sizesFromArgs('flip', 'dims', args)); }
  /** x[..., start:end:step, ...] along `dim` as a view, like Python slicing (negative indices count from the end). */
  slice(dim: number, start?: number, end?: number, step?: number): Tensor { return views.slice(this, dim, start, end, step); }
}

setTensorClass(Tensor);
