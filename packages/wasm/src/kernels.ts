import {
  channelGeometry, conv2dGeometry, registerKernel, splitAtAxis, Tensor, type Conv2DAttrs, type Conv2DGeometry, type NormActivation,
} from '@parcnet/tensor';
import '@parcnet/parc';
import { allFloat32, PRIORITY, register, WASM } from './registration.js';
import { alloc, copyIn, f32, f64, gatherInto, heap, outputIn, outputTensor, runtime, scoped, viewIn, wasm, zeroFloats } from './runtime.js';
import { chunking, getNumThreads, parallelFor } from './threads.js';

// The GEMM, convolution, ParC, activation, elementwise and batch-norm kernels (pooling, resize,
// softmax and sums are in spatial.ts and reductions.ts).

/** Bytes of a K × N operand packed in panels of 8 columns (gemm.ts), the last one zero-padded. */
const panelBytes = (k: number, n: number): number => Math.ceil(n / 8) * k * 32;
/** Row panels of an M-row operand (4 rows each: the unit threads split a GEMM by), and their bytes for M × K. */
const rowPanels = (m: number): number => Math.ceil(m / 4);
const rowPanelBytes = (m: number, k: number): number => rowPanels(m) * k * 16;

/** Packs each group's [rows, cols] block of a (strides aRow, aCol) into row panels; returns where. */
function packGroups(a: number, groups: number, groupBytes: number, rows: number, cols: number, aRow: number, aCol: number): number {
  const bytes = rowPanelBytes(rows, cols);
  const panels = alloc(bytes * groups);
  for (let group = 0; group < groups; group++) wasm.packRows(a + group * groupBytes, aRow, aCol, rows, cols, panels + group * bytes);
  return panels;
}

/**
 * Scratch for a job over `units` cut by chunking(units): `bytes` for each chunk, a chunk's kernel
 * finding its own at scratch + (start / chunk) · bytes.
 */
function chunkScratch(units: number, bytes: number): { scratch: number; chunk: number } {
  const { chunks, chunk } = chunking(units);
  return { scratch: alloc(bytes * chunks), chunk };
}

/**
 * c [m, n] = a (row panels) · b (column panels), split across threads by row panels; `epilogue` is
 * the conv–norm–activation's (scale, shift, activation) pointers and code, zeros for none.
 */
function gemmJob(m: number, n: number, k: number, a: number, b: number, c: number, epilogue: number[] = [0, 0, 0]): void {
  parallelFor(rowPanels(m), 'gemm', [m, n, k, a, b, c, 0, ...epilogue], m * n * k);
}

/** Bytes of one image-group's im2col columns, rounded to 16 (none for a 1×1 conv: its columns are the input). */
const columnBytes = (g: Conv2DGeometry): number => (g.pointwise ? 0 : Math.ceil(g.cg * g.kh * g.kw * g.ho * g.wo / 4) * 16);

// a: [Ba, M, K] (or [Ba, K, M] if transposeA), b: [Bb, K, N] (or [Bb, N, K]) → [B, M, N].
register('BatchMatMul', (a, b, transposeA, transposeB) => scoped(() => {
  const [ba, a1, a2] = a.shape;
  const [bb, b1, b2] = b.shape;
  const m = transposeA ? a2 : a1;
  const k = transposeA ? a1 : a2;
  const n = transposeB ? b1 : b2;
  const batch = Math.max(ba, bb);
  const ap = copyIn(a);
  const bp = copyIn(b);
  // Both operands packed once per matrix (transposes folded into the packing); both threads read them.
  const aPanels = packGroups(ap, ba, m * k * 4, m, k, transposeA ? 1 : k, transposeA ? m : 1);
  const aBytes = rowPanelBytes(m, k);
  const bBytes = panelBytes(k, n);
  const bPanels = alloc(bBytes * bb);
  for (let i = 0; i < bb; i++) {
    if (transposeB) wasm.packPanelsTransposed(bp + i * n * k * 4, n, k, bPanels + i * bBytes);
    else wasm.packPanels(bp + i * k * n * 4, k, n, bPanels + i * bBytes);
  }
  const cp = outputIn(batch * m * n);
  for (let i = 0; i < batch; i++) {
    const aAt = aPanels + (ba === 1 ? 0 : i) * aBytes;
    const bAt = bPanels + (bb === 1 ? 0 : i) * bBytes;
    gemmJob(m, n, k, aAt, bAt, cp + i * m * n * 4);
  }
  return outputTensor(cp, [batch, m, n]);
}));

/** The geometry arguments the AssemblyScript conv kernels take after the channel count. */
const convArgs = (g: Conv2DGeometry, a: Conv2DAttrs): [number, number, number, number, number, number, number, number, number, number, number, number] =>
  [g.h, g.w, g.kh, g.kw, a.stride[0], a.stride[1], a.padding[0], a.padding[1], a.dilation[0], a.dilation[1], g.ho, g.wo];

type Depthwise3x3Kernel = 'depthwise3x3' | 'depthwise3x3BackpropInput' | 'depthwise3x3BackpropFilterSlices';

/**
 * Runs one depthwise 3×3 kernel (dilation 1, stride 1 or 2 per axis; assembly/depthwise3x3.ts) over
 * `units` (planes, or slices of the batch for the filter gradient), each thread with the scratch the module
 * says it needs (a zero-bordered copy of the plane, and for the backward kernels dy's rows).
 */
function depthwise3x3(name: Depthwise3x3Kernel, units: number, pointers: number[], g: Conv2DGeometry, a: Conv2DAttrs, extra: number[] = []): void {
  const kind = name === 'depthwise3x3' ? 0 : name === 'depthwise3x3BackpropInput' ? 1 : 2;
  const bytes = wasm.depthwise3x3ScratchBytes(kind, g.h, g.w, g.ho, g.wo, a.stride[0], a.stride[1], a.padding[0], a.padding[1]);
  const { scratch, chunk } = chunkScratch(units, bytes);
  const sizes = name === 'depthwise3x3BackpropFilterSlices' ? [g.n, g.c] : [g.c];
  parallelFor(units, name, [
    ...pointers, ...sizes, g.h, g.w, g.ho, g.wo, a.stride[0], a.stride[1], a.padding[0], a.padding[1], ...extra, scratch, bytes, chunk,
  ], g.n * g.c * g.ho * g.wo * 9);
}

