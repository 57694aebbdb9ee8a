/**
 * Seeded parameter initialization following each ParamInfo.init (compiler/spec/params.ts).
 *
 * Reproducible everywhere: every value comes from integer arithmetic (xoshiro128**) and IEEE
 * +, -, ×, ÷ and sqrt, which are correctly rounded in every JS engine. Math.log/sin/cos are not
 * (engines ship different libms), so normals use the Marsaglia polar form of Box–Muller with a
 * logarithm built from basic arithmetic. Each parameter draws from its own stream, keyed by
 * (seed, name): adding or removing a parameter never shifts another's values.
 */
import { type ParamInit, modelParams } from '../compiler/spec/params.js';
import type { Spec } from '../compiler/spec/types.js';

/** xoshiro128** (Blackman & Vigna), 32-bit state words. */
export class Xoshiro128 {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** Seeds the 128-bit state from a 64-bit key (hi, lo) through splitmix32. */
  constructor(hi: number, lo: number) {
    let x = (Math.imul(hi ^ 0x9e3779b9, 0x85ebca6b) ^ lo) >>> 0;
    const next = () => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.s0 = next() ^ lo;
    this.s1 = next() ^ hi;
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Next unsigned 32-bit integer. */
  nextU32(): number {
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

  /** Uniform in [0, 1) with 53 random bits. */
  nextDouble(): number {
    const hi = this.nextU32() >>> 5; // 27 bits
    const lo = this.nextU32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Standard normal (Marsaglia polar method). */
  nextNormal(): number {
    if (this.spare !== null) {
      const z = this.spare;
      this.spare = null;
      return z;
    }
    for (;;) {
      const u = 2 * this.nextDouble() - 1;
      const v = 2 * this.nextDouble() - 1;
      const s = u * u + v * v;
      if (s >= 1 || s === 0) continue;
      const f = Math.sqrt((-2 * ln(s)) / s);
      this.spare = v * f;
      return u * f;
    }
  }

  private spare: number | null = null;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

const LN2 = 0.6931471805599453;
const SQRT2 = 1.4142135623730951;
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const ATANH_COEFFS = Array.from({ length: 13 }, (_, i) => 1 / (2 * (12 - i) + 1));
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;

/**
 * Natural log of a positive normal double from basic arithmetic only (deterministic across
 * engines): x = m·2^e with m in [√½, √2), ln m = 2·atanh(t), t = (m-1)/(m+1), |t| < 0.172.
 * Within a few ulps of Math.log (test/weights/init.test.ts), but the same bits everywhere.
 */
export function ln(x: number): number {
  f64[0] = x;
  let e = ((u32[HI] >>> 20) & 0x7ff) - 1023;
  u32[HI] = (u32[HI] & 0x800fffff) | 0x3ff00000; // m in [1, 2)
  let m = f64[0];
  if (m > SQRT2) {
    m /= 2;
    e += 1;
  }
  const t = (m - 1) / (m + 1);
  const t2 = t * t;
  // Horner over 1/(2k+1), k = 12..0: |t|^24/25 < 1e-19, far below a double ulp of the sum.
  let sum = ATANH_COEFFS[0];
  for (let k = 1; k < ATANH_COEFFS.length; k++) sum = sum * t2 + ATANH_COEFFS[k];
  sum *= t;
  return 2 * sum + e * LN2;
}

/** FNV-1a over the UTF-16 code units of a string, with a 32-bit seed. */
function hash32(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The stream of parameter `name` under `seed` (any finite number; integers are typical). */
export function paramStream(seed: number, name: string): Xoshiro128 {
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 4294967296) >>> 0;
  // Two independent hashes give a 64-bit key; the seed's high word enters the second.
  return new Xoshiro128(
    hash32(name, lo),
    hash32(name, (lo ^ 0x5bd1e995 ^ Math.imul(hi, 0x27d4eb2f)) >>> 0),
  );
}

/** Fills `out` according to one ParamInit from `rng`. */
export function fillInit(out: Float32Array, init: ParamInit, rng: Xoshiro128): void {
  switch (init.kind) {
    case 'zeros':
      out.fill(0);
      return;
    case 'ones':
      out.fill(1);
      return;
    case 'const':
      out.fill(init.value);
      return;
    case 'uniform':
      for (let i = 0; i < out.length; i++) out[i] = init.bound * (2 * rng.nextDouble() - 1);
      return;
    case 'normal':
      for (let i = 0; i < out.length; i++) out[i] = init.std * rng.nextNormal();
      return;
    case 'trunc_normal':
      // Rejection keeps the exact truncated distribution (95.4% acceptance at ±2 std).
      for (let i = 0; i < out.length; i++) {
        let z: number;
        do z = rng.nextNormal();
        while (z < -2 || z > 2);
        out[i] = init.std * z;
      }
      return;
  }
}

/** Every parameter of the model, initialized; keys in modelParams order. */
export function initParams(spec: Spec, seed: number = spec.init.seed): Map<string, Float32Array> {
  if (!Number.isFinite(seed)) throw new RangeError(`init seed ${seed} is not a finite number`);
  const out = new Map<string, Float32Array>();
  for (const p of modelParams(spec)) {
    const data = new Float32Array(p.shape.reduce((a, b) => a * b, 1));
    fillInit(data, p.init, paramStream(seed, p.name));
    out.set(p.name, data);
  }
  return out;
}
