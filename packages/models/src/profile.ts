import { noGrad } from '@parcnet/autograd';
import { Linear, Module } from '@parcnet/nn';
import { conv2dGeometry, observeKernels, traceOps, zeros, type Conv2DAttrs, type Tensor } from '@parcnet/tensor';

/** One module's share of a {@link Profile}. */
export interface ModuleProfile {
  /** Dotted path of the module from the model ('' for the model itself), as in the state dict. */
  name: string;
  /** Class name of the module, e.g. 'ConvLayer'. */
  type: string;
  /** Parameters of this module and its descendants (shared tensors once). */
  parameters: number;
  /** Counted multiply-accumulates of this module and its descendants. */
  macs: number;
}

/** What {@link profile} counted for one forward pass (spec §5's rule). */
export interface Profile {
  /** Parameters of the model, shared tensors (the `residual` alias) counted once. */
  parameters: number;
  /** Total multiply-accumulates: convMacs + parcMacs + linearMacs. */
  macs: number;
  /** MACs of the 2-D convolutions, Cout·(Cin/groups)·kh·kw·Hout·Wout each, times the batch. */
  convMacs: number;
  /** MACs of the ParC operators, C·H·W·n each, times the batch. */
  parcMacs: number;
  /** MACs of the Linear modules, rows·in·out each. */
  linearMacs: number;
  /** Every module of `namedModules()`, the model first. */
  modules: ModuleProfile[];
}

/**
 * Counts parameters and multiply-accumulates with the spec's rule (§5): every 2-D convolution as
 * Cout·(Cin/groups)·kh·kw·Hout·Wout, every ParC operator as C·H·W·n, every Linear module as
 * rows·in·out; nothing else (norms, activations, pooling, adds, resampling, attention products).
 * Runs one eval-mode forward of zeros of `inputShape` without recording, and restores the mode.
 */
export function profile(model: Module, inputShape: readonly number[]): Profile {
  const named = model.namedModules();
  const macsByModule = new Map<Module, number>(named.map(([, m]) => [m, 0]));
  const stack: Module[] = [];
  const totals = { conv: 0, parc: 0, linear: 0 };
  const charge = (macs: number): void => {
    for (const m of new Set(stack)) macsByModule.set(m, macsByModule.get(m)! + macs);
  };
  const restore: (() => void)[] = [];
  for (const [, m] of named) {
    const original = m.forward;
    m.forward = (...inputs: Tensor[]): Tensor => {
      stack.push(m);
      try {
        if (m instanceof Linear) {
          const macs = (inputs[0].size / m.inFeatures) * m.inFeatures * m.outFeatures;
          totals.linear += macs;
          charge(macs);
        }
        return original.apply(m, inputs);
      } finally {
        stack.pop();
      }
    };
    restore.push(() => {
      delete (m as { forward?: unknown }).forward;
    });
  }
  const stopObserving = observeKernels((name, args) => {
    if (name === 'Conv2D') {
      const [x, w, attrs] = args as [Tensor, Tensor, Conv2DAttrs];
      const g = conv2dGeometry(x.shape, w.shape, attrs);
      const macs = g.o * g.cg * g.kh * g.kw * g.ho * g.wo * g.n;
      totals.conv += macs;
      charge(macs);
    } else if (name === 'ParcConv') {
      const [x, kernel] = args as [Tensor, Tensor];
      const macs = x.size * kernel.shape[1];
      totals.parc += macs;
      charge(macs);
    }
  });
  const wasTraining = model.training;
  try {
    model.eval();
    // Run under a tracer so fused inference paths (ConvLayer's conv2dNormAct) take their plain ops,
    // and every conv is charged to its own module.
    const input = zeros(inputShape, { dtype: model.parameters()[0]?.dtype === 'float64' ? 'float64' : 'float32' });
    traceOps(() => noGrad(() => model.forward(input)), () => undefined);
  } finally {
    stopObserving();
    for (const undo of restore) undo();
    model.train(wasTraining);
  }
  return {
    parameters: model.numParameters(),
    macs: totals.conv + totals.parc + totals.linear,
    convMacs: totals.conv,
    parcMacs: totals.parc,
    linearMacs: totals.linear,
    modules: named.map(([name, m]) => ({ name, type: m.constructor.name, parameters: m.numParameters(), macs: macsByModule.get(m)! })),
  };
}
