import { ShapeError } from '../errors.js';
import { formatShape, normalizeAxis } from '../shape.js';
import type { Tensor } from '../tensor.js';
import { selectAlongAxis } from './indexing.js';

/** How {@link pad} fills: with a value ('constant'), wrapping around ('circular'), or mirroring without repeating the edge ('reflect'). */
export type PadMode = 'constant' | 'circular' | 'reflect';

/** Options of {@link pad}, as torch.nn.functional.pad's `mode` and `value`. */
export interface PadOptions {
  /** Default 'constant'. */
  mode?: PadMode;
  /** constant mode only; default 0. */
  value?: number;
}

/** Source position for output position p along an axis of `size` padded by `before`, or -1 (constant). */
function sourceIndex(mode: PadMode, p: number, before: number, size: number): number {
  const src = p - before;
  if (mode === 'circular') return ((src % size) + size) % size;
  if (mode === 'reflect') return src < 0 ? -src : src >= size ? 2 * (size - 1) - src : src;
  return src >= 0 && src < size ? src : -1;
}

/**
 * torch.nn.functional.pad: `pads` lists (before, after) pairs starting from the LAST dim, e.g.
 * [left, right, top, bottom] for NCHW. Negative pads crop. Each padded axis is one gather along
 * that axis, so the backward is the matching scatter-add (circular wrap-arounds sum up).
 */
export function pad(x: Tensor, pads: readonly number[], options: PadOptions = {}): Tensor {
  const mode = options.mode ?? 'constant';
  if (pads.length % 2 !== 0 || pads.length / 2 > x.ndim || !pads.every(Number.isInteger)) {
    throw new ShapeError(`pad: pads [${pads.join(', ')}] must be integer (before, after) pairs for at most ${x.ndim} dims`);
  }
  let out = x;
  for (let pairIndex = 0; pairIndex < pads.length / 2; pairIndex++) {
    const axis = x.ndim - 1 - pairIndex;
    const [before, after] = [pads[2 * pairIndex], pads[2 * pairIndex + 1]];
    if (before === 0 && after === 0) continue;
    const size = x.shape[axis];
    if (mode === 'circular' && (before > size || after > size)) {
      throw new ShapeError(`pad: circular padding (${before}, ${after}) of dim ${axis} must not exceed its size ${size} (shape ${formatShape(x.shape)})`);
    }
    if (mode === 'reflect' && (before >= size || after >= size)) {
      throw new ShapeError(`pad: reflect padding (${before}, ${after}) of dim ${axis} must be less than its size ${size} (shape ${formatShape(x.shape)})`);
    }
    const length = size + before + after;
    if (length < 0) throw new ShapeError(`pad: pads (${before}, ${after}) leave dim ${axis} of size ${size} negative`);
    const positions = Int32Array.from({ length }, (_, p) => sourceIndex(mode, p, before, size));
    out = selectAlongAxis('pad', out, axis, positions, options.value ?? 0);
  }
  return out;
}

/** torch.roll: shifts elements along `dims` circularly; what falls off one end comes in at the other. */
export function roll(x: Tensor, shifts: number | readonly number[], dims: number | readonly number[]): Tensor {
  const shiftList = typeof shifts === 'number' ? [shifts] : shifts;
  const dimList = typeof dims === 'number' ? [dims] : dims;
  if (shiftList.length !== dimList.length) {
    throw new ShapeError(`roll: ${shiftList.length} shifts for ${dimList.length} dims`);
  }
  let out = x;
  dimList.forEach((d, i) => {
    const axis = normalizeAxis('roll', d, x.ndim);
    const size = x.shape[axis];
    if (size === 0) return;
    const positions = Int32Array.from({ length: size }, (_, p) => (((p - shiftList[i]) % size) + size) % size);
    out = selectAlongAxis('roll', out, axis, positions);
  });
  return out;
}
