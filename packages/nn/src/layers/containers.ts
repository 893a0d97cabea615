import { ParcnetError, type Tensor } from '@parcnet/tensor';
import { Module } from '../module.js';

/**
 * Children named "0", "1", … (or by name, like an OrderedDict: `Sequential.named`); forward feeds
 * each one's output to the next.
 */
export class Sequential extends Module {
  readonly layers: Module[];

  constructor(...layers: Module[]) {
    super();
    this.layers = layers.map((m, i) => this.child(String(i), m));
  }

  static named(layers: readonly (readonly [string, Module])[]): Sequential {
    const s = new Sequential();
    for (const [name, m] of layers) s.layers.push(s.child(name, m));
    return s;
  }

  at(index: number): Module {
    return this.layers[index < 0 ? this.layers.length + index : index];
  }

  get length(): number {
    return this.layers.length;
  }

  forward(x: Tensor): Tensor {
    return this.layers.reduce((h, layer) => layer.forward(h), x);
  }
}

/** Holds children named "0", "1", …, without a forward of its own. */
export class ModuleList<M extends Module = Module> extends Module {
  readonly items: M[];

  constructor(items: readonly M[] = []) {
    super();
    this.items = items.map((m, i) => this.child(String(i), m));
  }

  at(index: number): M {
    return this.items[index < 0 ? this.items.length + index : index];
  }

  get length(): number {
    return this.items.length;
  }

  forward(): Tensor {
    throw new ParcnetError('ModuleList has no forward; call its items');
  }
}
