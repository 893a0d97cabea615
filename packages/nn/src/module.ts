import { cast, FormatError, formatShape, ShapeError, Tensor, type DType } from '@parcnet/tensor';

interface Slot<T> { name: string; value: T }

/** Options of {@link Module.stateDict}. */
export interface StateDictOptions {
  /** Emit alias entries (like the official `residual.*` copies of `layer_5.0.*`). Default true. */
  aliases?: boolean;
}

/** What {@link Module.loadStateDict} found, key by key (its keys without a `module.` prefix). */
export interface LoadReport {
  /** This module's keys the state lacks (non-empty only with `strict: false`; otherwise they throw). */
  missingKeys: string[];
  /** The state's keys this module has no tensor for (non-empty only with `strict: false`). */
  unexpectedKeys: string[];
  /** Keys whose shape differs, with both shapes (a mismatch throws, so a returned report has none). */
  mismatchedKeys: {
    /** The dotted state-dict key. */
    key: string;
    /** The shape of this module's tensor. */
    expected: number[];
    /** The shape in the loaded state. */
    got: number[];
  }[];
  /** Alias keys that were checked equal to their structural twin and dropped. */
  aliasKeys: string[];
}

/** Options of {@link Module.loadStateDict}. */
export interface LoadOptions {
  /** Throw when any key is missing, unexpected or mis-shaped (default true, as PyTorch). */
  strict?: boolean;
}

/**
 * The base of every layer and model, shaped like torch.nn.Module. A module registers its
 * parameters, buffers and children as it assigns them:
 *
 * ```ts
 * readonly weight = this.parameter('weight', zeros([4]));
 * readonly runningMean = this.buffer('running_mean', zeros([4]));
 * readonly norm = this.child('norm', new BatchNorm2d(4));
 * ```
 *
 * The registered name (PyTorch's attribute name) is the state-dict key part; the TypeScript
 * property may read differently. Keys are the names joined by dots, own parameters and buffers
 * before children, in registration order, as in PyTorch.
 */
export abstract class Module {
  /** True in training mode (dropout active, BN on batch statistics); starts true, set by `train()` / `eval()`. */
  training = true;
  private readonly parameterSlots: Slot<Tensor>[] = [];
  private readonly bufferSlots: Slot<Tensor>[] = [];
  private readonly childSlots: (Slot<Module> & { alias: boolean })[] = [];

  /** The layer's computation (torch's `forward`): input tensor(s) to the output; each layer states its shapes. */
  abstract forward(...inputs: Tensor[]): Tensor;

  /** Registers a parameter (a leaf that requires a gradient) under `name`. */
  protected parameter(name: string, value: Tensor): Tensor {
    if (value.dtype === 'int32') throw new FormatError(`${this.constructor.name}.parameter('${name}'): parameters must be float, got int32`);
    value.requiresGrad = true;
    this.parameterSlots.push({ name, value });
    return value;
  }

  /** Registers a buffer: state saved in the state dict but not trained (BN running statistics). */
  protected buffer(name: string, value: Tensor): Tensor {
    this.bufferSlots.push({ name, value });
    return value;
  }

  /** Registers a child module under `name`. */
  protected child<M extends Module>(name: string, module: M): M {
    this.childSlots.push({ name, value: module, alias: false });
    return module;
  }

  /**
   * Registers a second name for a module that is also registered elsewhere in the tree. The
   * alias appears in the state dict (unless asked not to) but parameters are reported once,
   * under the structural name.
   */
  protected alias<M extends Module>(name: string, module: M): M {
    this.childSlots.push({ name, value: module, alias: true });
    return module;
  }

  /** The direct children as [name, module] pairs, in registration order, aliases left out. */
  namedChildren(): [string, Module][] {
    return this.childSlots.filter((c) => !c.alias).map((c) => [c.name, c.value]);
  }

  /** The direct children, in registration order, aliases left out. */
  children(): Module[] {
    return this.namedChildren().map(([, m]) => m);
  }