const isDepthwise3x3 = (g: Conv2DGeometry, a: Conv2DAttrs): boolean =>
  g.depthwise && g.kh === 3 && g.kw === 3 && a.stride[0] <= 2 && a.stride[1] <= 2 && a.dilation[0] === 1 && a.dilation[1] === 1;

/** conv2dNormAct's epilogue in wasm memory: float32 scale and shift, and the activation's code. */
interface Epilogue { scale: number; shift: number; act: number }

/** A norm–activation stage's epilogue copied into wasm memory. */
function epilogueIn(stage: { scale: Float64Array; shift: Float64Array; activation: NormActivation }): Epilogue {
  return { scale: vectorIn(stage.scale), shift: vectorIn(stage.shift), act: activationCode(stage.activation) };
}

/** The forward conv, with the epilogue applied as outputs are written when one is given. */
function conv2dForward(x: Tensor, w: Tensor, attrs: Conv2DAttrs, epilogue: Epilogue | null): Tensor {
  const g = conv2dGeometry(x.shape, w.shape, attrs);
  const xp = copyIn(x);
  const wp = copyIn(w);
  const tail = epilogue ? [epilogue.scale, epilogue.shift, epilogue.act] : [0, 0, 0];
  // Every path writes each output once.
  const yp = outputIn(g.n * g.o * g.ho * g.wo);
  if (isDepthwise3x3(g, attrs)) {
    depthwise3x3('depthwise3x3', g.n * g.c, [xp, wp, yp], g, attrs, [0, ...tail]);
    return outputTensor(yp, [g.n, g.o, g.ho, g.wo]);
  }
  if (g.depthwise && g.pointwise) {
    // A depthwise 1×1 conv scales each channel (a ParC stage's channel_adaptive at ParC-Net-XS's
    // widths): the norm's pass alone, w folded into its scale (the depthwise kernel went output by
    // output, then a second pass for the norm).
    const normScale = epilogue ? f32(epilogue.scale, g.c) : null;
    const scale = normScale ? vectorIn(Float64Array.from(f32(wp, g.c), (wc, c) => wc * normScale[c])) : wp;
    const shift = epilogue ? epilogue.shift : vectorIn(new Float64Array(g.c));
    normApplyIn(xp, g.c * g.ho * g.wo, yp, g.n, g.c, g.ho * g.wo, scale, shift, epilogue ? epilogue.act : 0);
    return outputTensor(yp, [g.n, g.o, g.ho, g.wo]);
  }
  if (g.depthwise) {
    parallelFor(g.n * g.c, 'depthwise', [xp, wp, yp, g.c, ...convArgs(g, attrs)], g.n * g.c * g.ho * g.wo * g.kh * g.kw);
    // No epilogue in this kernel: the norm and activation as a second pass, in place.
    if (epilogue) normApplyIn(yp, g.c * g.ho * g.wo, yp, g.n, g.c, g.ho * g.wo, epilogue.scale, epilogue.shift, epilogue.act);
    return outputTensor(yp, [g.n, g.o, g.ho, g.wo]);
  }
  if (winogradApplies(g, attrs)) {
    winogradForward(xp, wp, yp, g, attrs, epilogue);
    return outputTensor(yp, [g.n, g.o, g.ho, g.wo]);
  }
  if (batchedPointwise(g, attrs)) {
    // y = W · (the batch's columns), then back to [N, O, H, W].
    gemmOverBatch(packGroups(wp, 1, 0, g.o, g.c, g.c, 1), g.o, xp, g.c, g, yp, tail);
    return outputTensor(yp, [g.n, g.o, g.ho, g.wo]);
  }
  // Threads split the batch; each chunk of images has its own scratch: columns, then their panels.
  const rows = g.cg * g.kh * g.kw;
  const pixels = g.ho * g.wo;
  const scratchBytes = columnBytes(g) + panelBytes(rows, pixels);
  const { scratch, chunk } = chunkScratch(g.n, scratchBytes);
  const wPanels = packGroups(wp, attrs.groups, g.og * rows * 4, g.og, rows, rows, 1);
  parallelFor(g.n, 'convImages', [xp, wPanels, yp, scratch, scratchBytes, chunk, g.c, g.o, attrs.groups, ...convArgs(g, attrs), ...tail], g.n * g.o * pixels * rows);
  return outputTensor(yp, [g.n, g.o, g.ho, g.wo]);
}

register('Conv2D', (x, w, attrs) => scoped(() => conv2dForward(x, w, attrs, null)));

register('Conv2DNormAct', (x, w, scale, shift, activation, attrs) => scoped(() => conv2dForward(x, w, attrs, epilogueIn({ scale, shift, activation }))));

// Inference's inverted residual (MobileNetV2: 1×1 expansion, depthwise 3×3, 1×1 reduce, residual)
// as one job over the batch (assembly/depthwise3x3.ts, invertedResidual): each image's expanded
// input and depthwise output stay in the thread's scratch (L2), never in memory; the residual, when
// given, is where the last GEMM's sums start. Where that kernel does not apply (another depthwise
// shape, maps too small for a GEMM per image, fewer than two images a thread, an activation after
// a residual), the convs and the add run as their own kernels: the same results.
register('InvertedResidualNormAct', (x, expand, dw, pw, residual) => scoped(() => {
  const [n, , h, w] = x.shape;
  const ge = expand ? conv2dGeometry(x.shape, expand.weight.shape, expand.attrs) : null;
  const gd = conv2dGeometry(ge ? [n, ge.o, h, w] : x.shape, dw.weight.shape, dw.attrs);
  const gp = conv2dGeometry([n, gd.o, gd.ho, gd.wo], pw.weight.shape, pw.attrs);
  const perImage = (g: Conv2DGeometry, attrs: Conv2DAttrs): boolean => g.pointwise && attrs.groups === 1 && !batchedPointwise(g, attrs);
  const fused = isDepthwise3x3(gd, dw.attrs) && perImage(gp, pw.attrs) && (!ge || perImage(ge, expand!.attrs)) && n >= 2 * getNumThreads() && !(residual && pw.activation);
  if (!fused) {
    const hidden = expand ? conv2dForward(x, expand.weight, expand.attrs, epilogueIn(expand)) : x;
    const y = conv2dForward(conv2dForward(hidden, dw.weight, dw.attrs, epilogueIn(dw)), pw.weight, pw.attrs, epilogueIn(pw));
    return residual ? binaryOp(y, residual, 0) : y;
  }
  const ee = expand ? epilogueIn(expand) : { scale: 0, shift: 0, act: 0 };
  const de = epilogueIn(dw);
  const pe = epilogueIn(pw);
  const a = dw.attrs;
  const c = ge ? ge.c : 0;
  const scratchBytes = wasm.invertedResidualScratchBytes(c, gd.c, h, w, gd.ho, gd.wo, a.stride[0], a.stride[1], a.padding[0], a.padding[1]);
  const { scratch, chunk } = chunkScratch(n, scratchBytes);
  const expPanels = ge ? packGroups(copyIn(expand!.weight), 1, 0, ge.o, ge.c, ge.c, 1) : 0;
  const pwPanels = packGroups(copyIn(pw.weight), 1, 0, gp.o, gp.c, gp.c, 1);
  const yp = outputIn(n * gp.o * gp.ho * gp.wo);
  parallelFor(n, 'invertedResidual', [
    copyIn(x), expPanels, ee.scale, ee.shift, ee.act, copyIn(dw.weight), de.scale, de.shift, de.act, pwPanels, pe.scale, pe.shift, pe.act,
    residual ? copyIn(residual) : 0, yp, c, gd.c, h, w, gd.ho, gd.wo, a.stride[0], a.stride[1], a.padding[0], a.padding[1], gp.o, scratch, scratchBytes, chunk,
  ], n * gd.c * (h * w * c + gd.ho * gd.wo * (9 + gp.o)));
  return outputTensor(yp, [n, gp.o, gp.ho, gp.wo]);
}));

