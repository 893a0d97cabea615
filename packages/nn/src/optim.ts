import { FormatError, keep, runKernel, Tensor, type FloatArray } from '@parcnet/tensor';

/** One parameter group, as an entry of torch's `param_groups`: tensors that share hyper-parameters. */
export interface ParamGroup<H> {
  /** The tensors updated with these hyper-parameters. */
  params: Tensor[];
  /** The group's hyper-parameters: the optimiser's defaults overridden by the group's own. */
  hyper: H;
}

/**
 * What an optimiser takes: a list of tensors (one group), or groups `{ params, ...overrides }`
 * whose hyper-parameters override the defaults.
 *
 * @inline
 */
type GroupSpec<H> = Tensor[] | ({ params: Tensor[] } & Partial<H>)[];

/**
 * One parameter's optimiser state, by torch's names in camelCase: counts (`step`), and buffers as
 * float64 arrays (SGD's momentum) or as tensors of the parameter's shape and dtype, which an update
 * kernel may keep in its backend's memory (Adam's moments).
 */
export type ParamState = Record<string, Float64Array | Tensor | number>;

/** One parameter's state as a checkpoint holds it: numbers, and buffers as plain number arrays. */
export type SavedParamState = Record<string, number[] | number>;

/**
 * The base of the optimisers, like torch.optim.Optimizer: they update parameters in place (nothing
 * recorded) from the `.grad` that backward left. Parameters without a gradient are skipped. `H`
 * holds one group's hyper-parameters.
 */
export abstract class Optimizer<H extends {
  /** The learning rate, which `setLr` sets in every group. */
  lr: number;
}> {
  /** The parameter groups with their full hyper-parameters (torch's `param_groups`). */
  readonly paramGroups: ParamGroup<H>[];
  /** Per-parameter state (momentum buffers, moments), keyed by the parameter. */
  protected readonly state = new Map<Tensor, ParamState>();

  constructor(params: GroupSpec<H>, defaults: H) {
    const groups = params.length > 0 && !('params' in (params[0] as object)) ? [{ params: params as Tensor[] }] : (params as ({ params: Tensor[] } & Partial<H>)[]);
    this.paramGroups = groups.map(({ params: p, ...overrides }) => ({ params: p, hyper: { ...defaults, ...(overrides as Partial<H>) } }));
  }

  /** Sets the learning rate of every group (a schedule calls this before each step). */
  setLr(lr: number): void {
    for (const g of this.paramGroups) g.hyper.lr = lr;
  }

  /**
   * Clears the gradient of every parameter in every group (sets `.grad` to null, as set_to_none)
   * and gives its memory back at once; clone a gradient first to keep it past this call.
   */
  zeroGrad(): void {
    for (const g of this.paramGroups) {
      for (const p of g.params) {
        p.grad?.dispose();
        p.grad = null;
      }
    }
  }

  /** Updates every parameter that has a gradient, in place, by one step of the rule. */
  step(): void {
    for (const group of this.paramGroups) {
      for (const p of group.params) {
        if (!p.grad) continue;
        if (!p.isContiguous()) throw new FormatError('optimizer: parameters must be contiguous');
        let state = this.state.get(p);
        if (!state) this.state.set(p, (state = {}));
        this.update(p, p.grad, state, group.hyper);
      }
    }
  }

  /** One step for one parameter `param` (contiguous, written in place) from its gradient `grad`, with its own `state` and its group's `hyper`. */
  protected abstract update(param: Tensor, grad: Tensor, state: ParamState, hyper: H): void;

  /**
   * A saved buffer as the state holds it: a float64 array (SGD's momentum). Adam's moments are
   * tensors in the parameter's dtype.
   */
  protected restoreBuffer(values: readonly number[], _param: Tensor): Float64Array | Tensor {
    return Float64Array.from(values);
  }

  /** The state of parameter `index` from its saved form; a buffer that does not fit the parameter is a FormatError. */
  private restoreState(saved: SavedParamState, param: Tensor, index: number): ParamState {
    return Object.fromEntries(Object.entries(saved).map(([key, values]) => {
      if (typeof values === 'number') return [key, values];
      if (values.length !== param.size) {
        throw new FormatError(`optimizer.loadStateDict: parameter ${index} has ${param.size} elements, its saved ${key} ${values.length}`);
      }
      return [key, this.restoreBuffer(values, param)];
    }));
  }

  /**
   * Gives back the memory of every parameter's state now (Adam's moments live in wasm memory while
   * training) instead of when the collector finds the optimiser, and forgets the state: a step after
   * this starts the moments and step counts again, as a new optimiser would. tfjs's
   * `optimizer.dispose()`; PyTorch, whose memory the collector returns, has none.
   */
  dispose(): void {
    for (const s of this.state.values()) for (const v of Object.values(s)) if (v instanceof Tensor) v.dispose();
    this.state.clear();
  }

  /** The optimiser state as plain arrays, in parameter order, to save in a checkpoint. */
  stateDict(): {
    /** Each group's hyper-parameters, in group order. */
    groups: H[];
    /** Each parameter's state (arrays as plain number arrays), or null before its first step. */
    state: (SavedParamState | null)[];
  } {
    const params = this.paramGroups.flatMap((g) => g.params);
    return {
      groups: this.paramGroups.map((g) => ({ ...g.hyper })),
      state: params.map((p) => {
        const s = this.state.get(p);
        if (!s) return null;
        return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, typeof v === 'number' ? v : Array.from(v instanceof Tensor ? v.toTypedArray() : v)]));
      }),
    };
  }

  /**
   * Restores the groups' hyper-parameters and every parameter's state from `stateDict()` (also one
   * saved when Adam's moments were float64 arrays: they take the parameter's dtype); throws a
   * FormatError, changing nothing, unless the parameter and group counts and the buffers' lengths match.
   */
  loadStateDict(saved: ReturnType<Optimizer<H>['stateDict']>): void {
    const params = this.paramGroups.flatMap((g) => g.params);
    if (saved.state.length !== params.length || saved.groups.length !== this.paramGroups.length) {
      throw new FormatError(`optimizer.loadStateDict: the checkpoint has ${saved.state.length} parameters in ${saved.groups.length} groups, this optimizer ${params.length} in ${this.paramGroups.length}`);
    }
    const restored = saved.state.map((s, i) => (s ? this.restoreState(s, params[i], i) : null));
    saved.groups.forEach((h, i) => (this.paramGroups[i].hyper = { ...h }));
    // The old state's memory goes back now, before the loaded state replaces it.
    this.dispose();
    restored.forEach((s, i) => {
      if (s) this.state.set(params[i], s);
    });
  }
}

