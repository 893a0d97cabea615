import {
  add, cast, formatShape, GradientError, installBackwardEngine, keep, ones, ShapeError, Tensor, withGradMode, zeros,
} from '@parcnet/tensor';

/**
 * The backward pass: a topological sort of the tape from the outputs, then one loop that calls
 * each node's backward rule and sums the gradients arriving at each tensor.
 */

/** Options of {@link backward} and {@link grad}. */
export interface GradOptions {
  /** Keep saved tensors so that the same graph can be back-propagated again. */
  retainGraph?: boolean;
}

/** Tensors reachable from `roots` through the tape, inputs before the tensors made from them. */
function topologicalOrder(roots: readonly Tensor[]): Tensor[] {
  const order: Tensor[] = [];
  const visited = new Set<Tensor>();
  const stack: { tensor: Tensor; expanded: boolean }[] = roots.map((tensor) => ({ tensor, expanded: false }));
  while (stack.length > 0) {
    const top = stack.pop()!;
    if (top.expanded) {
      order.push(top.tensor);
      continue;
    }
    if (visited.has(top.tensor)) continue;
    visited.add(top.tensor);
    stack.push({ tensor: top.tensor, expanded: true });
    for (const input of top.tensor.gradFn?.inputs ?? []) {
      if (input && !visited.has(input)) stack.push({ tensor: input, expanded: false });
    }
  }
  return order;
}

function seedGradient(root: Tensor, gradient: Tensor | undefined): Tensor {
  if (gradient === undefined) {
    if (root.size !== 1) {
      throw new GradientError(
        `backward: a gradient can be implied only for a one-element output; got shape ${formatShape(root.shape)}, so pass backward(gradient) of that shape`,
      );
    }
    return ones(root.shape, { dtype: root.dtype });
  }
  if (formatShape(gradient.shape) !== formatShape(root.shape)) {
    throw new ShapeError(`backward: gradient of shape ${formatShape(gradient.shape)} does not match the output's shape ${formatShape(root.shape)}`);
  }
  return cast(gradient, root.dtype);
}

/**
 * Propagates `seeds` back from `roots` and returns the gradient that reached each tensor in
 * `targets` (or every leaf requiring a gradient when `targets` is undefined).
 *
 * A gradient is disposed as soon as nothing holds it any more (its node's backward consumed it, or
 * it was summed into another), so intermediate gradients go back while backward runs, as in
 * PyTorch. Only gradients this pass made itself are disposed (ids from `firstId` on): a backward
 * rule that hands on a saved tensor, or a caller's seed, is never touched. The same gradient
 * object can wait for several tensors (add's rule passes its incoming gradient to both inputs), so
 * holders are counted; a view of a disposed gradient keeps its storage by itself.
 */
function propagate(
  roots: readonly Tensor[], seeds: readonly Tensor[], retainGraph: boolean, targets: ReadonlySet<Tensor> | undefined, firstId: number,
): Map<Tensor, Tensor> {
  for (const root of roots) {
    if (!root.requiresGrad) {
      throw new GradientError(`backward: ${root.toString()} does not require a gradient and has no gradFn`);
    }
  }
  const pending = new Map<Tensor, Tensor>();
  const reached = new Map<Tensor, Tensor>();
  const handedOut = new Set<Tensor>();
  const holders = new Map<Tensor, number>();
  const hold = (g: Tensor): void => {
    holders.set(g, (holders.get(g) ?? 0) + 1);
  };
  /** Disposes `g` when nothing holds it, this pass made it and it is not a result. */
  const disposeIfFree = (g: Tensor): void => {
    if (!holders.has(g) && g.id >= firstId && !handedOut.has(g)) g.dispose();
  };
  const drop = (g: Tensor): void => {
    const count = (holders.get(g) ?? 1) - 1;
    if (count > 0) holders.set(g, count);
    else holders.delete(g);
    disposeIfFree(g);
  };
  const accumulate = (t: Tensor, g: Tensor): void => {
    hold(g);
    const previous = pending.get(t);
    if (!previous) {
      pending.set(t, g);
      return;
    }
    const sum = add(previous, g);
    hold(sum);
    pending.set(t, sum);
    drop(previous);
    drop(g);
  };
  roots.forEach((root, i) => accumulate(root, seeds[i]));
  withGradMode(false, () => {
    const order = topologicalOrder(roots);
    for (let i = order.length - 1; i >= 0; i--) {
      const tensor = order[i];
      const g = pending.get(tensor);
      if (!g) continue;
      pending.delete(tensor);
      if (targets ? targets.has(tensor) : tensor.isLeaf && tensor.requiresGrad) {
        reached.set(tensor, g);
        handedOut.add(g);
      }
      const node = tensor.gradFn;
      if (!node) continue;
      if (node.freed) {
        throw new GradientError(
          `backward: trying to go back through ${node.opName} a second time, but its saved tensors were freed; pass { retainGraph: true } to the first backward`,
        );
      }
      if (!node.backward) throw new GradientError(`backward: op ${node.opName} has no backward rule`);
      const inputGrads = node.backward(g);
      if (!retainGraph) {
        node.backward = undefined;
        node.freed = true;
      }
      node.inputs.forEach((input, k) => {
        const gi = inputGrads[k];
        if (!input || !gi) return;
        if (formatShape(gi.shape) !== formatShape(input.shape)) {
          throw new GradientError(
            `backward of ${node.opName}: gradient for input ${k} has shape ${formatShape(gi.shape)}, expected ${formatShape(input.shape)}`,
          );
        }
        const converted = cast(gi, input.dtype);
        accumulate(input, converted);
        if (converted !== gi) disposeIfFree(gi);
      });
      drop(g);
    }
  });
  return reached;
}

