/**
 * Float64 CPU references for the kernel tests, a seeded input generator and the comparison the
 * tests share. References take the f32 inputs exactly as uploaded, so any difference is the
 * kernel's arithmetic (or a bug), never input rounding.
 */

import { expect } from 'vitest';

/** Deterministic uniform values in [lo, hi), rounded to f32 (mulberry32). */
export function randomF32(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const r = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out[i] = lo + (hi - lo) * r;
  }
  return out;
}

/**
 * erf in float64 from the series erf(x) = 2/√π · e^{−x²} · Σ_n (2x²)^n · x / (1·3·…·(2n+1)):
 * every term is positive (no cancellation), so it is accurate to ~1e-15 wherever it converges,
 * which for |x| ≤ 6 takes < 200 terms. Beyond 6, erf is ±1 to double precision.
 */
export function erf64(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  if (a > 6) return Math.sign(x);
  const a2 = 2 * a * a;
  let term = a;
  let sum = a;
  for (let n = 1; n < 400; n++) {
    term *= a2 / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return Math.sign(x) * Math.min(1, (2 / Math.sqrt(Math.PI)) * Math.exp(-a * a) * sum);
}

export const gelu64 = (x: number): number => 0.5 * x * (1 + erf64(x / Math.SQRT2));
export const geluTanh64 = (x: number): number =>
  0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
export const sigmoid64 = (x: number): number => 1 / (1 + Math.exp(-x));
export const silu64 = (x: number): number => x * sigmoid64(x);
export const relu64 = (x: number): number => Math.max(x, 0);

export type Act64 = 'none' | 'gelu' | 'gelu_tanh' | 'relu' | 'silu';
export function act64(act: Act64, x: number): number {
  switch (act) {
    case 'none':
      return x;
    case 'gelu':
      return gelu64(x);
    case 'gelu_tanh':
      return geluTanh64(x);
    case 'relu':
      return relu64(x);
    case 'silu':
      return silu64(x);
  }
}

export interface Closeness {
  /** ‖out − ref‖₂ / ‖ref‖₂ */
  relNorm: number;
  /** max |out − ref| / max |ref| */
  relMax: number;
  /** index of the worst element */
  worst: number;
}

export function closeness(out: ArrayLike<number>, ref: ArrayLike<number>): Closeness {
  if (out.length !== ref.length) throw new Error(`length ${out.length} vs reference ${ref.length}`);
  let num = 0;
  let den = 0;
  let maxErr = -1;
  let maxRef = 0;
  let worst = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(out[i] - ref[i]);
    // NaN (an unwritten output) must fail, and NaN comparisons are false: test explicitly.
    const err = Number.isNaN(d) ? Infinity : d;
    num += err * err;
    den += ref[i] * ref[i];
    maxRef = Math.max(maxRef, Math.abs(ref[i]));
    if (err > maxErr) {
      maxErr = err;
      worst = i;
    }
  }
  return {
    relNorm: den === 0 ? Math.sqrt(num) : Math.sqrt(num / den),
    relMax: maxRef === 0 ? maxErr : maxErr / maxRef,
    worst,
  };
}

/**
 * The tests' acceptance: relative L2 error ≤ 2e-6 and no single element off by more than
 * `maxTol` of the largest reference magnitude.
 */
export function expectClose(
  out: ArrayLike<number>,
  ref: ArrayLike<number>,
  what: string,
  opts: { rel?: number; maxTol?: number } = {},
): Closeness {
  const rel = opts.rel ?? 2e-6;
  const maxTol = opts.maxTol ?? 1e-5;
  const c = closeness(out, ref);
  const detail = `${what}: relNorm ${c.relNorm.toExponential(2)}, relMax ${c.relMax.toExponential(2)} at [${c.worst}] (out ${out[c.worst]}, ref ${ref[c.worst]})`;
  expect(c.relNorm, detail).toBeLessThanOrEqual(rel);
  expect(c.relMax, detail).toBeLessThanOrEqual(maxTol);
  return c;
}

// ---- references per kernel family --------------------------------------------------------------

export interface MatmulRef {
  batch: number;
  M: number;
  N: number;
  K: number;
  transA?: boolean;
  transB?: boolean;
  sharedA?: boolean;
  sharedB?: boolean;
  bias?: Float32Array;
  act?: Act64;
  scale?: Float32Array;
  residual?: Float32Array;
}

export function matmul64(a: Float32Array, b: Float32Array, r: MatmulRef): Float64Array {
  const { batch, M, N, K } = r;
  const out = new Float64Array(batch * M * N);
  for (let z = 0; z < batch; z++) {
    const ao = r.sharedA ? 0 : z * M * K;
    const bo = r.sharedB ? 0 : z * K * N;
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = r.transA ? a[ao + k * M + m] : a[ao + m * K + k];
          const bv = r.transB ? b[bo + n * K + k] : b[bo + k * N + n];
          s += av * bv;
        }
        const idx = z * M * N + m * N + n;
        if (r.bias) s += r.bias[n];
        s = act64(r.act ?? 'none', s);
        if (r.scale) s *= r.scale[n];
        if (r.residual) s += r.residual[idx];
        out[idx] = s;
      }
    }
  }
  return out;
}

/** Explicit im2col of images [B, C, H, W] into rows (image, patch) × columns (c, i, j). */
export function im2col64(
  img: Float32Array,
  B: number,
  C: number,
  H: number,
  W: number,
  ph: number,
  pw: number,
): Float32Array {
  const gh = H / ph;
  const gw = W / pw;
  const K = C * ph * pw;
  const out = new Float32Array(B * gh * gw * K);
  for (let b = 0; b < B; b++)
    for (let py = 0; py < gh; py++)
      for (let px = 0; px < gw; px++)
        for (let c = 0; c < C; c++)
          for (let i = 0; i < ph; i++)
            for (let j = 0; j < pw; j++) {
              const row = (b * gh + py) * gw + px;
              const col = (c * ph + i) * pw + j;
              out[row * K + col] = img[((b * C + c) * H + py * ph + i) * W + px * pw + j];
            }
  return out;
}
