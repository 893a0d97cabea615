import { FormatError, formatShape, Tensor, traceOps, withGradMode, type TracedOp } from '@parcnet/tensor';
import { writeFileAtomic } from '#files';
import { ATTRIBUTE_TYPE, ModelProto, ONNX_DTYPE } from './proto.js';

/** Anything with a forward of one tensor; eval() is called first when it has one (BN uses running statistics). */
export interface OnnxExportable {
  /** The computation to export: one float32 input tensor to one output tensor. */
  forward(x: Tensor): Tensor;
  /** Puts the model in inference mode before the trace (BatchNorm on running statistics). */
  eval?(): unknown;
  /** Called as train(true) after the trace when the model was training before it. */
  train?(mode?: boolean): unknown;
  /** Whether the model is in training mode, read to restore it after the trace. */
  readonly training?: boolean;
}

/** Options of {@link exportOnnx} and {@link serializeOnnx}. */
export interface OnnxExportOptions {
  /** ONNX opset, 13 … 21 (default 17). */
  opset?: number;
  /** Name of the graph's input. Default 'input'. */
  inputName?: string;
  /** Name of the graph's output. Default 'output'. */
  outputName?: string;
  /** Free text stored as the model's doc_string. */
  docString?: string;
}

/** What an export wrote, as {@link exportOnnx} and {@link serializeOnnx} report it. */
export interface OnnxExportInfo {
  /** The opset the graph was written for. */
  opset: number;
  /** Graph nodes by op type, e.g. { Conv: 51, Add: 20 }. */
  nodes: Record<string, number>;
  /** How many initializers the graph holds: the weights and every constant folded from them. */
  initializers: number;
  /** The graph's fixed input shape: the example input's, e.g. [1, 3, 256, 256]. */
  inputShape: number[];
  /** The graph's output shape for that input. */
  outputShape: number[];
  /** Size of the serialised model, in bytes. */
  bytes: number;
}

interface Attribute {
  name: string;
  type: number;
  f?: number;
  i?: number;
  ints?: number[];
  floats?: number[];
  s?: Uint8Array;
}

interface Node {
  op_type: string;
  input: string[];
  output: string[];
  name: string;
  attribute: Attribute[];
}

interface Initializer {
  name: string;
  dims: number[];
  data_type: number;
  raw_data: Uint8Array;
}


const BINARY: Record<string, string> = { add: 'Add', sub: 'Sub', mul: 'Mul', div: 'Div', pow: 'Pow', maximum: 'Max', minimum: 'Min' };
const UNARY: Record<string, string> = {
  neg: 'Neg', exp: 'Exp', log: 'Log', sqrt: 'Sqrt', abs: 'Abs', sign: 'Sign', relu: 'Relu', sigmoid: 'Sigmoid', tanh: 'Tanh',
};
/** Ops that only reshape (same element order): a Reshape to the output's shape. */
const RESHAPES = new Set(['reshape', 'squeeze', 'unsqueeze']);

const int = (name: string, i: number): Attribute => ({ name, type: ATTRIBUTE_TYPE.INT, i });
const ints = (name: string, values: readonly number[]): Attribute => ({ name, type: ATTRIBUTE_TYPE.INTS, ints: [...values] });
const float = (name: string, f: number): Attribute => ({ name, type: ATTRIBUTE_TYPE.FLOAT, f });
const text = (name: string, s: string): Attribute => ({ name, type: ATTRIBUTE_TYPE.STRING, s: new TextEncoder().encode(s) });

/**
 * Builds an ONNX graph from the ops one forward pass runs (traced through the tape's op hook):
 * values computed from the input become graph nodes; everything else — weights, buffers, and
 * whatever the forward computes from them alone (ParC kernels resampled to this input's size, BN
 * scales) — is folded into initializers. Shapes are those of the example input: the graph is
 * static, as torch.onnx.export's is by default.
 */
class GraphBuilder {
  readonly nodes: Node[] = [];
  readonly initializers: Initializer[] = [];
  /** ONNX value names of tensors computed from the input. */
  private readonly names = new Map<Tensor, string>();
  /** Outputs of expand views → their sources: broadcasting ONNX ops take the source as is. */
  private readonly expandSource = new Map<Tensor, Tensor>();
  private readonly constants = new Map<Tensor, string>();
  private counter = 0;

  constructor(readonly opset: number) {}

