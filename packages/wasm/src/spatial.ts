import { bilinearTaps, pooledShape, registerKernel, Tensor, type Pool2DAttrs, type ResizeAttrs, type Tap } from '@parcnet/tensor';
import { PRIORITY, register, WASM } from './registration.js';
import { alloc, copyIn, heap, outputIn, outputTensor, scoped } from './runtime.js';
import { parallelFor } from './threads.js';

// Pooling and bilinear resize of [N, C, H, W] float32 tensors, forward and backward (assembly/pool.ts,
// assembly/resize.ts): threads split the N·C planes.

/** The arguments after the sizes that the pooling kernels take: window, stride, padding. */
const poolArgs = (a: Pool2DAttrs): number[] => [a.kernelSize[0], a.kernelSize[1], a.stride[0], a.stride[1], a.padding[0], a.padding[1]];

register('AvgPool2D', (x, attrs) => scoped(() => {
  const [n, c, h, w] = x.shape;
  const shape = pooledShape(x.shape, attrs);
  const [, , ho, wo] = shape;
  const xp = copyIn(x);
  const yp = outputIn(n * c * ho * wo);
  parallelFor(n * c, 'avgPool', [xp, yp, h, w, ho, wo, ...poolArgs(attrs), attrs.countIncludePad ? 1 : 0], x.size);
  return outputTensor(yp, shape);
}));

register('AvgPool2DGrad', (gradOutput, inputShape, attrs) => scoped(() => {
  const [n, c, h, w] = inputShape;
  const [, , ho, wo] = gradOutput.shape;
  const gp = copyIn(gradOutput);
  const dxp = outputIn(n * c * h * w, true);
  parallelFor(n * c, 'avgPoolGrad', [gp, dxp, h, w, ho, wo, ...poolArgs(attrs), attrs.countIncludePad ? 1 : 0], n * c * h * w);
  return outputTensor(dxp, inputShape);
}));

register('MaxPool2D', (x, attrs) => scoped(() => {
  const [n, c, h, w] = x.shape;
  const shape = pooledShape(x.shape, attrs);
  const [, , ho, wo] = shape;
  const count = n * c * ho * wo;
  const xp = copyIn(x);
  const yp = outputIn(count);
  const ip = alloc(count * 4);
  parallelFor(n * c, 'maxPool', [xp, yp, ip, h, w, ho, wo, ...poolArgs(attrs)], x.size);
  const indices = Tensor.empty(shape, 'int32');
  indices.storage.set(heap.i32(ip, count));
  return { output: outputTensor(yp, shape), indices };
}));

// The indices are int32, so this guard is not the float32 one.
registerKernel({
  name: 'MaxPool2DGrad', backend: WASM, priority: PRIORITY,
  guard: (gradOutput, indices) => gradOutput.dtype === 'float32' && indices.dtype === 'int32',
  fn: (gradOutput, indices, inputShape) => scoped(() => {
    const [n, c, h, w] = inputShape;
    const outPixels = gradOutput.shape[2] * gradOutput.shape[3];
    const gp = copyIn(gradOutput);
    const ip = alloc(indices.size * 4);
    heap.i32(ip, indices.size).set(indices.contiguous().storage);
    const dxp = outputIn(n * c * h * w, true);
    parallelFor(n * c, 'maxPoolGrad', [gp, ip, dxp, h * w, outPixels], n * c * outPixels);
    return outputTensor(dxp, inputShape);
  }),
});

register('AdaptiveAvgPool2D', (x, outSize) => scoped(() => {
  const [n, c, h, w] = x.shape;
  const xp = copyIn(x);
  const yp = outputIn(n * c * outSize[0] * outSize[1]);
  parallelFor(n * c, 'adaptiveAvgPool', [xp, yp, h, w, outSize[0], outSize[1]], x.size);
  return outputTensor(yp, [n, c, outSize[0], outSize[1]]);
}));

register('AdaptiveAvgPool2DGrad', (gradOutput, inputShape) => scoped(() => {
  const [n, c, h, w] = inputShape;
  const gp = copyIn(gradOutput);
  const dxp = outputIn(n * c * h * w, true);
  parallelFor(n * c, 'adaptiveAvgPoolGrad', [gp, dxp, h, w, gradOutput.shape[2], gradOutput.shape[3]], n * c * h * w);
  return outputTensor(dxp, inputShape);
}));

/** The taps of one axis in wasm memory, as assembly/resize.ts reads them: i0, i1 (int32), w0, w1 (float64). */
function tapsIn(taps: Tap[]): number {
  const at = alloc(taps.length * 24);
  const ints = heap.i32(at, taps.length * 6);
  const floats = new Float64Array(ints.buffer, at, taps.length * 3);
  taps.forEach((t, o) => {
    ints[o * 6] = t.i0;
    ints[o * 6 + 1] = t.i1;
    floats[o * 3 + 1] = t.w0;
    floats[o * 3 + 2] = t.w1;
  });
  return at;
}

function resizeTaps(inputShape: readonly number[], attrs: ResizeAttrs): [number, number] {
  return [
    tapsIn(bilinearTaps(attrs.outSize[0], inputShape[2], attrs.alignCorners, attrs.scale[0])),
    tapsIn(bilinearTaps(attrs.outSize[1], inputShape[3], attrs.alignCorners, attrs.scale[1])),
  ];
}

register('ResizeBilinear', (x, attrs) => scoped(() => {
  const [n, c, h, w] = x.shape;
  const [ho, wo] = attrs.outSize;
  const xp = copyIn(x);
  const yp = outputIn(n * c * ho * wo);
  parallelFor(n * c, 'resizeBilinear', [xp, yp, h, w, ho, wo, ...resizeTaps(x.shape, attrs)], n * c * ho * wo * 4);
  return outputTensor(yp, [n, c, ho, wo]);
}));

register('ResizeBilinearGrad', (gradOutput, inputShape, attrs) => scoped(() => {
  const [n, c, h, w] = inputShape;
  const [ho, wo] = attrs.outSize;
  const gp = copyIn(gradOutput);
  const dxp = outputIn(n * c * h * w, true);
  parallelFor(n * c, 'resizeBilinearGrad', [gp, dxp, h, w, ho, wo, ...resizeTaps(inputShape, attrs)], n * c * ho * wo * 4);
  return outputTensor(dxp, inputShape);
}));
