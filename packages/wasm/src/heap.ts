import { manageStorage } from '@parcnet/tensor';

/**
 * Blocks of wasm memory, reused. Everything above the module's own pages is handed out in blocks
 * (best fit over free blocks merged with their neighbours, sizes rounded to 64 bytes). A block is either
 * scratch, given back when the kernel that took it returns (`scoped`), or the storage of a tensor
 * a kernel produced. A tensor block is managed storage (`@parcnet/tensor`'s memory.ts): it comes
 * back the moment the last tensor on it is disposed — by a `tidy` scope around a step, by the
 * autograd engine as backward consumes gradients, or explicitly. A block whose tensors were simply
 * dropped comes back when the collector finds its storage (a FinalizationRegistry, the safety net,
 * counted in `tensorBlocksFreed`); finalizers never run inside a synchronous loop.
 *
 * Tensor storage is capped (`tensorLimit`): past it, kernels copy their outputs out to ordinary
 * typed arrays. Memory that is not shared is never used for tensors: growing it would detach every
 * view on it.
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
  /** Tensor blocks given back when their last tensor was disposed. */
  tensorBlocksReleased: number;
  /** Tensor blocks given back by the safety net, after their storage was garbage-collected undisposed. */
  tensorBlocksFreed: number;
  /** Kernel outputs copied out because the tensor limit was reached. */
  copiedOut: number;
  /** The high-water mark of the heap, in bytes from its base (the wasm memory never shrinks). */
  heapBytes: number;
  /** Bytes asked for by the tensors and scratch held now (before rounding to size classes). */
  liveBytes: number;
  /** The most `liveBytes` has been since the process started or the last `resetWasmHeapPeak()`. */
  peakLiveBytes: number;
}

/** A tensor's block: where, its size class, the bytes asked for, and whether it went back already. */
interface TensorBlock {
  readonly at: number;
  readonly size: number;
  readonly bytes: number;
  returned: boolean;
}

export class WasmHeap {
  private top: number;
  /** Free blocks in address order (where and how big), neighbours always merged. */
  private readonly freeAt: number[] = [];
  private readonly freeSize: number[] = [];
  private readonly scratch: { at: number; size: number; bytes: number }[] = [];
  /** Output blocks handed out by `output` and not yet adopted as a tensor's storage: their size and bytes asked for. */
  private readonly pendingOutputs = new Map<number, { size: number; bytes: number }>();
  /** The ArrayBuffer objects of this memory (a shared memory gives a new one after each grow; old ones stay valid). */
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  private readonly registry = new FinalizationRegistry<TensorBlock>((block) => {
    if (block.returned) return;
    this.stats.tensorBlocksFreed++;
    this.giveTensorBlock(block);
  });
  readonly stats: HeapStats = {
    tensorBytes: 0, tensorBlocks: 0, tensorBlocksReleased: 0, tensorBlocksFreed: 0, copiedOut: 0, heapBytes: 0, liveBytes: 0, peakLiveBytes: 0,
  };
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

  /** The block size a request of `bytes` is served from: with the slack, rounded up to 64 bytes (cache lines; SIMD alignment). */
  static blockSize(bytes: number): number {
    return Math.max(64, Math.ceil((bytes + SLACK) / 64) * 64);
  }

  /**
   * A block of `size` bytes: the best-fitting free block (split when the rest is worth keeping),
   * else new at the top. A training step asks for the same sizes in the same order every time, so
   * best fit over coalesced free blocks keeps the high-water mark near the step's live peak, where
   * per-size free lists kept the peak of every size at once.
   */
  private take(size: number): { at: number; size: number } {
    let best = -1;
    for (let i = 0; i < this.freeSize.length; i++) {
      const free = this.freeSize[i];
      if (free >= size && (best < 0 || free < this.freeSize[best])) {
        best = i;
        if (free === size) break;
      }
    }
    if (best >= 0) {
      const at = this.freeAt[best];
      const rest = this.freeSize[best] - size;
      if (rest >= 64) {
        this.freeAt[best] += size;
        this.freeSize[best] = rest;
        return { at, size };
      }
      this.freeAt.splice(best, 1);
      this.freeSize.splice(best, 1);
      return { at, size: size + rest };
    }
    // A free block that ends at the top grows into the new one rather than being left behind.
    const last = this.freeAt.length - 1;
    const at = last >= 0 && this.freeAt[last] + this.freeSize[last] === this.top ? this.freeAt[last] : this.top;
    if (at + size > this.end) {
      throw new RangeError(`@parcnet/wasm: out of wasm memory: ${size} bytes wanted, ${this.stats.heapBytes} in use by the heap (${this.stats.liveBytes} live, ${this.stats.tensorBytes} held by tensors)`);
    }
    if (at !== this.top) {
      this.freeAt.pop();
      this.freeSize.pop();
    }
    this.top = at + size;
    this.stats.heapBytes = Math.max(this.stats.heapBytes, this.top - this.base);
    const have = this.memory.buffer.byteLength;
    if (this.top > have) {
      this.memory.grow(Math.ceil((this.top - have) / PAGE));
      this.buffers.add(this.memory.buffer);
    }
    return { at, size };
  }