/** The engine behind `tensor.backward()`: accumulates into `.grad` of every leaf reached. */
export function backward(root: Tensor, gradient?: Tensor, options: GradOptions = {}): void {
  const firstId = Tensor.nextId();
  const reached = propagate([root], [seedGradient(root, gradient)], options.retainGraph ?? false, undefined, firstId);
  withGradMode(false, () => {
    // A gradient this pass made, alone on its storage (no other leaf's gradient is it or a view of
    // it) and laid out as the leaf's own, becomes the leaf's .grad itself, as PyTorch steals it;
    // any other is copied, since .grad can be changed in place (clipGradNorm). One copy less per
    // parameter and step (ParC-Net-XS: 259 copies, about 2 % of a training step).
    const onStorage = new Map<object, number>();
    for (const g of reached.values()) onStorage.set(g.storage, (onStorage.get(g.storage) ?? 0) + 1);
    const stolen = new Set<Tensor>();
    for (const [leaf, g] of reached) {
      // A leaf's .grad outlives the step's scope, as in PyTorch it stays until zero_grad.
      if (leaf.grad) {
        accumulate(leaf, g);
      } else if (g.id >= firstId && g.dtype === leaf.dtype && g.isContiguous() && g.storage.length === g.size && onStorage.get(g.storage) === 1) {
        leaf.grad = keep(g);
        stolen.add(g);
      } else {
        leaf.grad = keep(cast(g, leaf.dtype, true));
      }
    }
    // The same gradient object can reach several leaves, so they go back only after all were copied.
    for (const g of new Set(reached.values())) if (g.id >= firstId && !stolen.has(g)) g.dispose();
  });
}

/**
 * Adds `g` to `leaf.grad` in place, as PyTorch accumulates outside grad mode: a caller holding
 * .grad (or a tensor sharing its storage) sees the sum, and no second buffer waits for the collector
 * when gradients accumulate over steps. A .grad that is not contiguous (a strided view a caller
 * assigned) becomes a new sum instead. Either way each float32 element is a + b rounded once.
 */
function accumulate(leaf: Tensor, g: Tensor): void {
  const old = leaf.grad!;
  if (!old.isContiguous()) {
    leaf.grad = keep(add(old, g));
    return;
  }
  // The cast first: it may allocate, and the storages are read after it.
  const addend = g.dtype === old.dtype && g.isContiguous() ? g : cast(g, old.dtype, true);
  const sum = old.storage;
  const from = addend.storage;
  for (let i = old.offset, j = addend.offset, end = old.offset + old.size; i < end; i++, j++) sum[i] += from[j];
  if (addend !== g) addend.dispose();
}

/**
 * torch.autograd.grad: the gradients of `outputs` (seeded by `gradOutputs`, or ones for
 * one-element outputs) with respect to `inputs`, without touching any `.grad`. An input the
 * outputs do not depend on gets zeros.
 */
export function grad(
  outputs: Tensor | readonly Tensor[], inputs: readonly Tensor[], gradOutputs?: readonly Tensor[], options: GradOptions = {},
): Tensor[] {
  const outs = Array.isArray(outputs) ? (outputs as readonly Tensor[]) : [outputs as Tensor];
  const firstId = Tensor.nextId();
  const seeds = outs.map((o, i) => seedGradient(o, gradOutputs?.[i]));
  const reached = propagate(outs, seeds, options.retainGraph ?? false, new Set(inputs), firstId);
  return inputs.map((x) => reached.get(x) ?? zeros(x.shape, { dtype: x.dtype }));
}

installBackwardEngine((root, gradient, options) => backward(root, gradient, options));