// Inference's feed-forward pair (a ParC block's FFN) as one job over the batch (assembly/conv.ts,
// feedForward): each image's normalised input and hidden activation stay in the thread's scratch.
// Where it does not apply (maps too small for a GEMM per image, fewer than two images a thread), the
// norm and the two convs run as their own kernels: the same results.
register('FeedForwardNormAct', (x, norm, hidden, output) => scoped(() => {
  const [n, c, h, w] = x.shape;
  const gh = conv2dGeometry(x.shape, hidden.weight.shape, hidden.attrs);
  const go = conv2dGeometry([n, gh.o, h, w], output.weight.shape, output.attrs);
  const eh = epilogueIn(hidden);
  const eo = epilogueIn(output);
  if (batchedPointwise(gh, hidden.attrs) || n < 2 * getNumThreads()) {
    const input = norm ? normApply(x, norm.scale, norm.shift, null) : x;
    return conv2dForward(conv2dForward(input, hidden.weight, hidden.attrs, eh), output.weight, output.attrs, eo);
  }
  const pixels = h * w;
  const scratchBytes = wasm.feedForwardScratchBytes(c, gh.o, pixels);
  const { scratch, chunk } = chunkScratch(n, scratchBytes);
  const yp = outputIn(n * go.o * pixels);
  parallelFor(n, 'feedForward', [
    copyIn(x), norm ? vectorIn(norm.scale) : 0, norm ? vectorIn(norm.shift) : 0,
    packGroups(copyIn(hidden.weight), 1, 0, gh.o, c, c, 1), eh.scale, eh.shift, eh.act,
    packGroups(copyIn(output.weight), 1, 0, go.o, gh.o, gh.o, 1), eo.scale, eo.shift, eo.act,
    yp, c, gh.o, go.o, pixels, scratch, scratchBytes, chunk,
  ], n * pixels * gh.o * (c + go.o));
  return outputTensor(yp, [n, go.o, h, w]);
}));

// dx = col2im(Wᵀ · dy), per image and group, threads splitting the batch; 1×1 convs write Wᵀ · dy straight into dx.
register('Conv2DBackpropInput', (gradOutput, w, inputShape, attrs) => scoped(() => {
  const g = conv2dGeometry(inputShape, w.shape, attrs);
  const dyp = copyIn(gradOutput);
  const wp = copyIn(w);
  if (isDepthwise3x3(g, attrs)) {
    const dxp = outputIn(g.n * g.c * g.h * g.w);
    const unit = attrs.stride[0] === 1 && attrs.stride[1] === 1 && attrs.padding[0] <= 2 && attrs.padding[1] <= 2;
    if (unit) {
      // Stride 1: dx is the conv of dy (as the input, ho × wo) with the kernel rotated by 180° and padding 2 − p.
      const flipped = { ...g, h: g.ho, w: g.wo, ho: g.h, wo: g.w };
      depthwise3x3('depthwise3x3', g.n * g.c, [dyp, wp, dxp], flipped, { ...attrs, padding: [2 - attrs.padding[0], 2 - attrs.padding[1]] }, [1, 0, 0, 0]);
    } else {
      depthwise3x3('depthwise3x3BackpropInput', g.n * g.c, [dyp, wp, dxp], g, attrs);
    }
    return outputTensor(dxp, inputShape);
  }
  if (winogradApplies(g, attrs)) {
    const dxp = outputIn(g.n * g.c * g.h * g.w);
    winogradBackpropInput(dyp, wp, dxp, g, attrs);
    return outputTensor(dxp, inputShape);
  }
  if (batchedPointwise(g, attrs)) {
    // dx = Wᵀ · (dy's columns over the batch), then back to [N, C, H, W]. The output is taken
    // before the scratch, as everywhere: a long-lived block above a short-lived one leaves a hole.
    const dxp = outputIn(g.n * g.c * g.h * g.w);
    gemmOverBatch(packGroups(wp, 1, 0, g.c, g.o, 1, g.c), g.c, dyp, g.o, g, dxp, [0, 0, 0]);
    return outputTensor(dxp, inputShape);
  }
  // A depthwise 1×1 conv's adjoint scales each channel of dy by its weight, as the forward.
  if (g.depthwise && g.pointwise) {
    const dxp = outputIn(g.n * g.c * g.h * g.w);
    normApplyIn(dyp, g.c * g.h * g.w, dxp, g.n, g.c, g.h * g.w, wp, vectorIn(new Float64Array(g.c)), 0);
    return outputTensor(dxp, inputShape);
  }
  // The depthwise kernel and col2im add into dx; a 1×1 conv's GEMM writes it whole.
  const dxp = outputIn(g.n * g.c * g.h * g.w, g.depthwise || !g.pointwise);
  if (g.depthwise) {
    parallelFor(g.n * g.c, 'depthwiseBackpropInput', [dyp, wp, dxp, g.c, ...convArgs(g, attrs)], g.n * g.c * g.ho * g.wo * g.kh * g.kw);
    return outputTensor(dxp, inputShape);
  }
  const rows = g.cg * g.kh * g.kw;
  const pixels = g.ho * g.wo;
  const scratchBytes = columnBytes(g) + panelBytes(g.og, pixels);
  const { scratch, chunk } = chunkScratch(g.n, scratchBytes);
  // Wᵀ per group: element (r, o) is W[o, r].
  const wtPanels = packGroups(wp, attrs.groups, g.og * rows * 4, rows, g.og, 1, rows);
  parallelFor(g.n, 'convBackpropInputImages', [dyp, wtPanels, dxp, scratch, scratchBytes, chunk, g.c, g.o, attrs.groups, ...convArgs(g, attrs)], g.n * g.o * pixels * rows);
  return outputTensor(dxp, inputShape);
}));

