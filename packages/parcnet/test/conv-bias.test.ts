import { describe, expect, it } from 'vitest';
import { add, conv2d, noGrad, randn, reshape, traceOps } from 'parcnet';

// conv2d with a bias adds it in the conv kernel's epilogue (Conv2DNormAct with scale 1): the same
// numbers as the conv followed by a broadcast add, the bias gradient Σ over N, H, W, and a tracer
// still sees a plain conv and an add.
describe('conv2d with a bias', () => {
  const x = randn([3, 16, 5, 7], { seed: 11 });
  const w = randn([24, 16, 1, 1], { seed: 12 });
  const b = randn([24], { seed: 13 });
  const w3 = randn([24, 16, 3, 3], { seed: 14 });

  it('equals the conv plus a broadcast add bit for bit (1×1, 3×3 Winograd, strided), values and gradients', () => {
    for (const [weight, options] of [[w, {}], [w3, { padding: 1 }], [w3, { stride: 2 }]] as const) {
      const xs = [x.clone().requiresGrad_(), x.clone().requiresGrad_()];
      const ws = [weight.clone().requiresGrad_(), weight.clone().requiresGrad_()];
      const bs = [b.clone().requiresGrad_(), b.clone().requiresGrad_()];
      const fused = conv2d(xs[0], ws[0], { ...options, bias: bs[0] });
      const plain = add(conv2d(xs[1], ws[1], options), reshape(bs[1], [1, 24, 1, 1]));
      expect(Array.from(fused.toTypedArray())).toEqual(Array.from(plain.toTypedArray()));
      const g = randn(fused.shape, { seed: 15 });
      fused.backward(g);
      plain.backward(g);
      expect(Array.from(bs[0].grad!.toTypedArray())).toEqual(Array.from(bs[1].grad!.toTypedArray()));
      expect(Array.from(ws[0].grad!.toTypedArray())).toEqual(Array.from(ws[1].grad!.toTypedArray()));
      expect(Array.from(xs[0].grad!.toTypedArray())).toEqual(Array.from(xs[1].grad!.toTypedArray()));
    }
  });

  it('is traced as a conv and an add (ONNX export, profile)', () => {
    const ops: string[] = [];
    traceOps(() => noGrad(() => conv2d(x, w, { bias: b })), (op) => void ops.push(op.opName));
    expect(ops).toEqual(['conv2d', 'reshape', 'expand', 'add']);
  });
});
