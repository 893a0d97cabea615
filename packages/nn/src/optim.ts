import { FormatError, type FloatArray, type Tensor } from '@parcnet/tensor';

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
 * The base of the optimisers, like torch.optim.Optimizer: they update parameters in place (plain
 * loops over the storage, nothing recorded) from the `.grad` that backward left. Parameters without
 * a gradient are skipped. `H` holds one group's hyper-parameters.
 */
export abstract class Optimizer<H extends {
  /** The learning rate, which `setLr` sets in every group. */
  lr: number;
}> {
  /** The parameter groups with their full hyper-parameters (torch's `param_groups`). */
  readonly paramGroups: ParamGroup<H>[];
  /** Per-parameter state (momentum buffers, moments), keyed by the parameter. */
  protected readonly state = new Map<Tensor, Record<string, Float64Array | number>>();

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
        const data = p.storage.subarray(p.offset, p.offset + p.size) as FloatArray;
        const grad = Float64Array.from(p.grad.toTypedArray());
        let state = this.state.get(p);
        if (!state) this.state.set(p, (state = {}));
        this.update(data, grad, state, group.hyper);
      }
    }
  }

  /**
   * One step for one parameter: `data` (its storage, written in place), `grad` (a float64 copy of
   * its gradient, free to overwrite), its own `state` and its group's `hyper`.
   */
  protected abstract update(data: FloatArray, grad: Float64Array, state: Record<string, Float64Array | number>, hyper: H): void;

  /** The optimiser state as plain arrays, in parameter order, to save in a checkpoint. */
  stateDict(): {
    /** Each group's hyper-parameters, in group order. */
    groups: H[];
    /** Each parameter's state (arrays as plain number arrays), or null before its first step. */
    state: (Record<string, number[] | number> | null)[];
  } {
    const params = this.paramGroups.flatMap((g) => g.params);
    return {
      groups: this.paramGroups.map((g) => ({ ...g.hyper })),
      state: params.map((p) => {
        const s = this.state.get(p);
        if (!s) return null;
        return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, typeof v === 'number' ? v : Array.from(v)]));
      }),
    };
  }

  /** Restores the groups' hyper-parameters and every parameter's state from `stateDict()`; throws a FormatError unless the parameter and group counts match. */
  loadStateDict(saved: ReturnType<Optimizer<H>['stateDict']>): void {
    const params = this.paramGroups.flatMap((g) => g.params);
    if (saved.state.length !== params.length || saved.groups.length !== this.paramGroups.length) {
      throw new FormatError(`optimizer.loadStateDict: the checkpoint has ${saved.state.length} parameters in ${saved.groups.length} groups, this optimizer ${params.length} in ${this.paramGroups.length}`);
    }
    saved.groups.forEach((h, i) => (this.paramGroups[i].hyper = { ...h }));
    this.state.clear();
    saved.state.forEach((s, i) => {
      if (!s) return;
      this.state.set(params[i], Object.fromEntries(Object.entries(s).map(([k, v]) => [k, typeof v === 'number' ? v : Float64Array.from(v)])));
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
  protected update(data: FloatArray, grad: Float64Array, state: Record<string, Float64Array | number>, h: SgdHyper): void {
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

  /** The Adam step on one parameter, keeping m, v and t as `expAvg`, `expAvgSq` and `step` in its state. */
  protected update(data: FloatArray, grad: Float64Array, state: Record<string, Float64Array | number>, h: AdamHyper): void {
    const [b1, b2] = h.betas;
    if (this.decoupled) {
      for (let i = 0; i < data.length; i++) data[i] *= 1 - h.lr * h.weightDecay;
    } else if (h.weightDecay !== 0) {
      for (let i = 0; i < grad.length; i++) grad[i] += h.weightDecay * data[i];
    }
    const m = (state.expAvg as Float64Array | undefined) ?? (state.expAvg = new Float64Array(grad.length));
    const v = (state.expAvgSq as Float64Array | undefined) ?? (state.expAvgSq = new Float64Array(grad.length));
    const t = ((state.step as number | undefined) ?? 0) + 1;
    state.step = t;
    const stepSize = h.lr / (1 - b1 ** t);
    const correction2 = Math.sqrt(1 - b2 ** t);
    for (let i = 0; i < grad.length; i++) {
      m[i] = b1 * m[i] + (1 - b1) * grad[i];
      v[i] = b2 * v[i] + (1 - b2) * grad[i] * grad[i];
      data[i] -= (stepSize * m[i]) / (Math.sqrt(v[i]) / correction2 + h.eps);
    }
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