/**
 * The batch is cut into at most this many slices of whole images, whatever the thread count; each
 * slice sums its filter gradient apart and the slices are added in order, so dW does not depend on
 * how many threads ran them.
 */
const FILTER_SLICES = 8;

/** The filter gradients' slices of a batch of n images: `slices` of `sliceSize` images, the last maybe fewer. */
function batchSlices(n: number): { sliceSize: number; slices: number } {
  const sliceSize = Math.ceil(n / FILTER_SLICES);
  return { sliceSize, slices: Math.ceil(n / sliceSize) };
}

// dW[group] = Σ over images of dy · colsᵀ: threads take slices of the batch (convBackpropFilterImages).
register('Conv2DBackpropFilter', (x, gradOutput, weightShape, attrs) => scoped(() => {
  const g = conv2dGeometry(x.shape, weightShape, attrs);
  const xp = copyIn(x);
  const dyp = copyIn(gradOutput);
  const count = g.o * g.cg * g.kh * g.kw;
  if (winogradApplies(g, attrs)) {
    const dwp = outputIn(count);
    winogradBackpropFilter(xp, dyp, dwp, g, attrs);
    return outputTensor(dwp, weightShape);
  }
  if (batchedPointwise(g, attrs)) {
    // dW = (dy's columns) · (x's columns)ᵀ over the whole batch: one GEMM, each row summed in column order.
    const dwp = outputIn(count);
    const columns = g.n * g.ho * g.wo;
    const a = alloc(rowPanelBytes(g.o, columns));
    wasm.packBatchTransposed(dyp, g.o, g.ho * g.wo, g.n, 4, a);
    const b = alloc(panelBytes(columns, g.c));
    wasm.packBatchTransposed(xp, g.c, g.ho * g.wo, g.n, 8, b);
    gemmJob(g.o, g.c, columns, a, b, dwp);
    return outputTensor(dwp, weightShape);
  }
  const dwp = outputIn(count, true);
  if (isDepthwise3x3(g, attrs)) {
    // Slices of the batch, as the dense convs' filter gradients below.
    const { sliceSize, slices } = batchSlices(g.n);
    const partials = alloc(slices * g.c * 144);
    depthwise3x3('depthwise3x3BackpropFilterSlices', slices, [xp, dyp, partials], g, attrs, [sliceSize]);
    wasm.sliceTotals(partials, slices, g.c * 9, dwp);
    return outputTensor(dwp, weightShape);
  }
  if (g.depthwise) {
    parallelFor(g.c, 'depthwiseBackpropFilter', [xp, dyp, dwp, g.n, g.c, ...convArgs(g, attrs)], g.n * g.c * g.ho * g.wo * g.kh * g.kw);
    return outputTensor(dwp, weightShape);
  }
  const rows = g.cg * g.kh * g.kw;
  const pixels = g.ho * g.wo;
  const { sliceSize: slice, slices } = batchSlices(g.n);
  const partialBytes = Math.ceil(count / 4) * 16;
  const partials = alloc(partialBytes * slices);
  zeroFloats(partials, (partialBytes / 4) * slices);
  const scratchBytes = columnBytes(g) + panelBytes(pixels, rows) + rowPanelBytes(g.og, pixels);
  const { scratch, chunk } = chunkScratch(slices, scratchBytes);
  parallelFor(slices, 'convBackpropFilterImages', [
    xp, dyp, partials, partialBytes, scratch, scratchBytes, chunk, slice, g.n, g.c, g.o, attrs.groups, ...convArgs(g, attrs),
  ], g.n * g.o * pixels * rows);
  for (let s = 0; s < slices; s++) wasm.binaryArrays(dwp, partials + s * partialBytes, dwp, count, 0, 0, blocks(count));
  return outputTensor(dwp, weightShape);
}));

/**
 * A 1×1 conv (stride 1, no padding, one group) on maps of fewer than 8 pixels runs as one GEMM over
 * the batch's columns (conv.ts packBatchPanels …): per image, a 2×2 map fills half of each 8-column
 * panel and a 1×1 map an eighth (ParC-Net-XS's last stage and its channel attention).
 */
function batchedPointwise(g: Conv2DGeometry, a: Conv2DAttrs): boolean {
  return g.pointwise && a.groups === 1 && g.ho * g.wo < 8 && g.n * g.ho * g.wo >= 8;
}

/**
 * out [N, M, H, W] = a (M × K, row panels) · src's columns over the batch (src [N, K, H, W]), with
 * `tail` the epilogue's (scale, shift, activation), as one GEMM split by row panels.
 */
function gemmOverBatch(a: number, m: number, src: number, k: number, g: Conv2DGeometry, out: number, tail: number[]): void {
  const pixels = g.ho * g.wo;
  const columns = g.n * pixels;
  const b = alloc(panelBytes(k, columns));
  wasm.packBatchPanels(src, k, pixels, g.n, b);
  const c = alloc(m * columns * 4);
  gemmJob(m, columns, k, a, b, c, tail);
  wasm.unbatchColumns(c, m, pixels, g.n, out);
}

// Dense 3×3 convolutions with stride 1 (ParC-Net's local-global fusion convs) by Winograd
// F(2×2, 3×3) (assembly/winograd.ts): the input's and the output gradient's tiles transformed over
// the whole batch, 16 GEMMs, and the transform back. Planes are the unit threads split the
// transforms by, and row panels of the 16 GEMMs (one job) the GEMMs by; the filter gradient sums
// over all tiles inside one GEMM, so every pass gives the same numbers on any number of threads.

