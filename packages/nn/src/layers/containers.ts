import { ParcnetError, type Tensor } from '@parcnet/tensor';
import { Module } from '../module.js';

/**
 * torch.nn.Sequential: children named "0", "1", … (or by name, like an OrderedDict: `Sequential.named`); forward feeds
 * each one's output to the next.
 */
export class Sequential extends Module {
  /** The children in order, each also registered under its name. */
  readonly layers: Module[];

  constructor(...layers: Module[]) {
    super();
    this.layers = layers.map((m, i) => this.child(String(i), m));
  }

  /** A Sequential whose children take the given names, in order (PyTorch's `Sequential(OrderedDict(…))`). */
  static named(layers: readonly (readonly [string, Module])[]): Sequential {
    const s = new Sequential();
    for (const [name, m] of layers) s.layers.push(s.child(name, m));
    return s;
  }

  /** The child at `index`; a negative index counts from the end; undefined when out of range. */
  at(index: number): Module {
    return this.layers[index < 0 ? this.layers.length + index : index];
  }

  /** The number of children. */
  get length(): number {
    return this.layers.length;
  }

  /** Feeds x through each child in order and returns the last output (shapes as the children's; x itself when empty). */
  forward(x: Tensor): Tensor {
    return this.layers.reduce((h, layer) => layer.forward(h), x);
  }
}

/** torch.nn.ModuleList: holds children named "0", "1", …, without a forward of its own. */
export class ModuleList<M extends Module = Module> extends Module {
  /** The children in order, registered as "0", "1", …. */
  readonly items: M[];

  constructor(items: readonly M[] = []) {
    super();
    this.items = items.map((m, i) => this.child(String(i), m));
  }

  /** The item at `index`; a negative index counts from the end; undefined when out of range. */
  at(index: number): M {
    return this.items[index < 0 ? this.items.length + index : index];
  }

  /** The number of items. */
  get length(): number {
    return this.items.length;
  }

  /** Always throws a ParcnetError: a ModuleList has no forward; call its items. */
  forward(): Tensor {
    throw new ParcnetError('ModuleList has no forward; call its items');
  }
}