  bindInput(t: Tensor, name: string): void {
    this.names.set(t, name);
  }

  /** Whether a tensor depends on the graph's input. */
  isGraph(t: Tensor): boolean {
    if (this.names.has(t)) return true;
    const source = this.expandSource.get(t);
    return source !== undefined && this.isGraph(source);
  }

  fresh(hint: string): string {
    return `${hint}_${this.counter++}`;
  }

  node(opType: string, inputs: string[], attributes: Attribute[] = [], outputs = [this.fresh(opType.toLowerCase())]): string {
    this.nodes.push({ op_type: opType, input: inputs, output: outputs, name: `${opType}_${this.nodes.length}`, attribute: attributes });
    return outputs[0];
  }

  constant(data: Float32Array | BigInt64Array | Int32Array, dims: readonly number[], hint = 'const'): string {
    const name = this.fresh(hint);
    const dataType = data instanceof Float32Array ? ONNX_DTYPE.float32 : data instanceof BigInt64Array ? ONNX_DTYPE.int64 : ONNX_DTYPE.int32;
    this.initializers.push({ name, dims: [...dims], data_type: dataType, raw_data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice() });
    return name;
  }

  int64s(values: readonly number[], hint = 'shape'): string {
    return this.constant(BigInt64Array.from(values.map((v) => BigInt(v))), [values.length], hint);
  }

  /** The ONNX name of `t`: a graph value, or an initializer holding its data now. */
  value(t: Tensor, broadcastOk = false): string {
    const named = this.names.get(t);
    if (named) return named;
    const source = this.expandSource.get(t);
    if (source) {
      if (broadcastOk) return this.value(source, true);
      const expanded = this.node('Expand', [this.value(source), this.int64s(t.shape)]);
      this.names.set(t, expanded);
      return expanded;
    }
    const known = this.constants.get(t);
    if (known) return known;
    let name: string;
    if (t.dtype === 'float32' || t.dtype === 'float64') name = this.constant(Float32Array.from(t.contiguous().toTypedArray() as ArrayLike<number>), t.shape, 'weight');
    else if (t.dtype === 'int32') name = this.constant(Int32Array.from(t.contiguous().toTypedArray() as ArrayLike<number>), t.shape, 'int');
    else throw new FormatError(`exportOnnx: a constant of dtype ${t.dtype} ${formatShape(t.shape)} has no ONNX form here`);
    this.constants.set(t, name);
    return name;
  }

  private bind(t: Tensor, name: string): void {
    this.names.set(t, name);
  }