let winogradEnabled = true;

/**
 * Whether dense 3×3 convs with stride 1 use Winograd F(2×2, 3×3) (default) or im2col + GEMM: as
 * torch.backends' algorithm switches, for comparing the two (benchmarks, tests); results differ in
 * the last bits.
 */
export function setWinograd(enabled: boolean): void {
  winogradEnabled = enabled;
}

/** Under this many input channels the 16 GEMMs are too thin to beat im2col (the 3-channel stem). */
const WINOGRAD_MIN_CHANNELS = 8;

function winogradApplies(g: Conv2DGeometry, a: Conv2DAttrs): boolean {
  return winogradEnabled && a.groups === 1 && g.kh === 3 && g.kw === 3 && a.stride[0] === 1 && a.stride[1] === 1 &&
    a.dilation[0] === 1 && a.dilation[1] === 1 && a.padding[0] <= 2 && a.padding[1] <= 2 && g.c >= WINOGRAD_MIN_CHANNELS && g.ho > 0 && g.wo > 0;
}

/** Layouts the transforms write (winograd.ts). */
const COLUMN_PANELS = 0;
const TRANSPOSED_PANELS = 1;
const ROW_PANELS = 2;
/** Positions of a transformed 4×4 tile: one GEMM each. */
const XI = 16;

interface Tiling { th: number; tw: number; tiles: number }

/** 16 blocks, one per ξ, `stride` bytes apart from `at`. */
interface Blocks { at: number; stride: number }

const tiling = (g: Conv2DGeometry): Tiling => {
  const th = Math.ceil(g.ho / 2);
  const tw = Math.ceil(g.wo / 2);
  return { th, tw, tiles: g.n * th * tw };
};

/**
 * Bytes from one ξ's block to the next for a block of `bytes`: whole pages plus 256, so that the 16
 * blocks a transform writes (or reads) for one tile fall in 16 different L1 sets. Blocks a whole
 * number of pages apart (96 channels × 1,024 tiles × 4 bytes is 96 pages) all map to one set and
 * evict each other: the input transform took twice as long.
 */
const skewed = (bytes: number): number => Math.ceil(bytes / 4096) * 4096 + 256;

/** The 16 blocks of a transform's output, `stride` bytes apart; zeroed when the GEMM operand has padding (its rows or columns past the end only feed outputs gemm drops, but zeros keep garbage, and its slow paths, out). */
function blocks16(stride: number, padded: boolean): number {
  const at = alloc(stride * XI);
  if (padded) zeroFloats(at, (stride * XI) / 4);
  return at;
}

/** U[ξ] = G g Gᵀ, each ξ's block in row panels as the GEMMs' A operand (transposed, [C, O], for the input gradient). */
function winogradFilterPanels(wp: number, g: Conv2DGeometry, transposed: boolean): Blocks {
  const m = transposed ? g.c : g.o;
  const k = transposed ? g.o : g.c;
  const stride = rowPanelBytes(m, k);
  // The last panel's rows past m are zero, as packRows leaves them.
  const panels = blocks16(stride, m % 4 !== 0);
  parallelFor(g.o, 'winogradFilter', [wp, g.o, g.c, panels, stride, transposed ? 1 : 0], g.o * g.c * 64);
  return { at: panels, stride };
}

/** The 16 GEMMs c[ξ] = a[ξ] · b[ξ] ([m, k] · [k, n]; a in row panels, b in column panels, c row-major), split across threads by row panels as one job. */
function winogradGemms(m: number, n: number, k: number, a: Blocks, b: Blocks, c: Blocks): void {
  parallelFor(XI * rowPanels(m), 'winogradGemms', [m, n, k, a.at, a.stride, b.at, b.stride, c.at, c.stride], XI * m * n * k);
}

/** V = Bᵀ d B of every tile of x in `layout` (the forward's [C, T] column panels, or the filter gradient's [T, C]). */
function winogradInputTransform(xp: number, g: Conv2DGeometry, a: Conv2DAttrs, t: Tiling, layout: number): Blocks {
  const transposed = layout === TRANSPOSED_PANELS;
  const stride = skewed(transposed ? panelBytes(t.tiles, g.c) : panelBytes(g.c, t.tiles));
  const v = blocks16(stride, transposed ? g.c % 8 !== 0 : t.tiles % 8 !== 0);
  const scratchBytes = wasm.winogradScratchBytes(t.th, t.tw);
  const { scratch, chunk } = chunkScratch(g.n * g.c, scratchBytes);
  parallelFor(g.n * g.c, 'winogradInput', [
    xp, g.c, g.h, g.w, a.padding[0], a.padding[1], t.th, t.tw, t.tiles, v, stride, layout, scratch, scratchBytes, chunk,
  ], t.tiles * g.c * 16);
  return { at: v, stride };
}

/** dM = A dY Aᵀ of every tile of dy in `layout` (the input gradient's [O, T] column panels, or the filter gradient's [O, T] row panels). */
function winogradGradOutputTransform(dyp: number, g: Conv2DGeometry, t: Tiling, layout: number): Blocks {
  const rows = layout === ROW_PANELS;
  const stride = skewed(rows ? rowPanelBytes(g.o, t.tiles) : panelBytes(g.o, t.tiles));
  const dm = blocks16(stride, rows ? g.o % 4 !== 0 : t.tiles % 8 !== 0);
  parallelFor(g.n * g.o, 'winogradGradOutput', [dyp, g.o, g.ho, g.wo, t.th, t.tw, t.tiles, dm, stride, layout], t.tiles * g.o * 16);
  return { at: dm, stride };
}

/** 16 row-major [rows, cols] GEMM results. */
function resultBlocks(rows: number, cols: number): Blocks {
  const stride = skewed(rows * cols * 4);
  return { at: alloc(stride * XI), stride };
}

function winogradForward(xp: number, wp: number, yp: number, g: Conv2DGeometry, a: Conv2DAttrs, epilogue: Epilogue | null): void {
  const t = tiling(g);
  const v = winogradInputTransform(xp, g, a, t, COLUMN_PANELS);
  const m = resultBlocks(g.o, t.tiles);
  winogradGemms(g.o, t.tiles, g.c, winogradFilterPanels(wp, g, false), v, m);
  const [scale, shift, act] = epilogue ? [epilogue.scale, epilogue.shift, epilogue.act] : [0, 0, 0];
  parallelFor(g.n * g.o, 'winogradOutput', [m.at, m.stride, g.o, g.ho, g.wo, t.th, t.tw, t.tiles, yp, scale, shift, act], t.tiles * g.o * 16);
}

