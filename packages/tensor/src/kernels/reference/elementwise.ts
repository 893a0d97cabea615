import ndarray from 'ndarray';
import ops from 'ndarray-ops';
import { binaryKernelNames, comparisonKernelNames, unaryKernelNames, type BinaryKernelName, type ComparisonKernelName } from '../../kernel-names.js';
import { registerKernel } from '../../registry.js';
import { Tensor } from '../../tensor.js';
import { toNdarray } from '../../ndarray.js';
import { unaryMath } from './scalar-math.js';
import { castContiguous, emptyLike, REFERENCE, rowMajor, rowMajorFloat } from './util.js';

// Binary arithmetic and comparisons run on ndarray-ops' strided loops, which read the broadcast
// (stride-0) views directly.
type NdBinary = (out: ndarray.NdArray, a: ndarray.NdArray, b: ndarray.NdArray) => void;
const ndBinary: Record<BinaryKernelName | ComparisonKernelName, NdBinary> = {
  Add: ops.add, Sub: ops.sub, Mul: ops.mul, Div: ops.div, Pow: ops.pow, Maximum: ops.max, Minimum: ops.min,
  Less: ops.lt, LessEqual: ops.leq, Greater: ops.gt, GreaterEqual: ops.geq, Equal: ops.eq, NotEqual: ops.neq,
};

function binaryInto(out: Tensor, name: BinaryKernelName | ComparisonKernelName, a: Tensor, b: Tensor): Tensor {
  if (out.size > 0) ndBinary[name](ndarray(out.storage, [...out.shape]), toNdarray(a), toNdarray(b));
  return out;
}

for (const name of binaryKernelNames) {
  registerKernel({ name, backend: REFERENCE, priority: 0, fn: (a, b) => binaryInto(emptyLike(a), name, a, b) });
}
for (const name of comparisonKernelNames) {
  registerKernel({ name, backend: REFERENCE, priority: 0, fn: (a, b) => binaryInto(Tensor.empty(a.shape, 'int32'), name, a, b) });
}

for (const name of unaryKernelNames) {
  const { forward, derivative } = unaryMath[name];
  registerKernel({
    name,
    backend: REFERENCE,
    priority: 0,
    fn: (x) => {
      const src = rowMajorFloat(name, x);
      const out = emptyLike(x);
      const dst = out.storage;
      for (let i = 0; i < dst.length; i++) dst[i] = forward(src[i]);
      return out;
    },
  });
  registerKernel({
    name: `${name}Grad`,
    backend: REFERENCE,
    priority: 0,
    fn: (saved, gradOutput) => {
      const s = rowMajorFloat(`${name}Grad`, saved);
      const g = rowMajorFloat(`${name}Grad`, gradOutput);
      const out = emptyLike(gradOutput);
      const dst = out.storage;
      for (let i = 0; i < dst.length; i++) dst[i] = g[i] * derivative(s[i]);
      return out;
    },
  });
}

registerKernel({ name: 'Cast', backend: REFERENCE, priority: 0, fn: castContiguous });

registerKernel({
  name: 'SliceGrad',
  backend: REFERENCE,
  priority: 0,
  fn: (gradOutput, inputShape, axis, start, step) => {
    const full = Tensor.empty(inputShape, gradOutput.dtype);
    const strides = full.strides.map((s, i) => (i === axis ? s * step : s));
    const view = new Tensor(full.storage, gradOutput.shape, strides, start * full.strides[axis]);
    if (view.size > 0) ops.assign(toNdarray(view), toNdarray(gradOutput));
    return full;
  },
});

registerKernel({
  name: 'Clamp',
  backend: REFERENCE,
  priority: 0,
  fn: (x, min, max) => {
    const src = rowMajor(x);
    const out = emptyLike(x);
    const dst = out.storage;
    for (let i = 0; i < dst.length; i++) {
      const v = src[i];
      dst[i] = v < min ? min : v > max ? max : v;
    }
    return out;
  },
});

registerKernel({
  name: 'ClampGrad',
  backend: REFERENCE,
  priority: 0,
  fn: (x, gradOutput, min, max) => {
    const src = rowMajor(x);
    const g = rowMajor(gradOutput);
    const out = emptyLike(gradOutput);
    const dst = out.storage;
    for (let i = 0; i < dst.length; i++) dst[i] = src[i] >= min && src[i] <= max ? g[i] : 0;
    return out;
  },
});

registerKernel({
  name: 'Where',
  backend: REFERENCE,
  priority: 0,
  fn: (condition, a, b) => {
    const c = rowMajor(condition);
    const av = rowMajor(a);
    const bv = rowMajor(b);
    const out = emptyLike(a);
    const dst = out.storage;
    for (let i = 0; i < dst.length; i++) dst[i] = c[i] !== 0 ? av[i] : bv[i];
    return out;
  },
});
