/**
 * IEEE binary16 (f16) and bfloat16 (bf16) conversions, bit-exact with PyTorch's `tensor.half()` /
 * `tensor.bfloat16()` on float32 input: round to nearest, ties to even; f16 subnormals are produced
 * and read back; overflow goes to ±inf; NaN stays NaN.
 *
 * The inputs are float32 values. A JS number with more precision than float32 is first rounded to
 * float32 (Math.fround) and then to half, as PyTorch does for a float32 tensor; converting a double
 * straight to half can differ when the double lies just off an f16 tie.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 bit pattern (as an unsigned 32-bit integer) → f16 bit pattern. */
export function f32BitsToF16(bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  const mant = bits & 0x7fffff;
  if (exp === 0xff) {
    // Keep NaN quiet and non-zero after dropping the low 13 mantissa bits.
    return mant === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >>> 13);
  }
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Result is subnormal (or zero): shift the full significand right, rounding to even.
    if (e < -10) return sign;
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rem = m & ((1 << shift) - 1);
    let r = m >>> shift;
    if (rem > half || (rem === half && (r & 1) === 1)) r++;
    return sign | r;
  }
  let r = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  // A carry out of the mantissa bumps the exponent, which is exactly right (up to inf).
  if (rem > 0x1000 || (rem === 0x1000 && (r & 1) === 1)) r++;
  return sign | r;
}

/** f16 bit pattern → float32 bit pattern (exact; every f16 value is a float32 value). */
export function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >>> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13)) >>> 0;
  if (exp === 0) {
    if (mant === 0) return sign >>> 0;
    // Normalise the subnormal: find the leading one and move it into the hidden bit.
    let e = -1;
    do {
      e++;
      mant <<= 1;
    } while ((mant & 0x400) === 0);
    return (sign | ((127 - 15 - e) << 23) | ((mant & 0x3ff) << 13)) >>> 0;
  }
  return (sign | ((exp - 15 + 127) << 23) | (mant << 13)) >>> 0;
}

/** A number (rounded to float32 first) → f16 bits. */
export function toHalf(x: number): number {
  f32[0] = x;
  return f32BitsToF16(u32[0]);
}

/** f16 bits → number. */
export function fromHalf(h: number): number {
  u32[0] = f16BitsToF32Bits(h);
  return f32[0];
}

/** float32 bits → bf16 bits: PyTorch's round_to_nearest_even, NaN → 0x7fc0. */
export function f32BitsToBf16(bits: number): number {
  if ((bits & 0x7f800000) === 0x7f800000 && (bits & 0x7fffff) !== 0) return 0x7fc0;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** A number (rounded to float32 first) → bf16 bits. */
export function toBfloat16(x: number): number {
  f32[0] = x;
  return f32BitsToBf16(u32[0]);
}

/** bf16 bits → number (exact). */
export function fromBfloat16(b: number): number {
  u32[0] = (b & 0xffff) << 16;
  return f32[0];
}

function bitsOf(values: Float32Array): Uint32Array {
  return new Uint32Array(values.buffer, values.byteOffset, values.length);
}

/** Bulk float32 → f16 bits. */
export function encodeF16(values: Float32Array): Uint16Array {
  const bits = bitsOf(values);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < out.length; i++) out[i] = f32BitsToF16(bits[i]);
  return out;
}

/** Bulk f16 bits → float32. */
export function decodeF16(halves: Uint16Array): Float32Array {
  const out = new Float32Array(halves.length);
  const bits = bitsOf(out);
  // 64K-entry table: decoding a checkpoint touches every value, the table pays off quickly.
  const table = f16Table();
  for (let i = 0; i < halves.length; i++) bits[i] = table[halves[i]];
  return out;
}

let table: Uint32Array | null = null;
function f16Table(): Uint32Array {
  if (table === null) {
    table = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) table[h] = f16BitsToF32Bits(h);
  }
  return table;
}

/** Bulk float32 → bf16 bits. */
export function encodeBf16(values: Float32Array): Uint16Array {
  const bits = bitsOf(values);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < out.length; i++) out[i] = f32BitsToBf16(bits[i]);
  return out;
}

/** Bulk bf16 bits → float32. */
export function decodeBf16(halves: Uint16Array): Float32Array {
  const out = new Float32Array(halves.length);
  const bits = bitsOf(out);
  for (let i = 0; i < halves.length; i++) bits[i] = halves[i] << 16;
  return out;
}