  /** Adds the nodes for one traced op (ops on constants alone are folded: nothing to emit). */
  add(op: TracedOp): void {
    const { opName, output, inputs } = op;
    if (opName === 'expand') {
      this.expandSource.set(output, inputs[0]);
      return;
    }
    if (!inputs.some((t) => this.isGraph(t))) return;
    const attrs = op.attrs as Record<string, unknown>;
    const x = inputs[0];
    const bind = (name: string): void => this.bind(output, name);
    const fail = (why: string): never => {
      throw new FormatError(`exportOnnx: op ${opName} on ${inputs.map((t) => `${t.dtype} ${formatShape(t.shape)}`).join(', ')}: ${why}`);
    };

    if (BINARY[opName]) return bind(this.node(BINARY[opName], [this.value(inputs[0], true), this.value(inputs[1], true)]));
    if (UNARY[opName]) return bind(this.node(UNARY[opName], [this.value(x)]));
    if (RESHAPES.has(opName)) return bind(this.node('Reshape', [this.value(x), this.int64s(output.shape)]));
    switch (opName) {
      case 'contiguous':
        return bind(this.value(x));
      case 'permute':
        return bind(this.node('Transpose', [this.value(x)], [ints('perm', attrs.perm as number[])]));
      case 'flip': {
        const axes = attrs.axes as number[];
        const starts = this.int64s(axes.map(() => -1));
        const ends = this.int64s(axes.map(() => -(2 ** 53)));
        return bind(this.node('Slice', [this.value(x), starts, ends, this.int64s(axes), this.int64s(axes.map(() => -1))]));
      }
      case 'slice': {
        const { axis, start, length, step } = attrs as { axis: number; start: number; length: number; step: number };
        const end = start + (length - 1) * step + 1;
        return bind(this.node('Slice', [this.value(x), this.int64s([start]), this.int64s([end]), this.int64s([axis]), this.int64s([step])]));
      }
      case 'concat':
        return bind(this.node('Concat', inputs.map((t) => this.value(t)), [int('axis', attrs.axis as number)]));
      case 'cast': {
        const to = ONNX_DTYPE[attrs.dtype as keyof typeof ONNX_DTYPE];
        if (!to) fail(`no ONNX dtype for ${String(attrs.dtype)}`);
        return bind(this.node('Cast', [this.value(x)], [int('to', to)]));
      }
      case 'relu6':
        return bind(this.node('Clip', [this.value(x), this.scalar(0), this.scalar(6)]));
      case 'clamp': {
        const { min, max } = attrs as { min: number; max: number };
        return bind(this.node('Clip', [this.value(x), Number.isFinite(min) ? this.scalar(min) : '', Number.isFinite(max) ? this.scalar(max) : '']));
      }
      case 'silu':
        return bind(this.silu(this.value(x)));
      case 'hardswish':
        return bind(this.hardswish(this.value(x)));
      case 'hardsigmoid':
        return bind(this.node('HardSigmoid', [this.value(x)], [float('alpha', 1 / 6), float('beta', 0.5)]));
      case 'rsqrt':
        return bind(this.node('Reciprocal', [this.node('Sqrt', [this.value(x)])]));
      case 'gelu': {
        if (this.opset >= 20) return bind(this.node('Gelu', [this.value(x)]));
        // x · ½ (1 + erf(x / √2)), the exact GELU.
        const v = this.value(x);
        const erf = this.node('Erf', [this.node('Div', [v, this.scalar(Math.SQRT2)])]);
        return bind(this.node('Mul', [v, this.node('Mul', [this.node('Add', [erf, this.scalar(1)]), this.scalar(0.5)])]));
      }
      case 'matmul':
        return bind(this.node('MatMul', [this.value(inputs[0]), this.value(inputs[1])]));
      case 'softmax':
        return bind(this.node('Softmax', [this.value(x)], [int('axis', attrs.axis as number)]));
      case 'logSoftmax':
        return bind(this.node('LogSoftmax', [this.value(x)], [int('axis', attrs.axis as number)]));
      case 'sum':
        return bind(this.node('ReduceSum', [this.value(x), this.int64s(attrs.axes as number[])], [int('keepdims', 1)]));
      case 'max':
      case 'min': {
        const type = opName === 'max' ? 'ReduceMax' : 'ReduceMin';
        const axes = attrs.axes as number[];
        if (this.opset >= 18) return bind(this.node(type, [this.value(x), this.int64s(axes)], [int('keepdims', 1)]));
        return bind(this.node(type, [this.value(x)], [ints('axes', axes), int('keepdims', 1)]));
      }
      case 'conv2d': {
        if (this.isGraph(inputs[1])) fail('the weight must not depend on the input');
        const { stride, padding, dilation, groups } = attrs as { stride: number[]; padding: number[]; dilation: number[]; groups: number };
        const w = inputs[1];
        return bind(this.node('Conv', [this.value(x), this.value(w)], [
          ints('kernel_shape', w.shape.slice(2)), ints('strides', stride), ints('pads', [padding[0], padding[1], padding[0], padding[1]]), ints('dilations', dilation), int('group', groups),
        ]));
      }
      case 'batchNorm': {
        // y = x·scale + shift per channel (scale and shift from the running statistics, since the model is in eval mode).
        const { scale, shift, activation } = attrs as { scale: ArrayLike<number>; shift: ArrayLike<number>; activation: string | null };
        const c = x.shape[1];
        const perChannel = [1, c, ...x.shape.slice(2).map(() => 1)];
        let y = this.node('Add', [
          this.node('Mul', [this.value(x), this.constant(Float32Array.from(scale), perChannel, 'bn_scale')]),
          this.constant(Float32Array.from(shift), perChannel, 'bn_shift'),
        ]);
        if (activation === 'silu') y = this.silu(y);
        else if (activation === 'hardswish') y = this.hardswish(y);
        else if (activation) fail(`unknown fused activation ${activation}`);
        return bind(y);
      }
      case 'avgPool2d':
      case 'maxPool2d': {
        const { kernelSize, stride, padding, countIncludePad } = attrs as { kernelSize: number[]; stride: number[]; padding: number[]; countIncludePad?: boolean };
        const common = [ints('kernel_shape', kernelSize), ints('strides', stride), ints('pads', [padding[0], padding[1], padding[0], padding[1]])];
        if (opName === 'maxPool2d') return bind(this.node('MaxPool', [this.value(x)], common));
        return bind(this.node('AveragePool', [this.value(x)], [...common, int('count_include_pad', countIncludePad ? 1 : 0)]));
      }
      case 'adaptiveAvgPool2d': {
        const [oh, ow] = attrs.outputSize as number[];
        const [h, w] = x.shape.slice(2);
        if (oh === 1 && ow === 1) return bind(this.node('GlobalAveragePool', [this.value(x)]));
        if (h % oh !== 0 || w % ow !== 0) fail(`an adaptive pool from ${h}×${w} to ${oh}×${ow} has uneven bins (ONNX AveragePool needs equal windows)`);
        const k = [h / oh, w / ow];
        return bind(this.node('AveragePool', [this.value(x)], [ints('kernel_shape', k), ints('strides', k)]));
      }
      case 'interpolate': {
        const { mode, outSize, alignCorners, scale } = attrs as { mode: string; outSize: number[]; alignCorners: boolean; scale: number[] };
        const [h, w] = x.shape.slice(2);
        const bySize = Math.abs(scale[0] - h / outSize[0]) < 1e-12 && Math.abs(scale[1] - w / outSize[1]) < 1e-12;
        const attributes = mode === 'bilinear'
          ? [text('mode', 'linear'), text('coordinate_transformation_mode', alignCorners ? 'align_corners' : 'pytorch_half_pixel')]
          : [text('mode', 'nearest'), text('coordinate_transformation_mode', 'asymmetric'), text('nearest_mode', 'floor')];
        const inputsOf = bySize
          ? [this.value(x), '', '', this.int64s(output.shape)]
          : [this.value(x), '', this.constant(Float32Array.from([1, 1, 1 / scale[0], 1 / scale[1]]), [4], 'scales')];
        return bind(this.node('Resize', inputsOf, attributes));
      }
      case 'pad':
      case 'roll':
      case 'indexSelect': {
        // One gather along the axis; positions −1 read the fill value (constant padding).
        const { axis, positions, fill } = attrs as { axis: number; positions: Int32Array; fill: number };
        const gathered = this.node('Gather', [this.value(x), this.int64s(Array.from(positions, (p) => Math.max(p, 0)), 'indices')], [int('axis', axis)]);
        if (!positions.some((p) => p < 0)) return bind(gathered);
        const maskShape = x.shape.map((_, i) => (i === axis ? positions.length : 1));
        const keep = this.constant(Float32Array.from(positions, (p) => (p < 0 ? 0 : 1)), maskShape, 'pad_mask');
        const filler = this.constant(Float32Array.from(positions, (p) => (p < 0 ? fill : 0)), maskShape, 'pad_fill');
        return bind(this.node('Add', [this.node('Mul', [gathered, keep]), filler]));
      }
      case 'parcConv':
        return bind(this.parcConv(x, attrs as { axis: 'H' | 'W'; kernel: Tensor; pe: Tensor | null; bias: Tensor | null }));
      default:
        fail('no ONNX form for this op yet');
    }
  }

