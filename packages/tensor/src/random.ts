/**
 * A seeded pseudo-random generator (xoshiro128**, seeded through splitmix32), so that every random
 * tensor, initialisation and data shuffle is reproducible from an explicit seed.
 */
export class Generator {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  /** A second normal deviate left over from the last Box-Muller pair. */
  private spareNormal: number | null = null;

  constructor(seed = 0) {
    this.manualSeed(seed);
  }

  /** Reseeds this generator from `seed` (an integer; its low and high 32-bit words are mixed) and returns it. */
  manualSeed(seed: number): this {
    let x = (Math.floor(seed) ^ Math.floor(seed / 0x100000000)) >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next() | 0;
    this.s1 = next() | 0;
    this.s2 = next() | 0;
    this.s3 = next() | 0;
    this.spareNormal = null;
    return this;
  }

  /** The full state, to save in a checkpoint and restore with `setState`. */
  getState(): number[] {
    return [this.s0 >>> 0, this.s1 >>> 0, this.s2 >>> 0, this.s3 >>> 0, this.spareNormal ?? Number.NaN];
  }

  /** Restores a state saved by `getState`, so the same numbers follow again. */
  setState(state: readonly number[]): void {
    [this.s0, this.s1, this.s2, this.s3] = state.map((v) => v | 0);
    this.spareNormal = Number.isNaN(state[4]) ? null : state[4];
  }

  /** A uniform unsigned 32-bit integer. */
  nextUint32(): number {
    // The state words are kept as int32 (`| 0`), which V8 holds unboxed; as uint32 (`>>> 0`) every
    // word above 2³¹ was a heap number, and a draw cost about 26 ns. Only the result is made unsigned.
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A uniform double in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5;
    const lo = this.nextUint32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** A standard normal deviate (Box-Muller). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** A uniform integer in [low, high). */
  integer(low: number, high: number): number {
    return low + Math.floor(this.uniform() * (high - low));
  }
}

/** x rotated left by k bits, as an int32. */
function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** The generator used when an op is given neither a seed nor a generator. */
export const defaultGenerator = new Generator(0);

/** Reseeds the default generator, like `torch.manual_seed`. */
export function manualSeed(seed: number): void {
  defaultGenerator.manualSeed(seed);
}

/** Where a random function draws from: `generator` if given, else a fresh one seeded by `seed`, else {@link defaultGenerator}. */
export interface RandomOptions {
  /** Seed of a fresh Generator used for this call only (the default generator is left as it is). */
  seed?: number;
  /** The generator to draw from, advanced by the call; takes precedence over `seed`. */
  generator?: Generator;
}

export function resolveGenerator(options: RandomOptions | undefined): Generator {
  if (options?.generator) return options.generator;
  if (options?.seed !== undefined) return new Generator(options.seed);
  return defaultGenerator;
}