/** The hyper-parameters of an {@link SGD} group, as torch.optim.SGD's arguments. */
export interface SgdHyper {
  /** The learning rate (required). */
  lr: number;
  /** μ, the momentum factor; default 0 (no momentum buffer). */
  momentum: number;
  /** The share of the new gradient held back from the momentum buffer; default 0. */
  dampening: number;
  /** L2 penalty: wd·p is added to the gradient; default 0. */
  weightDecay: number;
  /** Nesterov momentum: step along g + μ·buf instead of buf; default false. */
  nesterov: boolean;
}

/** torch.optim.SGD: g += wd·p; buf = μ·buf + (1 − dampening)·g (buf = g at first); p −= lr·(nesterov ? g + μ·buf : buf). */
export class SGD extends Optimizer<SgdHyper> {
  /**
   * @param params The tensors to train, or groups with their own hyper-parameters.
   * @param options `lr` (required); momentum, dampening and weightDecay default to 0, nesterov to false.
   */
  constructor(params: GroupSpec<SgdHyper>, options: Partial<SgdHyper> & { lr: number }) {
    super(params, { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, ...options });
  }

  /** The SGD step on one parameter, keeping its momentum buffer as `momentumBuffer` in its state. */
  protected update(param: Tensor, gradient: Tensor, state: ParamState, h: SgdHyper): void {
    const data = param.storage.subarray(param.offset, param.offset + param.size) as FloatArray;
    // A float64 copy, free to overwrite: the typed-array constructor converts in one native pass,
    // where Float64Array.from walks an iterator.
    const grad = new Float64Array(gradient.toTypedArray() as ArrayLike<number>);
    if (h.weightDecay !== 0) for (let i = 0; i < grad.length; i++) grad[i] += h.weightDecay * data[i];
    if (h.momentum !== 0) {
      let buf = state.momentumBuffer as Float64Array | undefined;
      if (!buf) {
        buf = Float64Array.from(grad);
        state.momentumBuffer = buf;
      } else {
        for (let i = 0; i < grad.length; i++) buf[i] = h.momentum * buf[i] + (1 - h.dampening) * grad[i];
      }
      for (let i = 0; i < grad.length; i++) grad[i] = h.nesterov ? grad[i] + h.momentum * buf[i] : buf[i];
    }
    for (let i = 0; i < grad.length; i++) data[i] -= h.lr * grad[i];
  }
}

