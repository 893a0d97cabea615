import { registerKernel, sizeOf } from '@parcnet/tensor';
import { PRIORITY, WASM } from './registration.js';
import { alloc, outputIn, outputTensor, runtime, scoped, wasm } from './runtime.js';

// Dropout's mask (assembly/random.ts), float32 only. It is one sequential xoshiro128** stream, so it
// runs on the calling thread: split across threads, each part would need the stream's state at its
// start, which only the draws before it give.
registerKernel({
  name: 'DropoutMask', backend: WASM, priority: PRIORITY,
  guard: (shape, _keepBelow, _scale, dtype) => dtype === 'float32' && sizeOf(shape) > 0,
  fn: (shape, keepBelow, scale, _dtype, state) => scoped(() => {
    const size = sizeOf(shape);
    const words = alloc(16);
    const mask = outputIn(size);
    // The views are made after every allocation: growing the memory detaches earlier ones.
    new Uint32Array(runtime.memory.buffer, words, 4).set(state);
    wasm.dropoutMask(mask, size, keepBelow, scale, words);
    const [s0, s1, s2, s3] = new Uint32Array(runtime.memory.buffer, words, 4);
    return { mask: outputTensor(mask, shape), state: [s0, s1, s2, s3] };
  }),
});
