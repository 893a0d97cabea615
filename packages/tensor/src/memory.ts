import type { TypedArray } from './dtype.js';
import { ParcnetError } from './errors.js';
import type { Tensor } from './tensor.js';

/**
 * When tensor memory goes back. JavaScript frees an object only when the collector finds it
 * unreachable, which for kernel outputs in wasm memory is far too late: a training step would grow
 * the heap by its whole working set each time. So storage that a backend hands out from its own
 * memory (the wasm heap) is *managed*: it counts the tensors that stand on it (views share it), and
 * goes back to the backend the moment that count reaches zero. A tensor gives up its count when it
 * is disposed: explicitly (`dispose`), by the end of the scope it was made in (`tidy`,
 * `startScope`), or by the autograd engine once backward has consumed an intermediate gradient.
 *
 * A disposed tensor has no storage: any later use of it (reading values, a view, an op, a kernel,
 * backward through a graph that saved it) throws a {@link DisposedTensorError} naming the op that
 * made it. A typed array whose memory went back cannot be wrapped in a new tensor either, so no
 * tensor ever reads recycled memory. Storage nobody manages (ordinary typed arrays) is left to the
 * collector; disposing a tensor on it still marks the tensor disposed.
 *
 * Scopes track the tensors made on managed storage while they are open. At its end a scope
 * disposes them all except what it returns (handed to the enclosing scope), what was `keep`-ed,
 * and leaves that require a gradient (parameters). In-place updates of parameters, buffers,
 * optimiser state and EMA weights write into storage made outside the scope, so they survive.
 */

/** A managed storage's record: how many live tensors stand on it, and how to give it back. */
interface ManagedStorage {
  refs: number;
  released: boolean;
  readonly release: () => void;
}

const managed = new WeakMap<TypedArray, ManagedStorage>();

/** Counts of managed storage, as {@link memoryStats} reports them; they run since the process started. */
export interface MemoryStats {
  /** Managed storages handed out by backends. */
  managed: number;
  /** Managed storages given back when their last tensor was disposed. */
  released: number;
  /** Tensors disposed (explicitly, by a scope, or by the autograd engine). */
  disposed: number;
}

const stats: MemoryStats = { managed: 0, released: 0, disposed: 0 };

/** Counts of managed storage since the process started (the backend's own stats say how much memory is held). */
export function memoryStats(): MemoryStats {
  return { ...stats };
}

/**
 * For backends: `storage` (a view on the backend's memory) goes back through `release` as soon as
 * no live tensor stands on it. A storage no tensor ever takes stays until the backend's own safety
 * net (its finalizer) collects it.
 */
export function manageStorage(storage: TypedArray, release: () => void): void {
  managed.set(storage, { refs: 0, released: false, release });
  stats.managed++;
}

/** Thrown when a tensor is used after its memory went back. */
export class DisposedTensorError extends ParcnetError {}

/** A tensor stands on `storage` now: count it, and track it in the open scope when `track`. Throws for storage that went back. */
export function retainStorage(tensor: Tensor, storage: TypedArray, track: boolean): boolean {
  const record = managed.get(storage);
  if (record === undefined) return false;
  if (record.released) {
    throw new DisposedTensorError(
      `a tensor of shape [${tensor.shape.join(', ')}] was made on storage whose memory was already released (a typed array kept from a disposed tensor); keep() or return a tensor from its scope to use its data later`,
    );
  }
  record.refs++;
  if (track && scopes.length > 0) scopes[scopes.length - 1].add(tensor);
  return true;
}

/** A tensor no longer stands on `storage`; the storage goes back when it was the last one. */
export function releaseStorage(storage: TypedArray): void {
  const record = managed.get(storage);
  if (record === undefined || record.released) return;
  if (--record.refs > 0) return;
  record.released = true;
  stats.released++;
  record.release();
}

/** Tensor.dispose counts itself here (memoryStats().disposed). */
export function countDisposed(): void {
  stats.disposed++;
}

const scopes: Set<Tensor>[] = [];
const kept = new WeakSet<Tensor>();

/**
 * A scope, opened by {@link startScope}: tensors made on managed storage until `end` are disposed
 * then, except the ones `end` is given.
 */
export interface MemoryScope {
  /**
   * Closes the scope: disposes every tensor made in it except those found in `result` (a tensor,
   * or arrays and plain objects holding tensors, searched deeply), which pass to the enclosing
   * scope. Scopes close innermost first.
   */
  end(result?: unknown): void;
}

/** Opens a scope; prefer {@link tidy}, which also closes it when the body throws. */
export function startScope(): MemoryScope {
  const tracked = new Set<Tensor>();
  scopes.push(tracked);
  let open = true;
  return {
    end(result?: unknown): void {
      if (!open) return;
      if (scopes[scopes.length - 1] !== tracked) throw new Error('MemoryScope.end: an inner scope is still open; scopes close innermost first');
      open = false;
      scopes.pop();
      const survivors = new Set<Tensor>();
      collectTensors(result, survivors, new Set());
      const parent = scopes.length > 0 ? scopes[scopes.length - 1] : null;
      for (const tensor of tracked) {
        if (tensor.isDisposed) continue;
        if (survivors.has(tensor)) parent?.add(tensor);
        else if (!kept.has(tensor) && !(tensor.isLeaf && tensor.requiresGrad)) tensor.dispose();
      }
    },
  };
}

/**
 * Runs `fn` and disposes every tensor it made on managed storage (kernel outputs in wasm memory),
 * except what it returns and what it `keep`s, as tfjs's `tidy`. Wrap a training step in it, so
 * its activations, saved tensors and gradients go back when the step ends. Parameters (leaves
 * that require a gradient) and anything updated in place survive. `fn` must be synchronous: a
 * scope open across an `await` would take in tensors made by other tasks meanwhile.
 */
export function tidy<T>(fn: () => T): T {
  const scope = startScope();
  let result: T | undefined;
  try {
    result = fn();
    if (result instanceof Promise) throw new Error('tidy: the body returned a Promise; tidy runs synchronous code only (use startScope/end around awaited work that makes no tensors meanwhile)');
    return result;
  } finally {
    scope.end(result);
  }
}

/** Marks `tensor` to outlive every scope it was made in (it is then disposed only explicitly or by the collector). */
export function keep<T extends Tensor>(tensor: T): T {
  kept.add(tensor);
  return tensor;
}

/**
 * Gives back the memory of `value`: a tensor, or arrays and plain objects holding tensors (searched
 * deeply). A disposed tensor throws on any later use; disposing twice does nothing.
 */
export function dispose(value: unknown): void {
  const found = new Set<Tensor>();
  collectTensors(value, found, new Set());
  for (const tensor of found) tensor.dispose();
}

function collectTensors(value: unknown, into: Set<Tensor>, seen: Set<object>): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (isTensor(value)) {
    into.add(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value) collectTensors(item, into, seen);
    return;
  }
  if (value instanceof Map) {
    for (const item of value.values()) collectTensors(item, into, seen);
    return;
  }
  const proto = Object.getPrototypeOf(value) as object | null;
  if (proto === Object.prototype || proto === null) for (const item of Object.values(value)) collectTensors(item, into, seen);
}

let tensorClass: (abstract new (...args: never[]) => Tensor) | null = null;

/** `Tensor` registers itself here (this module cannot import it without a cycle). */
export function setTensorClass(cls: abstract new (...args: never[]) => Tensor): void {
  tensorClass = cls;
}

function isTensor(value: object): value is Tensor {
  return tensorClass !== null && value instanceof tensorClass;
}
