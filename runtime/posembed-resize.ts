/**
 * Position-embedding resampling, reproducing timm's `resample_abs_pos_embed`
 * (timm/layers/pos_embed.py): prefix tokens are kept apart, the patch part is viewed as a
 * [1, dim, rows, cols] image and resized with
 * `F.interpolate(size, mode='bicubic', antialias=True, align_corners=False)`, then flattened back.
 *
 * The resize reproduces PyTorch's CPU float32 kernel operation by operation
 * (aten/src/ATen/native/cpu/UpSampleKernel.cpp, the separable antialiased path):
 *  - per axis, scale = in/out (float32); when shrinking the filter support grows to 2·scale and the
 *    kernel is evaluated at distance/scale; weights are normalised to sum to one, in float32;
 *  - the filter is Keys' cubic with a = -0.5 (PIL's), not the -0.75 of plain bicubic;
 *  - the width pass runs first, then the height pass, each accumulating in float32.
 * The x86-64 build of PyTorch compiles this kernel with FMA contraction: the (x-5)·x+8 / ·x-4
 * polynomial and the accumulation use fused multiply-adds, except that the accumulation loop's
 * 4-wide unrolled body (a vector multiply, then sequential adds) rounds each product. Matching
 * that makes the result bit-identical to torch 1.13 on x86-64 (verified by
 * test/weights/posembed.test.ts against tools/reference/posembed_fixture.py); other builds of
 * PyTorch differ from it by a few float32 ulps.
 */
import { type Spec, patchGrid, prefixTokens } from '../compiler/spec/types.js';

export interface Grid {
  rows: number;
  cols: number;
}

const fr = Math.fround;

// Aliased views to read a double's low mantissa bit (host byte order decides which word).
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);
const LOW = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 0 : 1;

/**
 * float32 fused multiply-add fl32(a·b + c), correctly rounded. a·b is exact in a double; the sum
 * is formed in round-to-odd double precision (53 ≥ 24 + 2 bits), so the final fround rounds once.
 */
export function fma32(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const bb = s - p;
  const err = p - (s - bb) + (c - bb);
  if (err === 0 || !Number.isFinite(s)) return fr(s);
  f64[0] = s;
  if ((u32[LOW] & 1) === 0) {
    // Move one double ulp towards the exact value: the result is the round-to-odd sum.
    const towardZero = err > 0 !== s > 0;
    if (towardZero) {
      if (u32[LOW] === 0) u32[1 - LOW]--;
      u32[LOW]--;
    } else {
      if (u32[LOW] === 0xffffffff) u32[1 - LOW]++;
      u32[LOW]++;
    }
  }
  return fr(f64[0]);
}

/** PIL's bicubic filter (a = -0.5) as PyTorch's AA kernel evaluates it on a float32 argument. */
function cubicAA(xIn: number): number {
  const x = Math.abs(xIn);
  // `a` is a double macro in the kernel: the first branch is evaluated in double precision.
  if (x < 1) return fr((1.5 * x - 2.5) * x * x + 1);
  if (x < 2) return fr(fma32(fma32(fr(x - 5), x, 8), x, -4) * -0.5);
  return 0;
}

interface AxisWeights {
  start: Int32Array;
  size: Int32Array;
  /** weights[i * stride + j] for output i, tap j. */
  weights: Float32Array;
  stride: number;
}

/** Taps and normalised weights along one axis, as _compute_indices_min_size_weights_aa. */
export function aaBicubicWeights(inSize: number, outSize: number): AxisWeights {
  const scale = fr(inSize / outSize);
  const support = scale >= 1 ? fr(2 * scale) : 2;
  const invscale = scale >= 1 ? fr(1 / scale) : 1;
  const stride = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const size = new Int32Array(outSize);
  const weights = new Float32Array(outSize * stride);
  for (let i = 0; i < outSize; i++) {
    const center = fr(scale * (i + 0.5));
    const xmin = Math.max(Math.trunc(fr(center - support) + 0.5), 0);
    const xmax = Math.min(Math.trunc(fr(center + support) + 0.5), inSize);
    const n = Math.min(Math.max(xmax - xmin, 0), stride);
    let total = 0;
    for (let j = 0; j < n; j++) {
      const w = cubicAA(fr((fr(j + xmin - center) + 0.5) * invscale));
      weights[i * stride + j] = w;
      total = fr(total + w);
    }
    if (total !== 0) {
      for (let j = 0; j < n; j++) weights[i * stride + j] = fr(weights[i * stride + j] / total);
    }
    start[i] = xmin;
    size[i] = n;
  }
  return { start, size, weights, stride };
}