  /** This module and every descendant, each once, depth first. */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this.namedChildren()) out.push(...child.namedModules(prefix ? `${prefix}.${name}` : name));
    return out;
  }

  /** This module and every descendant, depth first (the modules of `namedModules()`). */
  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** Parameters with their dotted names, each tensor once (first name met). */
  namedParameters(prefix = ''): [string, Tensor][] {
    return dedupe(this.walk(prefix, false, (m) => m.parameterSlots));
  }

  /** Every parameter of this module and its descendants, each tensor once, in state-dict order (what an optimiser takes). */
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Buffers with their dotted names (e.g. `bn.running_mean`), each tensor once (first name met). */
  namedBuffers(prefix = ''): [string, Tensor][] {
    return dedupe(this.walk(prefix, false, (m) => m.bufferSlots));
  }

  /** Every buffer (running statistics, counters) of this module and its descendants, each tensor once. */
  buffers(): Tensor[] {
    return this.namedBuffers().map(([, t]) => t);
  }

  /** Every entry (parameters and buffers, own before children's), optionally through aliases. */
  private walk(prefix: string, withAliases: boolean, pick: (m: Module) => Slot<Tensor>[]): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const key = (name: string): string => (prefix ? `${prefix}.${name}` : name);
    for (const slot of pick(this)) out.push([key(slot.name), slot.value]);
    for (const c of this.childSlots) {
      if (c.alias && !withAliases) continue;
      out.push(...c.value.walk(key(c.name), withAliases, pick));
    }
    return out;
  }

  private entries(prefix: string, withAliases: boolean): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const key = (name: string): string => (prefix ? `${prefix}.${name}` : name);
    for (const slot of this.parameterSlots) out.push([key(slot.name), slot.value]);
    for (const slot of this.bufferSlots) out.push([key(slot.name), slot.value]);
    for (const c of this.childSlots) {
      if (c.alias && !withAliases) continue;
      out.push(...c.value.entries(key(c.name), withAliases));
    }
    return out;
  }

  /**
   * The state as a record of dotted keys to tensors (detached views sharing storage), in
   * PyTorch's order; alias entries included unless `aliases: false`.
   */
  stateDict(options: StateDictOptions = {}): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [k, t] of this.entries('', options.aliases ?? true)) out[k] = t.detach();
    return out;
  }

  /**
   * Copies `state` into this module's tensors (in place, so optimisers keep their references).
   * Accepts the keys with or without alias entries (aliases must equal their twins) and with a
   * `module.` prefix (DataParallel checkpoints). Nothing is written unless every check passes.
   */
  loadStateDict(state: Record<string, Tensor>, options: LoadOptions = {}): LoadReport {
    const strict = options.strict ?? true;
    const structural = new Map(this.entries('', false));
    const withAliases = this.entries('', true);
    const aliasTwin = new Map<string, string>();
    const byTensor = new Map<Tensor, string>();
    for (const [k, t] of structural) byTensor.set(t, k);
    for (const [k, t] of withAliases) if (!structural.has(k)) aliasTwin.set(k, byTensor.get(t)!);

    const report: LoadReport = { missingKeys: [], unexpectedKeys: [], mismatchedKeys: [], aliasKeys: [] };
    const incoming = new Map<string, Tensor>();
    const stripped = Object.keys(state).every((k) => k.startsWith('module.'));
    for (const [rawKey, value] of Object.entries(state)) incoming.set(stripped ? rawKey.slice(7) : rawKey, value);

    for (const [k, value] of incoming) {
      const twin = aliasTwin.get(k);
      if (twin !== undefined) {
        const original = incoming.get(twin);
        if (original && !sameValues(original, value)) {
          throw new FormatError(`loadStateDict: alias ${k} differs from ${twin}; a checkpoint's aliases must equal their twins`);
        }
        report.aliasKeys.push(k);
        if (!original) incoming.set(twin, value);
        continue;
      }
      if (!structural.has(k)) report.unexpectedKeys.push(k);
    }
    for (const [k, target] of structural) {
      const value = incoming.get(k);
      if (!value) {
        report.missingKeys.push(k);
        continue;
      }
      if (formatShape(value.shape) !== formatShape(target.shape)) {
        report.mismatchedKeys.push({ key: k, expected: [...target.shape], got: [...value.shape] });
      }
    }
    if (report.mismatchedKeys.length > 0 || (strict && (report.missingKeys.length > 0 || report.unexpectedKeys.length > 0))) {
      const lines = [
        ...report.mismatchedKeys.map((m) => `  shape mismatch for ${m.key}: expected ${formatShape(m.expected)}, got ${formatShape(m.got)}`),
        ...(strict ? report.missingKeys.map((k) => `  missing key ${k}`) : []),
        ...(strict ? report.unexpectedKeys.map((k) => `  unexpected key ${k}`) : []),
      ];
      const shown = lines.slice(0, 20).join('\n') + (lines.length > 20 ? `\n  … and ${lines.length - 20} more` : '');
      throw new ShapeError(`loadStateDict into ${this.constructor.name}: nothing loaded\n${shown}`);
    }
    for (const [k, target] of structural) {
      const value = incoming.get(k);
      if (value) copyInto(target, value);
    }
    return report;
  }

  /** Sets training mode here and in every descendant (dropout on, BN batch statistics). */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  /** Sets evaluation mode here and in every descendant, as `train(false)`; returns this module. */
  eval(): this {
    return this.train(false);
  }

  /** Converts every float parameter and buffer to `dtype` in place (like module.double()). */
  to(dtype: 'float32' | 'float64'): this {
    for (const t of [...this.parameters(), ...this.buffers()]) {
      if (t.dtype !== 'int32' && t.dtype !== dtype) t.setData(cast(t.detach(), dtype));
    }
    return this;
  }

  /**
   * Clears every parameter's gradient (sets `.grad` to null, as PyTorch's default set_to_none) and
   * gives its memory back at once; clone a gradient first to keep it past this call.
   */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** Calls fn on every module, children before parents (as PyTorch's apply). */
  apply(fn: (m: Module) => void): this {
    for (const child of this.children()) child.apply(fn);
    fn(this);
    return this;
  }

  /** The number of parameter elements, each shared tensor once. */
  numParameters(): number {
    return this.parameters().reduce((n, p) => n + p.size, 0);
  }
}

function dedupe(entries: [string, Tensor][]): [string, Tensor][] {
  const seen = new Set<Tensor>();
  return entries.filter(([, t]) => (seen.has(t) ? false : (seen.add(t), true)));
}

function sameValues(a: Tensor, b: Tensor): boolean {
  if (formatShape(a.shape) !== formatShape(b.shape)) return false;
  const x = a.toTypedArray();
  const y = b.toTypedArray();
  return x.every((v, i) => v === y[i] || (Number.isNaN(v) && Number.isNaN(y[i])));
}

/** Copies values into a tensor's storage in place, converting dtype (int64 counters arrive as int32 or float). */
export function copyInto(target: Tensor, value: Tensor): void {
  if (!target.isContiguous()) throw new FormatError(`copyInto: target ${formatShape(target.shape)} must be contiguous`);
  const data = value.dtype === target.dtype ? value.toTypedArray() : convert(value, target.dtype);
  target.storage.set(data, target.offset);
}

function convert(value: Tensor, dtype: DType): ArrayLike<number> {
  return Array.from(value.toTypedArray(), (v) => (dtype === 'int32' ? Math.trunc(v) : v));
}
