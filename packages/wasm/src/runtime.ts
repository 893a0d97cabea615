import { contiguousStrides, Tensor } from '@parcnet/tensor';
import { WasmHeap, type HeapStats } from './heap.js';
import { platform, wasmPath } from '#platform';

/**
 * The kernel module, instantiated on one WebAssembly.Memory by the platform adapter (synchronously
 * in Node, asynchronously in a browser), and the heap of blocks in that memory (heap.ts). Kernels
 * read inputs already in wasm memory in place and copy the others into scratch blocks; they write
 * their output into a block that becomes the output tensor's storage.
 */

export interface KernelExports extends ActivationExports, BatchNormExports, ConvImagesExports, WinogradExports, SpatialExports, ReductionExports {
  binaryArrays(a: number, b: number, y: number, count: number, op: number, blockStart: number, blockEnd: number): void;
  binaryStrided(
    a: number, b: number, y: number, op: number, s0: number, s1: number, s2: number, s3: number,
    a0: number, a1: number, a2: number, a3: number, b0: number, b1: number, b2: number, b3: number, rowsPerBlock: number, blockStart: number, blockEnd: number,
  ): void;
  copyView(view: number, array: number, s0: number, s1: number, s2: number, s3: number, s4: number, s5: number, t0: number, t1: number, t2: number, t3: number, t4: number, t5: number, intoView: number): void;
  sliceGrad(g: number, out: number, size: number, inner: number, start: number, step: number, length: number, outerStart: number, outerEnd: number): void;
  concatRows(table: number, count: number, out: number, total: number, inner: number, outerStart: number, outerEnd: number): void;
  zeroBytes(at: number, bytes: number): void;
  gemm(m: number, n: number, k: number, aPanels: number, bPanels: number, c: number, accumulate: number, scale: number, shift: number, act: number, panelStart: number, panelEnd: number): void;
  packRows(a: number, aRow: number, aCol: number, m: number, k: number, dst: number): void;
  packPanels(b: number, k: number, n: number, dst: number): void;
  packPanelsTransposed(src: number, n: number, k: number, dst: number): void;
  depthwise(x: number, w: number, y: number, c: number, h: number, wd: number, kh: number, kw: number, sh: number, sw: number, ph: number, pw: number, dh: number, dw: number, ho: number, wo: number, planeStart: number, planeEnd: number): void;
  depthwise3x3(x: number, w: number, y: number, c: number, h: number, wd: number, ho: number, wo: number, sh: number, sw: number, ph: number, pw: number, flip: number, scale: number, shift: number, act: number, scratch: number, scratchBytes: number, chunk: number, start: number, end: number): void;
  depthwise3x3BackpropInput(dy: number, w: number, dx: number, c: number, h: number, wd: number, ho: number, wo: number, sh: number, sw: number, ph: number, pw: number, scratch: number, scratchBytes: number, chunk: number, start: number, end: number): void;
  depthwise3x3ScratchBytes(kind: number, h: number, wd: number, ho: number, wo: number, sh: number, sw: number, ph: number, pw: number): number;
  invertedResidual(
    x: number, expPanels: number, expScale: number, expShift: number, expAct: number, dwWeight: number, dwScale: number, dwShift: number, dwAct: number,
    pwPanels: number, pwScale: number, pwShift: number, pwAct: number, residual: number, y: number,
    c: number, k: number, h: number, w: number, ho: number, wo: number, sh: number, sw: number, ph: number, pw: number, o: number,
    scratch: number, scratchBytes: number, chunk: number, imageStart: number, imageEnd: number,
  ): void;
  feedForward(
    x: number, inScale: number, inShift: number, w1Panels: number, scale1: number, shift1: number, act1: number,
    w2Panels: number, scale2: number, shift2: number, act2: number, y: number, c: number, f: number, o: number, pixels: number,
    scratch: number, scratchBytes: number, chunk: number, imageStart: number, imageEnd: number,
  ): void;
  feedForwardScratchBytes(c: number, f: number, pixels: number): number;
  invertedResidualScratchBytes(c: number, k: number, h: number, w: number, ho: number, wo: number, sh: number, sw: number, ph: number, pw: number): number;
  depthwise3x3BackpropFilterSlices(x: number, dy: number, partials: number, n: number, c: number, h: number, wd: number, ho: number, wo: number, sh: number, sw: number, ph: number, pw: number, sliceSize: number, scratch: number, scratchBytes: number, chunk: number, start: number, end: number): void;
  depthwiseBackpropInput(dy: number, w: number, dx: number, c: number, h: number, wd: number, kh: number, kw: number, sh: number, sw: number, ph: number, pw: number, dh: number, dw: number, ho: number, wo: number, planeStart: number, planeEnd: number): void;
  depthwiseBackpropFilter(x: number, dy: number, dw: number, n: number, c: number, h: number, wd: number, kh: number, kw: number, sh: number, sw: number, ph: number, pw: number, dh: number, dw2: number, ho: number, wo: number, chStart: number, chEnd: number): void;
  parcGather(x: number, xImage: number, kernel: number, offset: number, y: number, c: number, h: number, w: number, axisH: number, sign: number, scratch: number, scratchBytes: number, chunk: number, start: number, end: number): void;
  parcMixer(x: number, y: number, c: number, h: number, w: number, k1: number, o1: number, k2: number, o2: number, k3: number, o3: number, k4: number, o4: number, scratch: number, scratchBytes: number, chunk: number, start: number, end: number): void;
  parcConvBackpropKernelSlices(x: number, xImage: number, dy: number, dyImage: number, partials: number, n: number, c: number, h: number, w: number, axisH: number, sliceSize: number, scratch: number, scratchBytes: number, chunk: number, start: number, end: number): void;
  parcScratchBytes(kind: number, h: number, w: number): number;
  dropoutMask(y: number, count: number, keepBelow: number, scale: number, state: number): void;
  adamStep(p: number, g: number, m: number, v: number, count: number, beta1: number, beta2: number, eps: number, stepSize: number, biasCorrection2Sqrt: number, decay: number, l2: number): void;
}