function winogradBackpropInput(dyp: number, wp: number, dxp: number, g: Conv2DGeometry, a: Conv2DAttrs): void {
  const t = tiling(g);
  const dm = winogradGradOutputTransform(dyp, g, t, COLUMN_PANELS);
  const dv = resultBlocks(g.c, t.tiles);
  winogradGemms(g.c, t.tiles, g.o, winogradFilterPanels(wp, g, true), dm, dv);
  const scratchBytes = wasm.winogradScratchBytes(t.th, t.tw);
  const { scratch, chunk } = chunkScratch(g.n * g.c, scratchBytes);
  parallelFor(g.n * g.c, 'winogradInputAdjoint', [
    dv.at, dv.stride, g.c, g.h, g.w, a.padding[0], a.padding[1], t.th, t.tw, t.tiles, dxp, scratch, scratchBytes, chunk,
  ], t.tiles * g.c * 16);
}

function winogradBackpropFilter(xp: number, dyp: number, dwp: number, g: Conv2DGeometry, a: Conv2DAttrs): void {
  const t = tiling(g);
  const dm = winogradGradOutputTransform(dyp, g, t, ROW_PANELS);
  const v = winogradInputTransform(xp, g, a, t, TRANSPOSED_PANELS);
  const du = resultBlocks(g.o, g.c);
  winogradGemms(g.o, g.c, t.tiles, dm, v, du);
  parallelFor(g.o, 'winogradFilterAdjoint', [du.at, du.stride, g.o, g.c, dwp], g.o * g.c * 64);
}

/**
 * ParC's offset table [C, n] as parcGather reads it: along W as it is; along H each row's value
 * repeated across the row, [C, H·W], so an output vector's offsets are one load wherever it starts.
 */
function offsetIn(offset: Tensor, axis: 'H' | 'W', h: number, w: number): number {
  if (axis === 'W') return copyIn(offset);
  const c = offset.shape[0];
  const table = offset.toTypedArray() as Float32Array;
  const at = alloc(c * h * w * 4);
  const planes = f32(at, c * h * w);
  for (let ch = 0; ch < c; ch++) for (let i = 0; i < h; i++) planes.fill(table[ch * h + i], (ch * h + i) * w, (ch * h + i + 1) * w);
  return at;
}

/** The ParC forward (sign 1) and its transpose (sign −1): a gathered plane-by-plane map of a [N, C, H, W] tensor with the [C, n] kernel. */
function parcPlanes(sign: 1 | -1): (source: Tensor, kernel: Tensor, axis: 'H' | 'W', offset?: Tensor | null) => Tensor {
  return (source, kernel, axis, offset) => scoped(() => {
    const [n, c, h, w] = source.shape;
    const sp = planesIn(source);
    const kp = copyIn(kernel);
    const op = offset ? offsetIn(offset, axis, h, w) : 0;
    const out = outputIn(source.size);
    const scratchBytes = wasm.parcScratchBytes(0, h, w);
    const { scratch, chunk } = chunkScratch(n * c, scratchBytes);
    parallelFor(n * c, 'parcGather', [sp.at, sp.imageFloats, kp, op, out, c, h, w, axis === 'H' ? 1 : 0, sign, scratch, scratchBytes, chunk], source.size * (axis === 'H' ? h : w));
    return outputTensor(out, source.shape);
  });
}

// Inference's ParC mixing of a ParC block (assembly/parc.ts, parcMixer): both branches' two ParCs
// and residuals plane by plane, each plane's middle result in the thread's scratch, the halves
// written into their channels of one output (what two pre-norms, four ParcConv, two adds and a
// Concat did in nine passes).
registerKernel({
  name: 'ParcMixer', backend: WASM, priority: PRIORITY,
  guard: (x, halves) => allFloat32(x, ...halves.flatMap(({ first, second }) => [first.kernel, first.offset, second.kernel, second.offset])),
  fn: (x, halves) => scoped(() => {
    const [n, c, h, w] = x.shape;
    const xp = copyIn(x);
    const y = outputIn(x.size);
    const tables = halves.flatMap(({ first, second }, which) => [
      copyIn(first.kernel), offsetIn(first.offset, which === 0 ? 'H' : 'W', h, w),
      copyIn(second.kernel), offsetIn(second.offset, which === 0 ? 'W' : 'H', h, w),
    ]);
    const scratchBytes = wasm.parcScratchBytes(1, h, w);
    const { scratch, chunk } = chunkScratch(n * c, scratchBytes);
    parallelFor(n * c, 'parcMixer', [xp, y, c, h, w, ...tables, scratch, scratchBytes, chunk], x.size * (h + w));
    return outputTensor(y, x.shape);
  }),
});

register('ParcConv', parcPlanes(1));
register('ParcConvBackpropInput', parcPlanes(-1));

register('ParcConvBackpropKernel', (x, gradOutput, axis) => scoped(() => {
  const [n, c, h, w] = x.shape;
  const length = axis === 'H' ? h : w;
  const xp = planesIn(x);
  const gp = planesIn(gradOutput);
  const dkp = outputIn(c * length);
  // Slices of the batch, as the filter gradients'.
  const { sliceSize, slices } = batchSlices(n);
  const partials = alloc(slices * c * length * 16);
  const scratchBytes = wasm.parcScratchBytes(2, h, w);
  const { scratch, chunk } = chunkScratch(slices, scratchBytes);
  parallelFor(slices, 'parcConvBackpropKernelSlices', [xp.at, xp.imageFloats, gp.at, gp.imageFloats, partials, n, c, h, w, axis === 'H' ? 1 : 0, sliceSize, scratch, scratchBytes, chunk], x.size * length);
  wasm.sliceTotals(partials, slices, c * length, dkp);
  return outputTensor(dkp, [c, length]);
}));

// Activations: forward (x → y) and backward (saved, g → dx), elementwise in SIMD, threads taking
// blocks of ELEMENT_BLOCK elements (assembly/activation.ts).
const ELEMENT_BLOCK = 4096;
const blocks = (count: number): number => Math.ceil(count / ELEMENT_BLOCK);

type UnaryExport = 'silu' | 'sigmoid' | 'hardswish' | 'hardsigmoid';

