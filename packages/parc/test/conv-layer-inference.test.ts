import { describe, expect, it } from 'vitest';
import { conv2dNormAct, invertedResidualNormAct, randn, withGradMode, type Tensor } from '@parcnet/tensor';
import { kernelsOf } from '@parcnet/testing';
import { ConvLayer, InvertedResidual } from '../src/conv-layer';

const noGrad = <T>(fn: () => T): T => withGradMode(false, fn);

/** Running statistics away from the initial ones, so the folded affine is not the identity. */
function withStatistics(layer: ConvLayer, seed: number): ConvLayer {
  const norm = layer.norm!;
  const c = norm.numFeatures;
  norm.runningMean!.storage.set(randn([c], { seed }).toTypedArray());
  norm.runningVar!.storage.set(randn([c], { seed: seed + 1 }).abs().add(0.5).toTypedArray());
  norm.weight!.storage.set(randn([c], { seed: seed + 2 }).toTypedArray());
  norm.bias!.storage.set(randn([c], { seed: seed + 3 }).toTypedArray());
  return layer;
}

describe('ConvLayer in evaluation without gradients: conv → norm → activation as one kernel', () => {
  const cases: [string, ConvLayer][] = [
    ['1×1 + SiLU', new ConvLayer(6, 10, 1)],
    ['3×3 stride 2 + Hardswish, with a conv bias', new ConvLayer(4, 8, 3, { stride: 2, activation: 'hard_swish', bias: true })],
    ['depthwise 3×3 + SiLU', new ConvLayer(8, 8, 3, { groups: 8 })],
    ['depthwise 5×5 (no fused depthwise kernel: a second pass)', new ConvLayer(8, 8, 5, { groups: 8 })],
    ['1×1 without activation', new ConvLayer(8, 5, 1, { activation: false })],
  ];
  cases.forEach(([name, layer], i) => {
    it(`${name}: equals conv, then norm, then activation`, () => {
      withStatistics(layer, 10 * i).eval();
      const x = randn([2, layer.conv.inChannels, 9, 7], { seed: i });
      const fused = noGrad(() => kernelsOf(() => layer.forward(x)));
      expect(fused.kernels).toContain('Conv2DNormAct');
      expect(fused.kernels).not.toContain('BatchNormApply');
      const unfused = noGrad(() => layer.block.forward(x));
      expect(fused.out.shape).toEqual(unfused.shape);
      const a = fused.out.toTypedArray();
      const b = unfused.toTypedArray();
      for (let k = 0; k < a.length; k++) expect(Math.abs(a[k] - b[k])).toBeLessThan(1e-5 * (1 + Math.abs(b[k])));
    });
  });

  it('training, or gradients wanted, keep the differentiable path', () => {
    const layer = withStatistics(new ConvLayer(4, 6, 3), 7);
    const x = randn([2, 4, 5, 5], { seed: 1 });
    expect(kernelsOf(() => layer.forward(x)).kernels).not.toContain('Conv2DNormAct');
    layer.eval();
    expect(kernelsOf(() => layer.forward(x)).kernels).not.toContain('Conv2DNormAct');
    expect(noGrad(() => kernelsOf(() => layer.forward(x))).kernels).toContain('Conv2DNormAct');
  });

  it('conv2dNormAct refuses inputs that require grad, and affines of the wrong length, naming the op and shapes', () => {
    const w = randn([3, 2, 1, 1], { requiresGrad: true });
    const x = randn([1, 2, 4, 4]);
    const ones = new Float64Array(3).fill(1);
    expect(() => conv2dNormAct(x, w, ones, new Float64Array(3), null)).toThrow(/conv2dNormAct: inference only/);
    expect(() => noGrad(() => conv2dNormAct(x, w, new Float64Array(2), new Float64Array(3), null))).toThrow(/conv2dNormAct: scale and shift must have 3 entries for weight \[3, 2, 1, 1\], got 2 and 3/);
  });
});

