import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import ort from 'onnxruntime-node';
import {
  adaptiveAvgPool2d, avgPool2d, clamp, concat, conv2d, FormatError, gather, gelu, hardsigmoid, hardswish, interpolate, logSoftmax, matmul, max, maxPool2d, mean,
  pad, permute, randn, relu6, reshape, roll, rsqrt, sigmoid, slice, softmax, sub, Tensor, tensor, flip, mul,
} from '@parcnet/tensor';
import { noGrad } from '@parcnet/autograd';
import { BatchNorm2d, type Module } from '@parcnet/nn';
import { createModel, parcnetXS } from '@parcnet/models';
import { parcConv } from '@parcnet/parc';
import { goldenDir } from '@parcnet/testing';
import { exportOnnx, loadSafetensors, serializeOnnx } from '../src/index';

/** Runs an exported model in onnxruntime on `x`. */
async function runOnnx(bytes: Uint8Array, x: Tensor): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes);
  const result = await session.run({ input: new ort.Tensor('float32', Float32Array.from(x.toTypedArray()), [...x.shape]) });
  return result.output.data as Float32Array;
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
};

/**
 * Official init leaves BN at mean 0, variance 1, so a deep eval-mode network passes almost no
 * signal; one training-mode pass with momentum 1 sets every running statistic to the batch's, as
 * the golden models are calibrated. Then outputs depend on the input and a comparison means something.
 */
function calibrate(model: Module, size: number): void {
  const layers = model.modules().filter((m): m is BatchNorm2d => m instanceof BatchNorm2d);
  const saved = layers.map((bn) => bn.momentum);
  for (const bn of layers) (bn as { momentum: number | null }).momentum = 1;
  noGrad(() => model.train().forward(randn([4, 3, size, size], { seed: 7 })));
  layers.forEach((bn, i) => ((bn as { momentum: number | null }).momentum = saved[i]));
  model.eval();
}

/**
 * Exports at the example's size and compares onnxruntime with the TypeScript forward on the example
 * and on a second input: a value wrongly folded into a constant would agree on the first only.
 */
async function expectSameAsOnnxRuntime(model: Module, size: number, options: { opset?: number } = {}): Promise<{ worst: number; spread: number }> {
  const example = randn([1, 3, size, size], { seed: 11 });
  const other = randn([1, 3, size, size], { seed: 12 });
  const { bytes } = serializeOnnx(model, example, options);
  let worst = 0;
  const outputs: Float32Array[] = [];
  for (const x of [example, other]) {
    const want = noGrad(() => model.eval().forward(x)).toTypedArray() as Float32Array;
    const got = await runOnnx(bytes, x);
    expect(got.length).toBe(want.length);
    worst = Math.max(worst, maxAbsDiff(want, got));
    outputs.push(want);
  }
  const spread = maxAbsDiff(outputs[0], outputs[1]);
  const scale = Math.max(1, ...outputs.map((o) => o.reduce((m, v) => Math.max(m, Math.abs(v)), 0)));
  expect(worst / scale).toBeLessThan(1e-4);
  // The outputs move with the input far more than the export's error: the comparison is not vacuous.
  expect(spread).toBeGreaterThan(100 * Math.max(worst, 1e-7));
  return { worst, spread };
}

describe('exportOnnx: ParC models in onnxruntime', () => {
  it('ParC-Net-XS with the golden weights: onnxruntime reproduces the PyTorch golden logits and the TypeScript forward', async () => {
    const state = (await loadSafetensors(join(goldenDir, 'parcnet_xs_c10_state_dict.safetensors'))).tensors;
    const model = parcnetXS({ numClasses: 10, classifierDropout: 0, blockDropout: 0 });
    model.loadStateDict(state);
    const golden = (await loadSafetensors(join(goldenDir, 'parcnet_xs_c10_eval_64.safetensors'))).tensors;
    const dir = mkdtempSync(join(tmpdir(), 'parcnet-onnx-'));
    const info = await exportOnnx(model, golden.x, join(dir, 'xs.onnx'));
    expect(readdirSync(dir)).toEqual(['xs.onnx']);
    expect(info.inputShape).toEqual([2, 3, 64, 64]);
    expect(info.outputShape).toEqual([2, 10]);
    expect(info.nodes.Conv).toBeGreaterThan(50);
    expect(info.nodes.BatchNormalization).toBeUndefined(); // folded into Mul + Add per channel
    const session = await ort.InferenceSession.create(join(dir, 'xs.onnx'));
    const result = await session.run({ input: new ort.Tensor('float32', Float32Array.from(golden.x.toTypedArray()), [2, 3, 64, 64]) });
    expect(maxAbsDiff(result.output.data as Float32Array, golden.y.toTypedArray())).toBeLessThan(1e-4);
    expect(model.training).toBe(true); // a fresh model trains; the export put it in eval mode only for the trace
  }, 120_000);

  it.each([
    ['parcnet-s', 128],
    ['parcnet-xs', 96],
    ['parc-mobilenetv2', 224],
    ['parc-resnet50', 224],
    ['parc-convnext-xt', 224],
  ])('%s at %i px matches onnxruntime within 1e-4', async (name, size) => {
    const model = createModel(name, { numClasses: 100, seed: 3 });
    calibrate(model, size);
    await expectSameAsOnnxRuntime(model, size);
  }, 300_000);

  it('ParC-Net-XS exported at 64 and at 128 bakes a different kernel and PE for each size (spec §2.2)', () => {
    const model = createModel('parcnet-xs', { numClasses: 10, seed: 4 });
    const small = serializeOnnx(model, randn([1, 3, 64, 64], { seed: 1 })).bytes.length;
    const large = serializeOnnx(model, randn([1, 3, 128, 128], { seed: 1 })).bytes.length;
    expect(large).toBeGreaterThan(small); // longer resampled kernels and PEs
  }, 60_000);
});

