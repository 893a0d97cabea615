import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as P from '@parcnet/tensor';
import '../src/index';

/**
 * Replays spec/fixtures/core-goldens.json, made by spec/make_core_goldens.py with PyTorch 1.13.1:
 * each case's forward output and the gradients of sum(output · seed) must match PyTorch's.
 */

interface Packed { shape: number[]; dtype: 'float32' | 'float64' | 'int64'; data: number[] }
interface GoldenCase {
  name: string;
  op: string;
  options: Record<string, unknown>;
  inputs: Record<string, Packed>;
  output: Packed;
  seed: Packed | null;
  grads: Record<string, Packed>;
}

const file = fileURLToPath(new URL('../../../spec/fixtures/core-goldens.json', import.meta.url));
const goldens = JSON.parse(readFileSync(file, 'utf8')) as { torch: string; cases: GoldenCase[] };

const unpack = (p: Packed): P.Tensor => P.tensor(p.data, { shape: p.shape, dtype: p.dtype === 'float32' ? 'float32' : 'float64' });

type Inputs = Record<string, P.Tensor>;
const o = (c: GoldenCase) => c.options as Record<string, never>;
const axesOf = (c: GoldenCase): number[] | undefined => (o(c).axes as number[] | null) ?? undefined;
const activations: Record<string, (x: P.Tensor) => P.Tensor> = {
  gelu: P.gelu, hardswish: P.hardswish, hardsigmoid: P.hardsigmoid, relu: P.relu, relu6: P.relu6,
  silu: P.silu, sigmoid: P.sigmoid, tanh: P.tanh,
};

function run(c: GoldenCase, t: Inputs): P.Tensor {
  const opts = o(c);
  switch (c.op) {
    case 'conv2d':
      return P.conv2d(t.x, t.w, { stride: opts.stride, padding: opts.padding, dilation: opts.dilation, groups: opts.groups, bias: t.b });
    case 'interpolate':
      return P.interpolate(t.x, c.options as P.InterpolateOptions);
    case 'var':
      return P.variance(t.x, axesOf(c), { unbiased: opts.unbiased });
    case 'logsumexp':
      return P.logsumexp(t.x, axesOf(c));
    case 'clamp':
      return P.clamp(t.x, opts.min, opts.max);
    case 'maximum':
      return P.maximum(t.a, t.b);
    case 'pow':
      return P.pow(t.a, t.b);
    case 'softmax':
      return P.softmax(t.x, opts.axis);
    case 'logSoftmax':
      return P.logSoftmax(t.x, opts.axis);
    case 'avgPool2d':
      return P.avgPool2d(t.x, opts.kernelSize, { stride: opts.stride, padding: opts.padding, countIncludePad: opts.countIncludePad });
    case 'maxPool2d':
      return P.maxPool2d(t.x, opts.kernelSize, { stride: opts.stride, padding: opts.padding });
    case 'adaptiveAvgPool2d':
      return P.adaptiveAvgPool2d(t.x, opts.outputSize);
    case 'pad':
      return P.pad(t.x, opts.pads, { mode: opts.mode, value: opts.value });
    case 'linspace':
      return P.linspace(opts.start, opts.end, opts.steps, { dtype: 'float64' });
    default: {
      const activation = activations[c.op];
      if (!activation) throw new Error(`no runner for golden op ${c.op}`);
      return activation(t.x);
    }
  }
}

function expectClose(actual: P.Tensor, expected: Packed, what: string): void {
  expect(actual.shape, `${what} shape`).toEqual(expected.shape);
  // float64 cases agree to rounding; float32 ones differ by PyTorch's float32 accumulation order.
  const [atol, rtol] = expected.dtype === 'float32' ? [2e-5, 1e-5] : [1e-10, 1e-10];
  const values = actual.toTypedArray();
  let worst = 0;
  let worstAt = -1;
  expected.data.forEach((e, i) => {
    const excess = Math.abs(values[i] - e) - (atol + rtol * Math.abs(e));
    if (excess > worst) [worst, worstAt] = [excess, i];
  });
  expect(worstAt, worstAt >= 0 ? `${what} element ${worstAt}: ${values[worstAt]} vs PyTorch ${expected.data[worstAt]}` : '').toBe(-1);
}

describe(`PyTorch ${goldens.torch} goldens`, () => {
  it('cover the subtle cases the spec asks for', () => {
    const ops = new Set(goldens.cases.map((c) => c.op));
    for (const op of ['conv2d', 'interpolate', 'var', 'gelu', 'hardswish', 'hardsigmoid', 'logsumexp']) expect(ops).toContain(op);
  });

  for (const c of goldens.cases) {
    it(c.name, () => {
      const inputs: Inputs = {};
      for (const [k, v] of Object.entries(c.inputs)) inputs[k] = unpack(v).requiresGrad_();
      const out = run(c, inputs);
      expectClose(out, c.output, 'output');
      if (!c.seed) return;
      out.mul(unpack(c.seed)).sum().backward();
      for (const [k, g] of Object.entries(c.grads)) expectClose(inputs[k].grad!, g, `gradient of ${k}`);
    });
  }
});