describe('InvertedResidual in evaluation without gradients: expand → depthwise → reduce (+ residual) as one kernel', () => {
  const cases: [string, InvertedResidual, number[]][] = [
    ['stride 1 with the residual, 16 × 16', new InvertedResidual(8, 8, 1, 4), [4, 8, 16, 16]],
    ['stride 2, odd map 9 × 7', new InvertedResidual(6, 10, 2, 4), [4, 6, 9, 7]],
    ['expand ratio 1 (no exp_1x1), stride 1 without the residual', new InvertedResidual(8, 12, 1, 1), [3, 8, 8, 12]],
    ['stride 1, rows of 6 (the depthwise output packed after it)', new InvertedResidual(8, 8, 1, 4), [4, 8, 6, 6]],
    ['one image (the kernel runs the two convs apart)', new InvertedResidual(8, 8, 1, 2), [1, 8, 8, 8]],
  ];
  cases.forEach(([name, block, shape], i) => {
    it(`${name}: bit for bit the layers one by one`, () => {
      const layers = block.block.children() as ConvLayer[];
      layers.forEach((layer, j) => withStatistics(layer, 100 * i + 10 * j));
      block.eval();
      const x = randn(shape, { seed: i });
      const fused = noGrad(() => kernelsOf(() => block.forward(x)));
      expect(fused.kernels).toContain('InvertedResidualNormAct');
      expect(fused.kernels).not.toContain('Conv2DNormAct');
      expect(fused.kernels).not.toContain('Add');
      const y = noGrad(() => layers.reduce((h, layer) => layer.forward(h), x));
      const want = block.useResidual ? noGrad(() => x.add(y)) : y;
      expect(fused.out.shape).toEqual(want.shape);
      expect(Array.from(fused.out.toTypedArray())).toEqual(Array.from(want.toTypedArray()));
    });
  });

  it('training, or gradients wanted, keep the layers apart', () => {
    const block = new InvertedResidual(4, 4, 1, 2);
    const x = randn([2, 4, 6, 6], { seed: 1 });
    expect(noGrad(() => kernelsOf(() => block.forward(x))).kernels).not.toContain('InvertedResidualNormAct');
    block.eval();
    expect(kernelsOf(() => block.forward(x)).kernels).not.toContain('InvertedResidualNormAct');
    expect(noGrad(() => kernelsOf(() => block.forward(x))).kernels).toContain('InvertedResidualNormAct');
  });

  it('invertedResidualNormAct refuses a non-depthwise middle stage, a pointwise stage that is not 1×1, and a residual of the wrong shape, naming them', () => {
    const x = randn([2, 4, 6, 6]);
    const stage = (weight: Tensor, options = {}) => ({ weight, scale: new Float64Array(weight.shape[0]).fill(1), shift: new Float64Array(weight.shape[0]), activation: null, options });
    const dw = stage(randn([4, 1, 3, 3]), { padding: 1, groups: 4 });
    const pw = stage(randn([5, 4, 1, 1]));
    expect(() => noGrad(() => invertedResidualNormAct(x, { depthwise: stage(randn([4, 4, 3, 3]), { padding: 1 }), pointwise: pw }))).toThrow(/invertedResidualNormAct: the depthwise stage must have groups = 4 channels/);
    expect(() => noGrad(() => invertedResidualNormAct(x, { depthwise: dw, pointwise: stage(randn([5, 4, 3, 3])) }))).toThrow(/invertedResidualNormAct: the pointwise stage must be a 1×1 conv over 4 channels, weight \[O, 4, 1, 1\], got \[5, 4, 3, 3\]/);
    expect(() => noGrad(() => invertedResidualNormAct(x, { expand: stage(randn([8, 3, 1, 1])), depthwise: dw, pointwise: pw }))).toThrow(/invertedResidualNormAct: the expand stage must be a 1×1 conv over 4 channels/);
    expect(() => noGrad(() => invertedResidualNormAct(x, { depthwise: dw, pointwise: pw }, randn([2, 4, 6, 6])))).toThrow(/invertedResidualNormAct: the residual must be float32 \[2, 5, 6, 6\] \(the output\), got float32 \[2, 4, 6, 6\]/);
  });
});