const PAGE = 65536;
/** The first pages belong to the module (its stack and static data); the heap starts after them. */
const HEAP_BASE = 4 * PAGE;

export { wasmPath };

export const runtime = { memory: platform.kernels.memory, module: platform.kernels.module, exports: platform.kernels.instance.exports as unknown as KernelExports };
export const wasm = runtime.exports;

/**
 * The heap stops 256 MiB short of the memory's maximum (4 GiB in Node, 2 GiB in a page). Tensor
 * storage is capped at half of it, so scratch (im2col columns, packed operands, copied-in inputs)
 * always has room.
 */
const HEAP_END = platform.maxMemoryBytes - 256 * 2 ** 20;

export const heap = new WasmHeap(runtime.memory, HEAP_BASE, HEAP_END, platform.kernels.shared, platform.tensorLimit);

/** A scratch block of at least `bytes` (16-byte aligned), given back when the kernel returns. */
export function alloc(bytes: number): number {
  return heap.alloc(bytes);
}

/** Runs a kernel body with its scratch given back afterwards. */
export function scoped<T>(body: () => T): T {
  return heap.scoped(body);
}

export function f32(pointer: number, length: number): Float32Array {
  return heap.f32(pointer, length);
}

/**
 * Where a kernel reads a float32 tensor: in place when its storage already lies in wasm memory
 * (the output of an earlier kernel) and it is contiguous; otherwise a row-major copy in scratch,
 * gathered in wasm where possible. A strided or broadcast view of an ordinary array (a parameter
 * expanded over the batch) first copies just the storage it spans, which for a broadcast is small.
 */
export function copyIn(t: Tensor): number {
  const resident = heap.pointerOf(t.storage);
  if (resident >= 0 && t.isContiguous()) return resident + t.offset * 4;
  const at = alloc(t.size * 4);
  if (resident >= 0 && gatherInto(t, resident, at)) return at;
  if (t.isContiguous()) {
    f32(at, t.size).set(t.storage.subarray(t.offset, t.offset + t.size));
    return at;
  }
  const storageAt = t.shape.length <= 6 ? spanIn(t) : null;
  if (storageAt !== null) {
    gatherInto(t, storageAt, at);
    return at;
  }
  f32(at, t.size).set(t.contiguous().storage);
  return at;
}

