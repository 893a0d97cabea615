/**
 * Blocks of wasm memory, reused. Everything above the module's own pages is handed out in blocks
 * of a few size classes (powers of two and 1.5× powers of two, at least 64 bytes). A block is either
 * scratch, given back when the kernel that took it returns (`scoped`), or the storage of a tensor
 * a kernel produced, given back when that storage is garbage-collected (a FinalizationRegistry).
 *
 * JavaScript cannot free a tensor when its last reference goes, so tensor blocks come back only
 * after a collection, and then only between tasks (finalizers never run inside a synchronous loop).
 * So tensor storage is capped (`tensorLimit`): past it, kernels copy their outputs out to ordinary
 * typed arrays as before, which also makes V8 collect sooner. Memory that is not shared is never
 * used for tensors: growing it would detach every view on it.
 *
 * A block lives as long as its storage object: tensor views share that object, so they keep it.
 * Wrapping a `subarray` of a resident storage in a new Tensor would not, and is not done anywhere.
 */

const PAGE = 65536;
/** Every block ends with this much slack, so a SIMD load of a tensor's last partial vector stays inside it. */
const SLACK = 16;

/** How the wasm heap is used, as {@link wasmHeapStats} reports it; the counts run since the process started. */
export interface HeapStats {
  /** Bytes in blocks held by tensors now. */
  tensorBytes: number;
  /** Tensor blocks handed out. */
  tensorBlocks: number;
  /** Tensor blocks given back after their storage was garbage-collected. */
  tensorBlocksFreed: number;
  /** Kernel outputs copied out because the tensor limit was reached. */
  copiedOut: number;
  /** The high-water mark of the heap, in bytes from its base. */
  heapBytes: number;
}

export class WasmHeap {
  private top: number;
  /** Free blocks by size; a block always goes back to the list of its own size. */
  private readonly freeBlocks = new Map<number, number[]>();
  private readonly scratch: { at: number; size: number }[] = [];
  /** Output blocks handed out by `output` and not yet adopted as a tensor's storage. */
  private readonly pendingOutputs = new Map<number, number>();
  /** The ArrayBuffer objects of this memory (a shared memory gives a new one after each grow; old ones stay valid). */
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  private readonly registry = new FinalizationRegistry<{ at: number; size: number }>(({ at, size }) => {
    this.stats.tensorBytes -= size;
    this.stats.tensorBlocksFreed++;
    this.give(at, size);
  });
  readonly stats: HeapStats = { tensorBytes: 0, tensorBlocks: 0, tensorBlocksFreed: 0, copiedOut: 0, heapBytes: 0 };
  /** The most tensor storage kept in wasm memory, in bytes (0 turns tensor storage in wasm memory off). */
  tensorLimit: number;

  /**
   * @param base the first byte the heap may use
   * @param end the heap never grows past this byte (below the memory's maximum, with room for scratch)
   */
  constructor(private readonly memory: WebAssembly.Memory, private readonly base: number, private readonly end: number, shared: boolean, tensorLimit: number) {
    this.top = base;
    this.tensorLimit = shared ? tensorLimit : 0;
    this.buffers.add(memory.buffer);
  }

  /** The size class a request of `bytes` is served from. */
  static sizeClass(bytes: number): number {
    const need = Math.max(64, bytes + SLACK);
    const power = 2 ** Math.ceil(Math.log2(need));
    return power * 0.75 >= need ? power * 0.75 : power;
  }

  /** A free block of `size` bytes or more: reused, else new at the top, else the smallest larger free one. */
  private take(size: number): { at: number; size: number } {
    const reused = this.freeBlocks.get(size)?.pop();
    if (reused !== undefined) return { at: reused, size };
    if (this.top + size <= this.end) {
      const at = this.top;
      this.top += size;
      this.stats.heapBytes = this.top - this.base;
      const have = this.memory.buffer.byteLength;
      if (this.top > have) {
        this.memory.grow(Math.ceil((this.top - have) / PAGE));
        this.buffers.add(this.memory.buffer);
      }
      return { at, size };
    }
    const larger = [...this.freeBlocks.entries()].filter(([s, list]) => s > size && list.length > 0).sort((a, b) => a[0] - b[0])[0];
    if (larger) return { at: larger[1].pop()!, size: larger[0] };
    throw new RangeError(`@parcnet/wasm: out of wasm memory: ${size} bytes wanted, ${this.stats.heapBytes} in use by the heap (${this.stats.tensorBytes} held by tensors)`);
  }

  private give(at: number, size: number): void {
    let list = this.freeBlocks.get(size);
    if (!list) this.freeBlocks.set(size, (list = []));
    list.push(at);
  }

  /** A scratch block of at least `bytes` (16-byte aligned), given back when the enclosing `scoped` ends. */
  alloc(bytes: number): number {
    const block = this.take(WasmHeap.sizeClass(bytes));
    this.scratch.push(block);
    return block.at;
  }

  /** Runs a kernel body; the scratch blocks it took, and outputs it did not adopt (it threw), are given back afterwards. */
  scoped<T>(body: () => T): T {
    const mark = this.scratch.length;
    try {
      return body();
    } finally {
      for (let i = this.scratch.length - 1; i >= mark; i--) this.give(this.scratch[i].at, this.scratch[i].size);
      this.scratch.length = mark;
      if (mark === 0) {
        for (const [at, size] of this.pendingOutputs) {
          this.stats.tensorBytes -= size;
          this.give(at, size);
        }
        this.pendingOutputs.clear();
      }
    }
  }

  /**
   * A block for a kernel's output of `length` float32s: a tensor block when the limit allows (the
   * storage `adopt` makes from it then owns it), else a scratch block whose contents `adopt` copies out.
   */
  output(length: number): number {
    const size = WasmHeap.sizeClass(length * 4);
    if (this.stats.tensorBytes + size > this.tensorLimit || (this.top + size > this.end && !this.freeBlocks.get(size)?.length)) {
      this.stats.copiedOut++;
      return this.alloc(length * 4);
    }
    const block = this.take(size);
    this.stats.tensorBytes += block.size;
    this.stats.tensorBlocks++;
    this.pendingOutputs.set(block.at, block.size);
    return block.at;
  }

  /** The float32 storage for an output block from `output`: a view that owns the block, or a copy of a scratch block. */
  adopt(at: number, length: number): Float32Array {
    const view = this.f32(at, length);
    const size = this.pendingOutputs.get(at);
    if (size === undefined) return view.slice();
    this.pendingOutputs.delete(at);
    this.registry.register(view, { at, size });
    return view;
  }

  /** Where `storage` lies in wasm memory, or -1 when it is an ordinary typed array. */
  pointerOf(storage: ArrayBufferView): number {
    return this.buffers.has(storage.buffer) ? storage.byteOffset : -1;
  }

  f32(at: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, at, length);
  }

  i32(at: number, length: number): Int32Array {
    return new Int32Array(this.memory.buffer, at, length);
  }
}