  private scalar(v: number): string {
    return this.constant(Float32Array.of(v), [], 'scalar');
  }

  private silu(v: string): string {
    return this.node('Mul', [v, this.node('Sigmoid', [v])]);
  }

  private hardswish(v: string): string {
    if (this.opset >= 14) return this.node('HardSwish', [v]);
    return this.node('Mul', [v, this.node('HardSigmoid', [v], [float('alpha', 1 / 6), float('beta', 0.5)])]);
  }

  /**
   * ParC (spec §2): x + PE, then the circular convolution along the axis as an ordinary depthwise
   * convolution over the input with its first n − 1 rows (or columns) appended — Concat and
   * Slice — with the kernel and PE already resampled to this input's size n.
   */
  private parcConv(x: Tensor, a: { axis: 'H' | 'W'; kernel: Tensor; pe: Tensor | null; bias: Tensor | null }): string {
    const [, c, h, w] = x.shape;
    const n = a.axis === 'H' ? h : w;
    const axis = a.axis === 'H' ? 2 : 3;
    const along = (values: Tensor, leading: number[]): { data: Float32Array; dims: number[] } => ({
      data: Float32Array.from(values.contiguous().toTypedArray() as ArrayLike<number>),
      dims: a.axis === 'H' ? [...leading, n, 1] : [...leading, 1, n],
    });
    let shifted = this.value(x);
    if (a.pe) {
      const pe = along(a.pe, [1, c]);
      shifted = this.node('Add', [shifted, this.constant(pe.data, pe.dims, 'parc_pe')]);
    }
    const wrapped = n > 1
      ? this.node('Concat', [shifted, this.node('Slice', [shifted, this.int64s([0]), this.int64s([n - 1]), this.int64s([axis])])], [int('axis', axis)])
      : shifted;
    const kernel = along(a.kernel, [c, 1]);
    const inputs = [wrapped, this.constant(kernel.data, kernel.dims, 'parc_kernel')];
    if (a.bias) inputs.push(this.value(a.bias));
    return this.node('Conv', inputs, [ints('kernel_shape', kernel.dims.slice(2)), int('group', c), ints('pads', [0, 0, 0, 0]), ints('strides', [1, 1])]);
  }
}