  /** Whether a block of `size` bytes can be had without passing the heap's end. */
  private canTake(size: number): boolean {
    if (this.top + size <= this.end) return true;
    return this.freeSize.some((free) => free >= size);
  }

  /** Returns a block to the free list, merged with free neighbours; a free block at the top lowers the top. */
  private give(at: number, size: number): void {
    let lo = 0;
    let hi = this.freeAt.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.freeAt[mid] < at) lo = mid + 1;
      else hi = mid;
    }
    let index = lo;
    if (index > 0 && this.freeAt[index - 1] + this.freeSize[index - 1] === at) {
      index--;
      this.freeSize[index] += size;
    } else {
      this.freeAt.splice(index, 0, at);
      this.freeSize.splice(index, 0, size);
    }
    const next = index + 1;
    if (next < this.freeAt.length && this.freeAt[index] + this.freeSize[index] === this.freeAt[next]) {
      this.freeSize[index] += this.freeSize[next];
      this.freeAt.splice(next, 1);
      this.freeSize.splice(next, 1);
    }
    if (index === this.freeAt.length - 1 && this.freeAt[index] + this.freeSize[index] === this.top) {
      this.top = this.freeAt[index];
      this.freeAt.pop();
      this.freeSize.pop();
    }
  }

  private addLive(bytes: number): void {
    this.stats.liveBytes += bytes;
    if (this.stats.liveBytes > this.stats.peakLiveBytes) this.stats.peakLiveBytes = this.stats.liveBytes;
  }

  /** Starts the peak of live bytes again from what is live now (to measure one step's peak). */
  resetPeak(): void {
    this.stats.peakLiveBytes = this.stats.liveBytes;
  }

  private giveTensorBlock(block: TensorBlock): void {
    block.returned = true;
    this.stats.tensorBytes -= block.size;
    this.stats.liveBytes -= block.bytes;
    this.give(block.at, block.size);
  }

  /** A scratch block of at least `bytes` (16-byte aligned), given back when the enclosing `scoped` ends. */
  alloc(bytes: number): number {
    const block = this.take(WasmHeap.blockSize(bytes));
    this.scratch.push({ ...block, bytes });
    this.addLive(bytes);
    return block.at;
  }

  /** Runs a kernel body; the scratch blocks it took, and outputs it did not adopt (it threw), are given back afterwards. */
  scoped<T>(body: () => T): T {
    const mark = this.scratch.length;
    try {
      return body();
    } finally {
      for (let i = this.scratch.length - 1; i >= mark; i--) {
        this.give(this.scratch[i].at, this.scratch[i].size);
        this.stats.liveBytes -= this.scratch[i].bytes;
      }
      this.scratch.length = mark;
      if (mark === 0) {
        for (const [at, { size, bytes }] of this.pendingOutputs) {
          this.stats.tensorBytes -= size;
          this.stats.liveBytes -= bytes;
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
    const size = WasmHeap.blockSize(length * 4);
    if (this.stats.tensorBytes + size > this.tensorLimit || !this.canTake(size)) {
      this.stats.copiedOut++;
      return this.alloc(length * 4);
    }
    const block = this.take(size);
    this.stats.tensorBytes += block.size;
    this.stats.tensorBlocks++;
    this.pendingOutputs.set(block.at, { size: block.size, bytes: length * 4 });
    this.addLive(length * 4);
    return block.at;
  }

  /**
   * The float32 storage for an output block from `output`: a view that owns the block (managed
   * storage: it comes back when its last tensor is disposed, or at the latest when the view is
   * collected), or a copy of a scratch block.
   */
  adopt(at: number, length: number): Float32Array {
    const view = this.f32(at, length);
    const pending = this.pendingOutputs.get(at);
    if (pending === undefined) return view.slice();
    this.pendingOutputs.delete(at);
    const block: TensorBlock = { at, size: pending.size, bytes: pending.bytes, returned: false };
    this.registry.register(view, block, block);
    manageStorage(view, () => {
      this.registry.unregister(block);
      this.stats.tensorBlocksReleased++;
      this.giveTensorBlock(block);
    });
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
