// The counter-based RNG behind dropout and drop_path. A random bit depends only on
// (seed, stream, index), so there is no generator state: the CPU interpreter, the WGSL kernels
// and the backward pass (which must drop exactly the elements the forward dropped) all compute
// the same bits independently, in any order and in parallel.
//
// It uses only 32-bit integer xor, logical shift right and wrapping multiply, which WGSL's u32
// has natively; `RNG_WGSL` below is the same function for the code generator to paste in.
//
// Hash: "lowbias32" by Chris Wellons (hash-prospector), a 32-bit bijection with low bias.
//   key  = lowbias32(seed ^ lowbias32(stream ^ 0x9e3779b9))   — per (step, dropout site)
//   bits = lowbias32(lowbias32(index) ^ key)                  — per element or sample
// Hashing the index before keying it matters: with lowbias32(index ^ key) the masks of two
// steps would be xor-translates of one fixed pattern; the constant keeps (seed 0, stream 0)
// from hitting lowbias32's fixed point 0.
// An element is dropped iff bits < dropThreshold(rate) = min(round(rate·2³²), 2³² - 1), i.e. with
// probability rate (to 2⁻³²); kept elements are scaled by 1/(1 - rate), exactly as torch.

/** lowbias32: x ^= x>>16; x *= 0x7feb352d; x ^= x>>15; x *= 0x846ca68b; x ^= x>>16 (mod 2³²). */
export function lowbias32(x: number): number {
  x >>>= 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** The per-(seed, stream) key; seed and stream are taken mod 2³² (an i32 seed is reinterpreted). */
export function streamKey(seed: number, stream: number): number {
  return lowbias32((seed ^ lowbias32((stream ^ 0x9e3779b9) >>> 0)) >>> 0);
}

/** 32 random bits for element `index` of dropout site `stream` in the step seeded by `seed`. */
export function randomBits(seed: number, stream: number, index: number): number {
  return keyedBits(streamKey(seed, stream), index);
}

/** The bits of `index` under a precomputed streamKey (the interpreter's inner loop). */
export function keyedBits(key: number, index: number): number {
  return lowbias32((lowbias32(index) ^ key) >>> 0);
}

/** The u32 threshold below which bits mean "drop". */
export function dropThreshold(rate: number): number {
  if (!(rate >= 0 && rate < 1)) throw new Error(`dropout rate ${rate} outside [0, 1)`);
  return Math.min(Math.round(rate * 2 ** 32), 2 ** 32 - 1);
}

/** Whether element `index` is dropped. */
export function isDropped(seed: number, stream: number, index: number, rate: number): boolean {
  return randomBits(seed, stream, index) < dropThreshold(rate);
}

/**
 * WGSL with the identical functions. `vitc_drop(seed, stream, index, threshold)` returns true
 * for a dropped element; pass dropThreshold(rate) as `threshold`.
 */
export const RNG_WGSL = `fn vitc_lowbias32(v: u32) -> u32 {
  var x = v;
  x = x ^ (x >> 16u);
  x = x * 0x7feb352du;
  x = x ^ (x >> 15u);
  x = x * 0x846ca68bu;
  x = x ^ (x >> 16u);
  return x;
}

fn vitc_stream_key(seed: u32, stream: u32) -> u32 {
  return vitc_lowbias32(seed ^ vitc_lowbias32(stream ^ 0x9e3779b9u));
}

fn vitc_random_bits(seed: u32, stream: u32, index: u32) -> u32 {
  return vitc_lowbias32(vitc_lowbias32(index) ^ vitc_stream_key(seed, stream));
}

fn vitc_drop(seed: u32, stream: u32, index: u32, threshold: u32) -> bool {
  return vitc_random_bits(seed, stream, index) < threshold;
}
`;