/**
 * The ONNX model of `model` at the example input's shape, as bytes (see exportOnnx).
 */
export function serializeOnnx(model: OnnxExportable, exampleInput: Tensor, options: OnnxExportOptions = {}): {
  /** The ModelProto, as an .onnx file holds it. */
  bytes: Uint8Array;
  /** What the graph holds, as exportOnnx returns it. */
  info: OnnxExportInfo;
} {
  const opset = options.opset ?? 17;
  if (!Number.isInteger(opset) || opset < 13 || opset > 21) throw new FormatError(`exportOnnx: opset must be an integer from 13 to 21, got ${opset}`);
  if (exampleInput.dtype !== 'float32') throw new FormatError(`exportOnnx: the example input must be float32, got ${exampleInput.dtype} ${formatShape(exampleInput.shape)}`);
  const inputName = options.inputName ?? 'input';
  const outputName = options.outputName ?? 'output';
  const builder = new GraphBuilder(opset);
  const input = exampleInput.contiguous();
  builder.bindInput(input, inputName);
  const wasTraining = model.training;
  model.eval?.();
  let output: Tensor;
  try {
    output = withGradMode(false, () => traceOps(() => model.forward(input), (op) => builder.add(op)));
  } finally {
    if (wasTraining) model.train?.(true);
  }
  if (!builder.isGraph(output)) throw new FormatError(`exportOnnx: the model's output ${formatShape(output.shape)} does not depend on its input`);
  builder.node('Identity', [builder.value(output)], [], [outputName]);

  const valueInfo = (name: string, t: Tensor): object => ({
    name,
    type: { tensor_type: { elem_type: ONNX_DTYPE.float32, shape: { dim: t.shape.map((d) => ({ dim_value: d })) } } },
  });
  const message = {
    ir_version: opset >= 21 ? 10 : opset >= 19 ? 9 : 8,
    producer_name: 'parcnet',
    producer_version: '0.1.0',
    doc_string: options.docString ?? '',
    opset_import: [{ domain: '', version: opset }],
    graph: {
      name: 'parcnet',
      node: builder.nodes,
      initializer: builder.initializers,
      input: [valueInfo(inputName, input)],
      output: [valueInfo(outputName, output)],
    },
  };
  const bytes = ModelProto.encode(ModelProto.fromObject(message)).finish();
  const nodes: Record<string, number> = {};
  for (const n of builder.nodes) nodes[n.op_type] = (nodes[n.op_type] ?? 0) + 1;
  return { bytes, info: { opset, nodes, initializers: builder.initializers.length, inputShape: [...input.shape], outputShape: [...output.shape], bytes: bytes.length } };
}

/**
 * Exports `model` as an ONNX file at `path` (written atomically), traced on `exampleInput`: the
 * graph has that input's shape. BN layers use their running statistics (the model is put in eval
 * mode for the trace and restored after); ParC kernels and position encodings are resampled to the
 * example's size and stored as constants, the circular padding as Concat + Slice (spec §2).
 */
export async function exportOnnx(model: OnnxExportable, exampleInput: Tensor, path: string, options: OnnxExportOptions = {}): Promise<OnnxExportInfo> {
  const { bytes, info } = serializeOnnx(model, exampleInput, options);
  await writeFileAtomic(path, bytes);
  return info;
}