describe('exportOnnx: the rest of the zoo', () => {
  it.each([
    ['mobilevit-xs', 64],
    ['mobilenetv2', 64],
    ['resnet50', 64],
    ['convnext-xt', 64],
    ['parcnet-h', 64],
    ['ssdlite-parcnet-xs', 128],
    ['deeplabv3-parcnet-s', 64],
  ])('%s at %i px matches onnxruntime within 1e-4', async (name, size) => {
    const model = createModel(name, { numClasses: 21, seed: 5 });
    calibrate(model, size);
    await expectSameAsOnnxRuntime(model, size);
  }, 300_000);
});

/** A module made of the ops the exporter knows, for the opset-dependent forms. */
const everyOp = {
  forward(x: Tensor): Tensor {
    let y = maxPool2d(x, 2, { stride: 2 });
    y = interpolate(y, { size: [12, 12], mode: 'bilinear' });
    y = concat([y, interpolate(x, { scaleFactor: 0.5, mode: 'nearest' })], 1); // [1, 6, 12, 12]
    y = sub(y, sub(mul(hardswish(y), -1), gelu(y)));
    y = mul(sigmoid(y), relu6(clamp(y, -1, 2)));
    y = pad(y, [1, 2, 0, 1], { mode: 'constant', value: 0.5 });
    y = roll(pad(y, [1, 1, 1, 1], { mode: 'circular' }), 2, 3);
    y = flip(slice(y, 3, 1, 14, 2), [2]);
    y = hardsigmoid(sub(y, mean(y, [2, 3], true)));
    y = parcConv(y, randn([6, 1, 7, 1], { seed: 2 }), { axis: 'H', metaPE: randn([1, 6, 7, 1], { seed: 3 }), bias: randn([6], { seed: 4 }) });
    y = avgPool2d(y, 3, { stride: 1, padding: 1, countIncludePad: false });
    y = adaptiveAvgPool2d(y, [3, 1]); // 15×7 → 3×1: equal bins, as ONNX's AveragePool needs
    const flat = reshape(permute(y, [0, 2, 3, 1]), [1, 18]);
    const scores = matmul(flat, randn([18, 5], { seed: 5 }));
    const norm = mul(scores, rsqrt(mean(mul(scores, scores), [1], true)));
    // A strided, dilated, padded convolution of the input, pooled to one value per channel.
    const conv = conv2d(x, randn([6, 3, 3, 3], { seed: 1 }), { stride: 2, padding: 2, dilation: 2 });
    return concat([softmax(norm, 1), logSoftmax(norm, 1), max(norm, [1], true), reshape(adaptiveAvgPool2d(conv, 1), [1, 6])], 1);
  },
};

describe('exportOnnx: ops and opsets', () => {
  it.each([13, 17, 20])('a graph of every exported op matches onnxruntime at opset %i', async (opset) => {
    const x = randn([1, 3, 24, 24], { seed: 21 });
    const { bytes, info } = serializeOnnx(everyOp, x, { opset });
    expect(info.opset).toBe(opset);
    if (opset === 13) expect(info.nodes.HardSwish).toBeUndefined();
    if (opset === 20) expect(info.nodes.Gelu).toBe(1);
    for (const input of [x, randn([1, 3, 24, 24], { seed: 22 })]) {
      const want = noGrad(() => everyOp.forward(input)).toTypedArray();
      expect(maxAbsDiff(await runOnnx(bytes, input), want)).toBeLessThan(1e-4);
    }
  }, 60_000);

  it('refuses what it cannot export, naming the op, shapes and dtypes, and writes no file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parcnet-onnx-'));
    const x = randn([1, 3, 8, 8], { seed: 1 });
    const gathers = { forward: (t: Tensor) => gather(t, 1, tensor([[[[0]]]], { dtype: 'int32' })) } as unknown as Module;
    await expect(exportOnnx(gathers, x, join(dir, 'g.onnx'))).rejects.toThrow(/exportOnnx: op gather on float32 \[1, 3, 8, 8\]: no ONNX form/);
    const constant = { forward: () => randn([1, 2], { seed: 1 }) } as unknown as Module;
    await expect(exportOnnx(constant, x, join(dir, 'c.onnx'))).rejects.toThrow(/does not depend on its input/);
    await expect(exportOnnx(everyOp, x, join(dir, 'o.onnx'), { opset: 9 })).rejects.toThrow(/opset must be an integer from 13 to 21, got 9/);
    await expect(exportOnnx(everyOp, tensor([[1, 2]], { dtype: 'int32' }), join(dir, 'i.onnx'))).rejects.toThrow(/example input must be float32, got int32 \[1, 2\]/);
    expect(readdirSync(dir)).toEqual([]);
    await expect(exportOnnx(createModel('parcnet-xs', { numClasses: 2 }), randn([1, 3, 32, 32]), '/no/such/dir/m.onnx')).rejects.toThrow(/ENOENT/);
    expect(existsSync('/no/such/dir')).toBe(false);
  }, 60_000);

  it('FormatError is what a refusal throws', () => {
    const gathers = { forward: (t: Tensor) => gather(t, 1, tensor([[[[0]]]], { dtype: 'int32' })) } as unknown as Module;
    expect(() => serializeOnnx(gathers, randn([1, 3, 2, 2]))).toThrow(FormatError);
  });
});
