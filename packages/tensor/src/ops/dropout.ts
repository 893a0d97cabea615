import { assertFloat, type FloatDType } from '../dtype.js';
import { ShapeError } from '../errors.js';
import { resolveGenerator, type Generator, type RandomOptions } from '../random.js';
import { runKernel } from '../registry.js';
import { formatShape } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { mul } from './elementwise.js';

/**
 * torch.nn.functional.dropout: in training, each element of `input` zeroed with probability `p` and
 * the rest scaled by 1/(1 − p); `input` itself when not training or p = 0. The mask is a constant, so
 * the gradient is the mask (through `mul`). `generator` (or a fresh one from `seed`, else the default
 * generator) advances by one 32-bit draw per element.
 */
export function dropout(input: Tensor, p = 0.5, training = true, options: RandomOptions = {}): Tensor {
  checkProbability('dropout', p);
  if (!training || p === 0 || input.size === 0) return input;
  assertFloat('dropout', input.dtype);
  // p = 1 drops everything, as torch (x · 0, no draws); the 1/(1 − p) scale would be ∞.
  if (p === 1) return mul(input, 0);
  return mul(input, dropoutMask(input.shape, p, input.dtype, resolveGenerator(options)));
}

/**
 * torch.nn.functional.dropout2d: in training, each channel (n, c) of `input` [N, C, H, W] zeroed
 * with probability `p` and the rest scaled by 1/(1 − p), one draw per channel (a [N, C, 1, 1] mask
 * broadcast); `input` itself when not training or p = 0.
 */
export function dropout2d(input: Tensor, p = 0.5, training = true, options: RandomOptions = {}): Tensor {
  checkProbability('dropout2d', p);
  if (!training || p === 0 || input.size === 0) return input;
  if (input.ndim !== 4) throw new ShapeError(`dropout2d: expected input [N, C, H, W], got ${formatShape(input.shape)}`);
  assertFloat('dropout2d', input.dtype);
  if (p === 1) return mul(input, 0);
  const [n, c] = input.shape;
  return mul(input, dropoutMask([n, c, 1, 1], p, input.dtype, resolveGenerator(options)));
}

/**
 * The uint32 draw below which dropout keeps an element: round((1 − p) · 2³²), in [0, 2³²], so an
 * element is kept with probability 1 − p to within 2⁻³³. It is 2³² (keep all) only for p < 2⁻³³
 * and 0 (keep none) for p > 1 − 2⁻³³; kernels compare in a range wider than 32 bits.
 */
export function dropoutKeepBelow(p: number): number {
  return Math.round((1 - p) * 4294967296);
}

/** A mask of `shape`: 1/(1 − p) where kept, 0 where dropped, for 0 < p < 1; `generator` moves past its draws. */
function dropoutMask(shape: readonly number[], p: number, dtype: FloatDType, generator: Generator): Tensor {
  const state = generator.getState();
  const { mask, state: next } = runKernel('DropoutMask', shape, dropoutKeepBelow(p), 1 / (1 - p), dtype, [state[0], state[1], state[2], state[3]]);
  // Only the four words move: a spare normal left by randn stays for the next normal(), as with nextUint32.
  generator.setState([...next, state[4]]);
  return mask;
}

function checkProbability(op: string, p: number): void {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`${op}: p must be a probability in [0, 1], got ${p}`);
}