function unary(name: UnaryExport): (x: Tensor) => Tensor {
  return (x) => scoped(() => {
    const xp = copyIn(x);
    const yp = outputIn(x.size);
    parallelFor(blocks(x.size), name, [xp, yp, x.size], x.size * 8);
    return outputTensor(yp, x.shape);
  });
}

function unaryGrad(name: `${UnaryExport}Grad`): (saved: Tensor, g: Tensor) => Tensor {
  return (saved, g) => scoped(() => {
    const sp = copyIn(saved);
    const gp = copyIn(g);
    const dp = outputIn(g.size);
    parallelFor(blocks(g.size), name, [sp, gp, dp, g.size], g.size * 8);
    return outputTensor(dp, g.shape);
  });
}

register('Silu', unary('silu'));
register('SiluGrad', unaryGrad('siluGrad'));
register('Sigmoid', unary('sigmoid'));
register('SigmoidGrad', unaryGrad('sigmoidGrad'));
register('Hardswish', unary('hardswish'));
register('HardswishGrad', unaryGrad('hardswishGrad'));
register('Hardsigmoid', unary('hardsigmoid'));
register('HardsigmoidGrad', unaryGrad('hardsigmoidGrad'));

// Add, Sub, Mul of two float32 tensors of the same shape (residual connections, gates): one SIMD
// pass. The ops expand broadcast operands to the output shape first, so those arrive here as
// strided views: binaryStrided reads them in place (a broadcast as a repeated value, a slice at its
// strides) rather than copying each to row-major order first. Other dtypes go to the reference kernels.
const sameShapeFloat32 = (a: Tensor, b: Tensor): boolean =>
  allFloat32(a, b) && a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);

/** Elements a thread takes at a time from a strided binary op, at least (whole rows). */
const STRIDED_BLOCK = 4096;

function binary(name: 'Add' | 'Sub' | 'Mul', op: number): void {
  registerKernel({ name, backend: WASM, priority: PRIORITY, guard: sameShapeFloat32, fn: (a, b) => scoped(() => binaryOp(a, b, op)) });
}

/** a op b (0 add, 1 subtract, 2 multiply) of same-shape float32 tensors, inside a kernel's scope. */
function binaryOp(a: Tensor, b: Tensor, op: number): Tensor {
  const yp = outputIn(a.size);
  if (a.size > 0 && !(a.isContiguous() && b.isContiguous())) {
    const av = viewIn(a);
    const bv = viewIn(b);
    const dims = mergeDims(a.shape, av.strides, bv.strides);
    if (dims.shape.length <= 4) {
      const pad = 4 - dims.shape.length;
      const shape = [...Array<number>(pad).fill(1), ...dims.shape];
      const sa = [...Array<number>(pad).fill(0), ...dims.a];
      const sb = [...Array<number>(pad).fill(0), ...dims.b];
      const rows = shape[0] * shape[1] * shape[2];
      const rowsPerBlock = Math.ceil(STRIDED_BLOCK / shape[3]);
      parallelFor(Math.ceil(rows / rowsPerBlock), 'binaryStrided', [av.at, bv.at, yp, op, ...shape, ...sa, ...sb, rowsPerBlock], a.size * 2);
      return outputTensor(yp, a.shape);
    }
  }
  parallelFor(blocks(a.size), 'binaryArrays', [copyIn(a), copyIn(b), yp, a.size, op], a.size * 2);
  return outputTensor(yp, a.shape);
}

/**
 * The index space of two same-shape views with as few dimensions as their strides allow: size-1
 * dimensions dropped, and a dimension merged into the next one wherever both views step over it
 * as one run (stride = next stride · next size). A slice of whole planes and a broadcast over the
 * batch come out as two dimensions.
 */
function mergeDims(shape: readonly number[], a: readonly number[], b: readonly number[]): { shape: number[]; a: number[]; b: number[] } {
  const out = { shape: [] as number[], a: [] as number[], b: [] as number[] };
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] === 1) continue;
    const last = out.shape.length - 1;
    if (last >= 0 && a[i] === out.a[last] * out.shape[last] && b[i] === out.b[last] * out.shape[last]) {
      out.shape[last] *= shape[i];
      continue;
    }
    out.shape.push(shape[i]);
    out.a.push(a[i]);
    out.b.push(b[i]);
  }
  if (out.shape.length === 0) return { shape: [1], a: [1], b: [1] };
  out.shape.reverse();
  out.a.reverse();
  out.b.reverse();
  return out;
}

binary('Add', 0);
binary('Sub', 1);
binary('Mul', 2);

// The gradient of a slice (chunk and split in ParC blocks): an output in wasm memory, zeros with the
// gradient written into the slice's positions, so the add of the slices' gradients that follows
// reads both in place (the reference writes an ordinary array with a JavaScript loop). One job over
// the dims before the axis (the images, for a cut along channels), zeros and copy together: the
// zeros filled on the calling thread, then the slice copied in, took 2.7 ms of a 2-thread training
// step, on one thread.
registerKernel({
  name: 'SliceGrad', backend: WASM, priority: PRIORITY, guard: (gradOutput) => allFloat32(gradOutput),
  fn: (gradOutput, inputShape, axis, start, step) => scoped(() => {
    const { outer, length: size, inner } = splitAtAxis(inputShape, axis);
    const out = outputIn(outer * size * inner);
    const g = gradOutput.size > 0 ? copyIn(gradOutput) : 0;
    parallelFor(outer, 'sliceGrad', [g, out, size, inner, start, step, gradOutput.shape[axis]], outer * size * inner);
    return outputTensor(out, inputShape);
  }),
});

// Concatenation along an axis (a ParC block's two branches): each input's block of every outer
// row written into an output in wasm memory, which the next kernel then reads in place (the
// reference's output is an ordinary array, copied in again); one job over the dims before the axis.
registerKernel({
  name: 'Concat', backend: WASM, priority: PRIORITY,
  guard: (tensors) => tensors.length > 0 && allFloat32(...tensors),
  fn: (tensors, axis) => scoped(() => {
    const shape = tensors[0].shape.map((d, i) => (i === axis ? tensors.reduce((n, t) => n + t.shape[axis], 0) : d));
    const { outer, length: total, inner } = splitAtAxis(shape, axis);
    const sources = tensors.map((t) => [t.size > 0 ? copyIn(t) : 0, t.shape[axis]]);
    const out = outputIn(outer * total * inner);
    const table = alloc(sources.length * 8);
    // The view after every allocation: growing the memory detaches earlier ones.
    new Int32Array(runtime.memory.buffer, table, sources.length * 2).set(sources.flat());
    parallelFor(outer, 'concatRows', [table, sources.length, out, total, inner], outer * total * inner);
    return outputTensor(out, shape);
  }),
});