/**
 * A float32 view as a kernel can read it in place: the address of its element 0 and its element
 * strides. Storage already in wasm memory is not copied; storage outside it is copied in, the span
 * the view reads when that is small (a broadcast stays a broadcast), else row-major.
 */
export function viewIn(t: Tensor): { at: number; strides: readonly number[] } {
  const resident = heap.pointerOf(t.storage);
  if (resident >= 0) return { at: resident + t.offset * 4, strides: t.strides };
  const storageAt = spanIn(t);
  if (storageAt !== null) return { at: storageAt + t.offset * 4, strides: t.strides };
  return { at: copyIn(t), strides: contiguousStrides(t.shape) };
}

/**
 * Copies into scratch the part of an ordinary array's storage a view reads, when that span is
 * under 4 × the view's size (a broadcast's is small), and returns where its storage index 0 would
 * lie; null for a larger span.
 */
function spanIn(t: Tensor): number | null {
  const [first, last] = storageSpan(t);
  if (last - first >= 4 * t.size) return null;
  const span = alloc((last - first + 1) * 4);
  f32(span, last - first + 1).set(t.storage.subarray(first, last + 1));
  return span - first * 4;
}

/** The first and last storage index a view reads (negative strides included). */
function storageSpan(t: Tensor): [number, number] {
  let first = t.offset;
  let last = t.offset;
  t.shape.forEach((d, i) => {
    const reach = (d - 1) * t.strides[i];
    if (reach < 0) first += reach;
    else last += reach;
  });
  return [first, last];
}

/**
 * Copies a strided float32 view of a tensor whose storage lies at `storageAt` in wasm memory into
 * row-major order at `at`, in wasm (up to 6 dimensions; false for more).
 */
export function gatherInto(t: Tensor, storageAt: number, at: number): boolean {
  return copyView(t.shape, t.strides, storageAt + t.offset * 4, at, false);
}

/**
 * Copies between a float32 view of `shape` at `viewAt` with element `strides` and a row-major array
 * at `arrayAt`, in wasm: into the array, or with `intoView` into the view (up to 6 dimensions;
 * false for more).
 */
export function copyView(shape: readonly number[], strides: readonly number[], viewAt: number, arrayAt: number, intoView: boolean): boolean {
  if (shape.length > 6) return false;
  const pad = 6 - shape.length;
  const sizes = [...Array<number>(pad).fill(1), ...shape] as [number, number, number, number, number, number];
  const steps = [...Array<number>(pad).fill(0), ...strides] as [number, number, number, number, number, number];
  wasm.copyView(viewAt, arrayAt, ...sizes, ...steps, intoView ? 1 : 0);
  return true;
}

/** Where a kernel writes an output of `length` float32s (zeroed for kernels that accumulate); `outputTensor` makes it a tensor. */
export function outputIn(length: number, zero = false): number {
  const at = heap.output(length);
  if (zero) zeroFloats(at, length);
  return at;
}

/**
 * Zeros `length` float32s at `at`, in wasm: a TypedArray's fill on the shared memory stores element
 * by element (7.7× as long; 2.1 ms of a training step when the kernels used it).
 */
export function zeroFloats(at: number, length: number): void {
  wasm.zeroBytes(at, length * 4);
}

/** The tensor of shape `shape` a kernel wrote at `pointer` (from `outputIn`): it keeps the block, or gets a copy past the limit. */
export function outputTensor(pointer: number, shape: readonly number[]): Tensor {
  return new Tensor(heap.adopt(pointer, shape.reduce((a, b) => a * b, 1)), shape);
}

/** Which build of the kernels runs: with shared memory (threads) and with relaxed SIMD (fused multiply-add). */
export function wasmBuild(): {
  /** The loaded module: a file path in Node, a URL in a browser (see {@link wasmPath}). */
  path: string;
  /** True when the memory is shared, so kernels can run on several threads. */
  shared: boolean;
  /** True for the relaxed-SIMD build (fused multiply-add). */
  relaxedSimd: boolean;
} {
  return { path: wasmPath, shared: platform.kernels.shared, relaxedSimd: platform.kernels.relaxed };
}

