/**
 * Deterministic random numbers for data loading: xoshiro128** (Blackman & Vigna) on 32-bit
 * integer arithmetic only (Math.imul, >>>), so the same seed gives the same stream in every JS
 * engine on every machine. Streams are derived from (seed, epoch, purpose, counter) by hashing
 * instead of being drawn from one shared generator: a batch's shuffle and augmentation depend
 * only on where it sits in the epoch, so prefetching, skipping or resuming mid-epoch never
 * changes what a given batch contains.
 */

/** Stream purposes, hashed into the seed so shuffle and augmentation draws never correlate. */
export const STREAM_SHUFFLE = 1;
export const STREAM_AUGMENT = 2;
export const STREAM_SPLIT = 3;
/** Stream 4 is the trainer's dropout seed (runtime/train/trainer.ts STREAM_DROPOUT). */
export const STREAM_HOLDOUT = 5;

/** murmur3's 32-bit finalizer: a bijection that spreads every input bit over the output. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * Hash a list of integers (each a safe integer, negatives allowed) to 32 bits. Both halves of
 * each value are mixed in, so seeds above 2^32 are not silently truncated.
 */
export function hashInts(parts: readonly number[]): number {
  let h = 0x243f6a88;
  for (const p of parts) {
    if (!Number.isSafeInteger(p))
      throw new RangeError(`rng: seed parts must be integers, got ${p}`);
    const lo = p >>> 0;
    const hi = Math.floor(p / 0x100000000) >>> 0;
    h = fmix32((h ^ lo) + 0x9e3779b9);
    h = fmix32((h ^ hi) + 0x7f4a7c15);
  }
  return h;
}

/** The serializable state of a generator: four uint32 words, never all zero. */
export type RngState = [number, number, number, number];

export class Xoshiro128 {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  constructor(state: Readonly<RngState>) {
    [this.s0, this.s1, this.s2, this.s3] = state.map((x) => x >>> 0);
    // The all-zero state is the one fixed point of xoshiro: it would emit zeros forever.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A generator whose state is splitmix32-expanded from the hash of `parts`. */
  static from(parts: readonly number[]): Xoshiro128 {
    let z = hashInts(parts);
    const st: number[] = [];
    for (let i = 0; i < 4; i++) {
      z = (z + 0x9e3779b9) >>> 0;
      st.push(fmix32(z));
    }
    return new Xoshiro128(st as RngState);
  }

  state(): RngState {
    return [this.s0, this.s1, this.s2, this.s3];
  }

  /** Next uint32 (xoshiro128** 1.1). */
  nextU32(): number {
    const s1 = this.s1;
    const x = Math.imul(s1, 5);
    const result = Math.imul((x << 7) | (x >>> 25), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = (this.s3 << 11) | (this.s3 >>> 21);
    return result;
  }

  /** Uniform float in [0, 1) with 32 random bits. */
  nextFloat(): number {
    return this.nextU32() / 0x100000000;
  }

  /** Uniform integer in [0, n) for 1 <= n <= 2^32, unbiased (rejection of the short last block). */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 0x100000000) {
      throw new RangeError(`rng: nextInt bound must be an integer in [1, 2^32], got ${n}`);
    }
    const limit = 0x100000000 - (0x100000000 % n);
    for (;;) {
      const r = this.nextU32();
      if (r < limit) return r % n;
    }
  }
}

/**
 * A Fisher–Yates shuffle of 0..n-1 drawn from the generator of `parts` (Xoshiro128.from): the
 * one shuffle behind epoch orders, folder splits and held-out validation parts.
 */
export function seededPermutation(n: number, parts: readonly number[]): Uint32Array {
  const perm = new Uint32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  const rng = Xoshiro128.from(parts);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.nextInt(i + 1);
    const t = perm[i]!;
    perm[i] = perm[j]!;
    perm[j] = t;
  }
  return perm;
}

/**
 * The order of one epoch: a shuffle of 0..n-1 drawn from (seed, epoch). Same arguments, same
 * permutation, everywhere.
 */
export function epochPermutation(n: number, seed: number, epoch: number): Uint32Array {
  return seededPermutation(n, [seed, epoch, STREAM_SHUFFLE]);
}