// A strided float32 view made contiguous (contiguous(), and a cast to the same dtype), when its
// storage already lies in wasm memory; anything else is the reference's.
registerKernel({
  name: 'Cast', backend: WASM, priority: PRIORITY,
  guard: (x, dtype) => x.dtype === 'float32' && dtype === 'float32' && x.shape.length <= 6 && x.size > 0 && heap.pointerOf(x.storage) >= 0,
  fn: (x) => scoped(() => {
    const out = outputIn(x.size);
    gatherInto(x, heap.pointerOf(x.storage), out);
    return outputTensor(out, x.shape);
  }),
});

// Batch norm over [N, C, S…]: statistics, apply (with the fused activation) and backward, per channel.
const activationCode = (a: NormActivation): number => (a === 'silu' ? 1 : a === 'hardswish' ? 2 : 0);

function vectorIn(values: Float64Array): number {
  const at = alloc(Math.ceil(values.length / 4) * 16);
  f32(at, values.length).set(values);
  return at;
}

/**
 * A float32 [N, C, S…] input of the kernels that go plane by plane (batch norm's passes, ParC) as
 * planes: where it lies in wasm memory with whole planes (a block of a wider tensor's channels, as
 * chunk gives a ParC block's halves and concat's backward their gradients), its address and the
 * floats between its images; else a contiguous copy. Gathering such a block first was a serial
 * copy on the calling thread, about 2.5 ms of a 2-thread training step over the ParC halves.
 */
function planesIn(t: Tensor): { at: number; imageFloats: number } {
  const { c, s } = channelGeometry(t.shape);
  const resident = heap.pointerOf(t.storage);
  if (resident >= 0 && t.strides[0] >= 0 && wholePlanes(t)) return { at: resident + t.offset * 4, imageFloats: t.strides[0] };
  return { at: copyIn(t), imageFloats: c * s };
}

/** Whether every (image, channel) plane of t is its S floats in row-major order, one after another along C. */
function wholePlanes(t: Tensor): boolean {
  let step = 1;
  for (let i = t.shape.length - 1; i >= 1; i--) {
    if (t.strides[i] !== step) return false;
    step *= t.shape[i];
  }
  return true;
}

/**
 * How batch norm's passes over [N, C, S…] split between threads: by images when the batch gives each
 * thread four or more, so that each core reads the planes its conv wrote (the convs split by images
 * too), else by channels. Both give the same bits (assembly/batchnorm.ts).
 */
function normSplit(n: number, c: number): { byImages: number; total: number } {
  return n >= 4 * getNumThreads() ? { byImages: 1, total: n } : { byImages: 0, total: c };
}

register('BatchNormStats', (x) => scoped(() => {
  const { n, c, s } = channelGeometry(x.shape);
  const planeSums = alloc(n * c * 16);
  const split = normSplit(n, c);
  const xv = planesIn(x);
  parallelFor(split.total, 'bnStats', [xv.at, xv.imageFloats, n, c, s, planeSums, split.byImages], x.size);
  const mean = alloc(c * 8);
  const variance = alloc(c * 8);
  wasm.bnStatsTotal(n, c, s, planeSums, mean, variance);
  return { mean: f64(mean, c).slice(), variance: f64(variance, c).slice() };
}));

register('BatchNormApply', (x, scale, shift, activation) => scoped(() => normApply(x, scale, shift, activation)));

/** act(x · scale[c] + shift[c]) over [N, C, S…], inside a kernel's scope. */
function normApply(x: Tensor, scale: Float64Array, shift: Float64Array, activation: NormActivation): Tensor {
  const { n, c, s } = channelGeometry(x.shape);
  const yp = outputIn(x.size);
  const xv = planesIn(x);
  normApplyIn(xv.at, xv.imageFloats, yp, n, c, s, vectorIn(scale), vectorIn(shift), activationCode(activation));
  return outputTensor(yp, x.shape);
}

/**
 * The same over [N, C, S] at xp (images xImage floats apart) into yp (contiguous; may be xp), scale
 * and shift float32 [C] in wasm memory, split as normSplit says.
 */
function normApplyIn(xp: number, xImage: number, yp: number, n: number, c: number, s: number, scale: number, shift: number, act: number): void {
  const split = normSplit(n, c);
  parallelFor(split.total, 'bnApply', [xp, xImage, yp, n, c, s, scale, shift, act, split.byImages], n * c * s);
}

register('BatchNormBackward', (x, gradOutput, mean, invstd, weight, bias, batchStats, activation) => scoped(() => {
  const { n, c, s } = channelGeometry(x.shape);
  const xv = planesIn(x);
  const dxp = outputIn(x.size);
  const meanp = vectorIn(mean);
  const invstdp = vectorIn(invstd);
  const weightp = vectorIn(weight);
  const gv = planesIn(gradOutput);
  const act = activationCode(activation);
  const planeSums = alloc(n * c * 16);
  const split = normSplit(n, c);
  parallelFor(split.total, 'bnBackwardSums', [
    xv.at, xv.imageFloats, gv.at, gv.imageFloats, dxp, n, c, s, meanp, invstdp, weightp, vectorIn(bias), act, planeSums, split.byImages,
  ], x.size);
  const dweight = alloc(c * 8);
  const dbias = alloc(c * 8);
  const corrections = alloc(c * 8);
  wasm.bnBackwardTotal(n, c, s, planeSums, batchStats ? 1 : 0, dweight, dbias, corrections);
  // With an activation the sums pass left dz in dx; without one dz is the gradient itself.
  const dz = act === 0 ? gv : { at: dxp, imageFloats: c * s };
  parallelFor(split.total, 'bnBackwardApply', [xv.at, xv.imageFloats, dz.at, dz.imageFloats, dxp, n, c, s, meanp, invstdp, weightp, corrections, split.byImages], x.size);
  return { dx: outputTensor(dxp, x.shape), dweight: f64(dweight, c).slice(), dbias: f64(dbias, c).slice() };
}));