/** The hyper-parameters of an {@link Adam} or {@link AdamW} group, as torch.optim.Adam's arguments. */
export interface AdamHyper {
  /** The learning rate; default 1e-3. */
  lr: number;
  /** [β₁, β₂], the decay rates of the first- and second-moment averages; default [0.9, 0.999]. */
  betas: [number, number];
  /** Added to the denominator for stability; default 1e-8. */
  eps: number;
  /** Weight decay: an L2 term wd·p on the gradient for Adam (default 0), decoupled for AdamW (default 0.01). */
  weightDecay: number;
}

/**
 * torch.optim.Adam (weight decay as L2 on the gradient); AdamW below decouples it. The step follows
 * PyTorch's arithmetic: p −= (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + eps).
 */
export class Adam extends Optimizer<AdamHyper> {
  /** False: weight decay is an L2 term on the gradient (Adam); AdamW sets it true. */
  protected readonly decoupled: boolean = false;

  /**
   * @param params The tensors to train, or groups with their own hyper-parameters.
   * @param options Defaults: lr 1e-3, betas [0.9, 0.999], eps 1e-8, weightDecay 0.
   */
  constructor(params: GroupSpec<AdamHyper>, options: Partial<AdamHyper> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, ...options });
  }

  /**
   * The Adam step on one parameter, keeping m, v and t as `expAvg`, `expAvgSq` (tensors of its shape
   * and dtype, as torch's exp_avg and exp_avg_sq) and `step` in its state. The elementwise part is
   * the AdamStep kernel: the reference loop, or the WASM one for float32, which keeps the moments in
   * wasm memory.
   */
  protected update(param: Tensor, grad: Tensor, state: ParamState, h: AdamHyper): void {
    const [beta1, beta2] = h.betas;
    const t = ((state.step as number | undefined) ?? 0) + 1;
    state.step = t;
    const given = state.expAvg instanceof Tensor ? { expAvg: state.expAvg, expAvgSq: state.expAvgSq as Tensor } : null;
    const moments = runKernel('AdamStep', param, grad, given, {
      beta1, beta2, eps: h.eps,
      stepSize: h.lr / (1 - beta1 ** t),
      biasCorrection2Sqrt: Math.sqrt(1 - beta2 ** t),
      // Decoupled decay scales p first (AdamW); coupled decay (Adam) adds wd·p to the gradient.
      decay: this.decoupled ? 1 - h.lr * h.weightDecay : 1,
      l2: this.decoupled ? 0 : h.weightDecay,
    });
    for (const key of ['expAvg', 'expAvgSq'] as const) {
      const before = given?.[key];
      if (moments[key] === before) continue;
      // New tensors (the first step, or moments moved into the kernel's memory) may be made inside a
      // training step's `tidy`: kept, they outlive it; the ones they replace go back.
      before?.dispose();
      state[key] = keep(moments[key]);
    }
  }

  /** A saved moment as a tensor of the parameter's shape and dtype (one saved as float64 for a float32 parameter is rounded). */
  protected override restoreBuffer(values: readonly number[], param: Tensor): Tensor {
    return new Tensor(param.dtype === 'float32' ? Float32Array.from(values) : Float64Array.from(values), param.shape);
  }
}

/** torch.optim.AdamW: decoupled weight decay p ← p·(1 − lr·wd) before the Adam step (default wd 0.01). */
export class AdamW extends Adam {
  /** True: weight decay scales the parameter by (1 − lr·wd) before the step instead of entering the gradient. */
  protected override readonly decoupled = true;

  /**
   * @param params The tensors to train, or groups with their own hyper-parameters.
   * @param options Defaults: lr 1e-3, betas [0.9, 0.999], eps 1e-8, weightDecay 0.01.
   */
  constructor(params: GroupSpec<AdamHyper>, options: Partial<AdamHyper> = {}) {
    super(params, { weightDecay: 0.01, ...options });
  }
}
