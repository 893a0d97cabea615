import type { Tensor } from '@parcnet/tensor';
import { platform } from '#platform';

/**
 * The kernel module, instantiated on one WebAssembly.Memory by the platform adapter (synchronously
 * in Node, asynchronously in a browser), and a scratch arena in that memory. Kernels copy their
 * inputs in, run, and copy the output out; the arena is rewound after every kernel, so nothing
 * accumulates between calls.
 */

export interface KernelExports extends ActivationExports, BatchNormExports, ConvImagesExports {
  gemm(m: number, n: number, k: number, a: number, aRow: number, aCol: number, b: number, c: number, rowStart: number, rowEnd: number): void;
  transpose(src: number, rows: number, cols: number, dst: number): void;
  im2col(x: number, c0: number, cg: number, h: number, w: number, kh: number, kw: number, sh: number, sw: number, ph: number, pw: number, dh: number, dw: number, ho: number, wo: number, cols: number): void;
  depthwise(x: number, w: number, y: number, c: number, h: number, wd: number, kh: number, kw: number, sh: number, sw: number, ph: number, pw: number, dh: number, dw: number, ho: number, wo: number, planeStart: number, planeEnd: number): void;
  depthwiseBackpropInput(dy: number, w: number, dx: number, c: number, h: number, wd: number, kh: number, kw: number, sh: number, sw: number, ph: number, pw: number, dh: number, dw: number, ho: number, wo: number, planeStart: number, planeEnd: number): void;
  depthwiseBackpropFilter(x: number, dy: number, dw: number, n: number, c: number, h: number, wd: number, kh: number, kw: number, sh: number, sw: number, ph: number, pw: number, dh: number, dw2: number, ho: number, wo: number, chStart: number, chEnd: number): void;
  parcConv(x: number, kernel: number, y: number, c: number, h: number, w: number, axisH: number, planeStart: number, planeEnd: number): void;
  parcConvBackpropInput(dy: number, kernel: number, dx: number, c: number, h: number, w: number, axisH: number, planeStart: number, planeEnd: number): void;
  parcConvBackpropKernel(x: number, dy: number, dk: number, n: number, c: number, h: number, w: number, axisH: number, chStart: number, chEnd: number): void;
}

const PAGE = 65536;
/** The first pages belong to the module (its stack and static data); the arena starts after them. */
const ARENA_BASE = 4 * PAGE;

export { wasmPath } from '#platform';

export const runtime = { memory: platform.kernels.memory, module: platform.kernels.module, exports: platform.kernels.instance.exports as unknown as KernelExports };
export const wasm = runtime.exports;

let top = ARENA_BASE;

/** Reserves `bytes` (16-byte aligned) in the arena, growing the memory when needed. */
export function alloc(bytes: number): number {
  const at = (top + 15) & ~15;
  top = at + bytes;
  const have = runtime.memory.buffer.byteLength;
  if (top > have) runtime.memory.grow(Math.ceil((top - have) / PAGE));
  return at;
}

/** Runs a kernel body with the arena rewound afterwards. */
export function scoped<T>(body: () => T): T {
  const saved = top;
  try {
    return body();
  } finally {
    top = saved;
  }
}

export function f32(pointer: number, length: number): Float32Array {
  return new Float32Array(runtime.memory.buffer, pointer, length);
}

/** Copies a float32 tensor (any strides) into the arena, row-major; the buffer is padded to 4 elements. */
export function copyIn(t: Tensor): number {
  const at = alloc(Math.ceil(t.size / 4) * 16);
  const source = t.isContiguous() ? t.storage.subarray(t.offset, t.offset + t.size) : t.contiguous().storage;
  f32(at, t.size).set(source);
  return at;
}

/** A zeroed float32 buffer of `length` elements in the arena. */
export function zerosIn(length: number): number {
  const at = alloc(Math.ceil(length / 4) * 16);
  f32(at, length).fill(0);
  return at;
}

export interface ConvImagesExports {
  convImages(
    x: number, w: number, y: number, cols: number, colsBytes: number, chunk: number, c: number, o: number, groups: number,
    h: number, wd: number, kh: number, kw: number, sh: number, sw: number, ph: number, pw: number, dh: number, dw: number, ho: number, wo: number,
    imageStart: number, imageEnd: number,
  ): void;
  convBackpropInputImages(
    dy: number, w: number, dx: number, cols: number, colsBytes: number, chunk: number, c: number, o: number, groups: number,
    h: number, wd: number, kh: number, kw: number, sh: number, sw: number, ph: number, pw: number, dh: number, dw: number, ho: number, wo: number,
    imageStart: number, imageEnd: number,
  ): void;
}

export interface BatchNormExports {
  bnStats(x: number, n: number, c: number, s: number, mean: number, variance: number, chStart: number, chEnd: number): void;
  bnApply(x: number, y: number, n: number, c: number, s: number, scale: number, shift: number, act: number, chStart: number, chEnd: number): void;
  bnBackward(
    x: number, g: number, dx: number, n: number, c: number, s: number, mean: number, invstd: number, weight: number, bias: number,
    batchStats: number, act: number, dweight: number, dbias: number, chStart: number, chEnd: number,
  ): void;
}

export interface ActivationExports {
  silu(x: number, y: number, count: number): void;
  siluGrad(x: number, g: number, dx: number, count: number): void;
  sigmoid(x: number, y: number, count: number): void;
  sigmoidGrad(y: number, g: number, dx: number, count: number): void;
  hardswish(x: number, y: number, count: number): void;
  hardswishGrad(x: number, g: number, dx: number, count: number): void;
  hardsigmoid(x: number, y: number, count: number): void;
  hardsigmoidGrad(x: number, g: number, dx: number, count: number): void;
}

export function f64(pointer: number, length: number): Float64Array {
  return new Float64Array(runtime.memory.buffer, pointer, length);
}

/** The current size of the wasm memory in bytes (the arena's high-water mark, rounded to pages). */
export function wasmMemoryBytes(): number {
  return runtime.memory.buffer.byteLength;
}