/**
 * Resizes along one axis of a [outer, len, inner] float32 array, len → outLen, with the
 * accumulation order of the kernel's interpolate_aa_single_dim (see the file comment).
 */
function resizeAxis(
  src: Float32Array,
  outer: number,
  len: number,
  inner: number,
  outLen: number,
): Float32Array {
  const { start, size, weights, stride } = aaBicubicWeights(len, outLen);
  const dst = new Float32Array(outer * outLen * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < outLen; i++) {
      const n = size[i];
      const wBase = i * stride;
      const sBase = (o * len + start[i]) * inner;
      const dBase = (o * outLen + i) * inner;
      for (let c = 0; c < inner; c++) {
        let acc = fr(src[sBase + c] * weights[wBase]);
        let j = 1;
        // Unrolled body: four taps at a time, each product rounded before the add.
        for (; j + 4 <= n; j += 4) {
          for (let k = j; k < j + 4; k++)
            acc = fr(acc + fr(src[sBase + k * inner + c] * weights[wBase + k]));
        }
        // Remainder loop: fused multiply-adds.
        for (; j < n; j++) acc = fma32(src[sBase + j * inner + c], weights[wBase + j], acc);
        dst[dBase + c] = acc;
      }
    }
  }
  return dst;
}

/**
 * Antialiased bicubic resize of a channels-last image [rows, cols, channels] (the layout of a
 * position embedding's patch tokens), as F.interpolate(mode='bicubic', antialias=True).
 */
export function resizeBicubicAA(
  src: Float32Array,
  from: Grid,
  to: Grid,
  channels: number,
): Float32Array {
  let cur = src;
  // Width first, then height, as the kernel does; an unchanged axis is skipped (a plain copy).
  if (to.cols !== from.cols) cur = resizeAxis(cur, from.rows, from.cols, channels, to.cols);
  if (to.rows !== from.rows) cur = resizeAxis(cur, 1, from.rows, to.cols * channels, to.rows);
  return cur === src ? src.slice() : cur;
}

function checkGrid(g: Grid, what: string) {
  if (!Number.isSafeInteger(g.rows) || !Number.isSafeInteger(g.cols) || g.rows < 1 || g.cols < 1) {
    throw new RangeError(`${what} grid ${g.rows}x${g.cols} is not a positive integer size`);
  }
}

/**
 * timm's resample_abs_pos_embed on a flat [numPrefix + from.rows·from.cols, dim] position
 * embedding: prefix tokens copied, the grid resized. Returns a new array.
 */
export function resamplePosEmbed(
  posEmbed: Float32Array,
  from: Grid,
  to: Grid,
  dim: number,
  numPrefix: number,
): Float32Array {
  checkGrid(from, 'source');
  checkGrid(to, 'target');
  const inLen = (numPrefix + from.rows * from.cols) * dim;
  if (posEmbed.length !== inLen) {
    throw new RangeError(
      `pos_embed has ${posEmbed.length} values; a ${from.rows}x${from.cols} grid with ${numPrefix} prefix tokens and dim ${dim} needs ${inLen}`,
    );
  }
  const head = numPrefix * dim;
  const grid = resizeBicubicAA(posEmbed.subarray(head), from, to, dim);
  const out = new Float32Array(head + grid.length);
  out.set(posEmbed.subarray(0, head));
  out.set(grid, head);
  return out;
}

/** The square grid a pos_embed of `tokens` tokens has after `numPrefix` prefix tokens, if any. */
export function squareGrid(tokens: number, numPrefix: number): Grid | null {
  const n = tokens - numPrefix;
  if (n < 1) return null;
  const side = Math.round(Math.sqrt(n));
  return side * side === n ? { rows: side, cols: side } : null;
}

/** Number of prefix tokens the spec's learned pos_embed covers (0 for timm no_embed_class). */
export function posEmbedPrefix(spec: Spec): number {
  return spec.pos.prefix ? prefixTokens(spec) : 0;
}

/**
 * Resizes `pos_embed` in a parameter map from a checkpoint's grid to the spec's grid (a model
 * trained at 224 run at 384). Returns a new map; other entries are shared, not copied.
 */
export function adaptPosEmbed(
  params: ReadonlyMap<string, Float32Array>,
  spec: Spec,
  fromGrid: Grid,
): Map<string, Float32Array> {
  const out = new Map(params);
  const pe = params.get('pos_embed');
  if (spec.pos.kind !== 'learned' || !pe) return out;
  out.set(
    'pos_embed',
    resamplePosEmbed(pe, fromGrid, patchGrid(spec), spec.width, posEmbedPrefix(spec)),
  );
  return out;
}