/** How the heap is used: tensor bytes held, blocks handed out and collected, outputs copied out. */
export function wasmHeapStats(): HeapStats {
  return { ...heap.stats };
}

/** Starts the peak of live bytes (`wasmHeapStats().peakLiveBytes`) again from what is live now, to measure one step's peak. */
export function resetWasmHeapPeak(): void {
  heap.resetPeak();
}

/** Sets the most tensor storage kept in wasm memory (bytes; 0 copies every output out, as before). */
export function setWasmTensorLimit(bytes: number): void {
  if (!(bytes >= 0) || bytes > HEAP_END / 2) throw new RangeError(`setWasmTensorLimit: expected 0 … ${HEAP_END / 2} bytes, got ${bytes}`);
  heap.tensorLimit = platform.kernels.shared ? bytes : 0;
}

/** assembly/winograd.ts: F(2×2, 3×3) transforms, their adjoints and the 16 GEMMs. */
export interface WinogradExports {
  winogradInput(
    x: number, c: number, h: number, w: number, ph: number, pw: number, th: number, tw: number, tiles: number, v: number, block: number, layout: number,
    scratch: number, scratchBytes: number, chunk: number, start: number, end: number,
  ): void;
  winogradGradOutput(dy: number, o: number, ho: number, wo: number, th: number, tw: number, tiles: number, dm: number, block: number, layout: number, start: number, end: number): void;
  winogradGemms(m: number, n: number, k: number, a: number, aBlock: number, b: number, bBlock: number, c: number, cBlock: number, start: number, end: number): void;
  winogradOutput(mm: number, block: number, o: number, ho: number, wo: number, th: number, tw: number, tiles: number, y: number, scale: number, shift: number, act: number, start: number, end: number): void;
  winogradInputAdjoint(
    dv: number, block: number, c: number, h: number, w: number, ph: number, pw: number, th: number, tw: number, tiles: number, dx: number,
    scratch: number, scratchBytes: number, chunk: number, start: number, end: number,
  ): void;
  winogradFilter(g: number, o: number, c: number, u: number, block: number, transposed: number, start: number, end: number): void;
  winogradFilterAdjoint(du: number, block: number, o: number, c: number, dw: number, start: number, end: number): void;
  winogradScratchBytes(th: number, tw: number): number;
}

export interface ConvImagesExports {
  packBatchPanels(src: number, rows: number, pixels: number, images: number, dst: number): void;
  packBatchTransposed(src: number, rows: number, pixels: number, images: number, width: number, dst: number): void;
  unbatchColumns(c: number, rows: number, pixels: number, images: number, dst: number): void;
  convImages(
    x: number, wPanels: number, y: number, scratch: number, scratchBytes: number, chunk: number, c: number, o: number, groups: number,
    h: number, wd: number, kh: number, kw: number, sh: number, sw: number, ph: number, pw: number, dh: number, dw: number, ho: number, wo: number,
    scale: number, shift: number, act: number, imageStart: number, imageEnd: number,
  ): void;
  convBackpropInputImages(
    dy: number, wtPanels: number, dx: number, scratch: number, scratchBytes: number, chunk: number, c: number, o: number, groups: number,
    h: number, wd: number, kh: number, kw: number, sh: number, sw: number, ph: number, pw: number, dh: number, dw: number, ho: number, wo: number,
    imageStart: number, imageEnd: number,
  ): void;
  convBackpropFilterImages(
    x: number, dy: number, partials: number, partialBytes: number, scratch: number, scratchBytes: number, chunk: number, slice: number, imageCount: number,
    c: number, o: number, groups: number, h: number, wd: number, kh: number, kw: number, sh: number, sw: number, ph: number, pw: number, dh: number, dw: number, ho: number, wo: number,
    sliceStart: number, sliceEnd: number,
  ): void;
}

export interface SpatialExports {
  avgPool(x: number, y: number, h: number, w: number, ho: number, wo: number, kh: number, kw: number, sh: number, sw: number, ph: number, pw: number, includePad: number, planeStart: number, planeEnd: number): void;
  avgPoolGrad(g: number, dx: number, h: number, w: number, ho: number, wo: number, kh: number, kw: number, sh: number, sw: number, ph: number, pw: number, includePad: number, planeStart: number, planeEnd: number): void;
  maxPool(x: number, y: number, indices: number, h: number, w: number, ho: number, wo: number, kh: number, kw: number, sh: number, sw: number, ph: number, pw: number, planeStart: number, planeEnd: number): void;
  maxPoolGrad(g: number, indices: number, dx: number, hw: number, outPixels: number, planeStart: number, planeEnd: number): void;
  adaptiveAvgPool(x: number, y: number, h: number, w: number, ho: number, wo: number, planeStart: number, planeEnd: number): void;
  adaptiveAvgPoolGrad(g: number, dx: number, h: number, w: number, ho: number, wo: number, planeStart: number, planeEnd: number): void;
  resizeBilinear(x: number, y: number, h: number, w: number, ho: number, wo: number, rowTaps: number, colTaps: number, planeStart: number, planeEnd: number): void;
  resizeBilinearGrad(g: number, dx: number, h: number, w: number, ho: number, wo: number, rowTaps: number, colTaps: number, planeStart: number, planeEnd: number): void;
}

export interface ReductionExports {
  sumReduce(x: number, y: number, acc: number, a: number, k: number, b: number, kStart: number, kEnd: number): void;
  sumReduceSplit(x: number, y: number, acc: number, a: number, k: number, m: number, j: number, b: number, kStart: number, kEnd: number): void;
  sliceTotals(partials: number, slices: number, count: number, dst: number): void;
  softmax(x: number, y: number, length: number, inner: number, mode: number, outerStart: number, outerEnd: number): void;
  softmaxGrad(y: number, g: number, dx: number, length: number, inner: number, mode: number, outerStart: number, outerEnd: number): void;
}

export interface BatchNormExports {
  bnStats(x: number, xImage: number, n: number, c: number, s: number, planeSums: number, byImages: number, start: number, end: number): void;
  bnStatsTotal(n: number, c: number, s: number, planeSums: number, mean: number, variance: number): void;
  bnApply(x: number, xImage: number, y: number, n: number, c: number, s: number, scale: number, shift: number, act: number, byImages: number, start: number, end: number): void;
  bnBackwardSums(
    x: number, xImage: number, g: number, gImage: number, dx: number, n: number, c: number, s: number, mean: number, invstd: number, weight: number, bias: number, act: number,
    planeSums: number, byImages: number, start: number, end: number,
  ): void;
  bnBackwardTotal(n: number, c: number, s: number, planeSums: number, batchStats: number, dweight: number, dbias: number, corrections: number): void;
  bnBackwardApply(
    x: number, xImage: number, dz: number, dzImage: number, dx: number, n: number, c: number, s: number, mean: number, invstd: number, weight: number, corrections: number, byImages: number, start: number, end: number,
  ): void;
}

export interface ActivationExports {
  silu(x: number, y: number, count: number, blockStart: number, blockEnd: number): void;
  siluGrad(x: number, g: number, dx: number, count: number, blockStart: number, blockEnd: number): void;
  sigmoid(x: number, y: number, count: number, blockStart: number, blockEnd: number): void;
  sigmoidGrad(y: number, g: number, dx: number, count: number, blockStart: number, blockEnd: number): void;
  hardswish(x: number, y: number, count: number, blockStart: number, blockEnd: number): void;
  hardswishGrad(x: number, g: number, dx: number, count: number, blockStart: number, blockEnd: number): void;
  hardsigmoid(x: number, y: number, count: number, blockStart: number, blockEnd: number): void;
  hardsigmoidGrad(x: number, g: number, dx: number, count: number, blockStart: number, blockEnd: number): void;
}

export function f64(pointer: number, length: number): Float64Array {
  return new Float64Array(runtime.memory.buffer, pointer, length);
}

/** The current size of the wasm memory in bytes (the heap's high-water mark, rounded to pages). */
export function wasmMemoryBytes(): number {
  return runtime.memory.buffer.byteLength;
}
