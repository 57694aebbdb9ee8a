// f16 / bf16 conversion. Expected bit patterns are PyTorch's (torch 1.13 `tensor.half()` /
// `.bfloat16()` on float32); the exhaustive checks use an independent definition of the formats.
import { describe, expect, it } from 'vitest';
import {
  decodeBf16,
  decodeF16,
  encodeBf16,
  encodeF16,
  f16BitsToF32Bits,
  fromBfloat16,
  fromHalf,
  toBfloat16,
  toHalf,
} from '../../runtime/half.js';

/** IEEE binary16 value of a bit pattern, straight from the definition. */
function f16Value(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0x1f) return m === 0 ? s * Infinity : NaN;
  if (e === 0) return s * m * 2 ** -24;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

describe('f16', () => {
  it('matches PyTorch on edge values', () => {
    const cases: Array<[number, number]> = [
      [1 / 3, 0x3555],
      [0.1, 0x2e66],
      [-2, 0xc000],
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // exactly half of it: ties to even (zero)
      [2 ** -25 * (1 + 2 ** -23), 0x0001], // just above the tie
      [1.5 * 2 ** -24, 0x0002], // subnormal tie → even
      [2.5 * 2 ** -24, 0x0002], // subnormal tie → even
      [2 ** -14, 0x0400], // smallest normal
      [65504, 0x7bff], // largest finite
      [65519.99, 0x7bff], // below the overflow tie
      [65520, 0x7c00], // the tie rounds to even = inf
      [1 + 2 ** -11, 0x3c00], // normal tie → even
      [1 + 3 * 2 ** -11, 0x3c02], // normal tie → even (up)
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
      [-0, 0x8000],
      [NaN, 0x7e00],
    ];
    for (const [x, bits] of cases) expect(toHalf(x), `toHalf(${x})`).toBe(bits);
  });

  it('decodes all 65536 patterns by the definition', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const dec = decodeF16(all);
    const wrong: string[] = [];
    for (let h = 0; h < 65536; h++) {
      const want = f16Value(h);
      const ok = Number.isNaN(want) ? Number.isNaN(dec[h]) : Object.is(dec[h], want);
      if (!ok || !Object.is(fromHalf(h), dec[h])) wrong.push(`0x${h.toString(16)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('round-trips every non-NaN pattern and keeps NaN a NaN', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const again = encodeF16(decodeF16(all));
    const wrong: string[] = [];
    for (let h = 0; h < 65536; h++) {
      const ok = Number.isNaN(f16Value(h)) ? Number.isNaN(fromHalf(again[h])) : again[h] === h;
      if (!ok) wrong.push(`0x${h.toString(16)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('rounds every midpoint between neighbours to the even one, and off-midpoints to the nearer', () => {
    const f32 = new Float32Array(1);
    const u32 = new Uint32Array(f32.buffer);
    const wrong: string[] = [];
    const check = (x: number, want: number) => {
      if (toHalf(x) !== want)
        wrong.push(`${x} → 0x${toHalf(x).toString(16)}, want 0x${want.toString(16)}`);
    };
    for (let h = 0; h < 0x7bff; h++) {
      const lo = f16Value(h);
      const hi = f16Value(h + 1);
      const mid = (lo + hi) / 2; // 12 significant bits: exact in float32
      const even = h % 2 === 0 ? h : h + 1;
      for (const sign of [1, -1]) {
        const sbit = sign < 0 ? 0x8000 : 0;
        check(sign * mid, even | sbit);
        f32[0] = sign * mid;
        const bits = u32[0];
        u32[0] = bits + 1; // one float32 ulp further from zero
        check(f32[0], (h + 1) | sbit);
        u32[0] = bits - 1; // one ulp towards zero
        check(f32[0], h | sbit);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('bulk and scalar conversions agree', () => {
    const xs = Float32Array.from([0, 1, -1, 1e-8, 3.14159, 70000, -65504, NaN]);
    const enc = encodeF16(xs);
    expect(Array.from(enc)).toEqual(Array.from(xs, (x) => toHalf(x)));
    expect(f16BitsToF32Bits(0x3c00)).toBe(0x3f800000);
  });
});

describe('bf16', () => {
  it('matches PyTorch on edge values', () => {
    const cases: Array<[number, number]> = [
      [1 / 3, 0x3eab],
      [0.1, 0x3dcd],
      [1 + 2 ** -8, 0x3f80], // tie → even (down)
      [1 + 3 * 2 ** -8, 0x3f82], // tie → even (up)
      [3.4028234663852886e38, 0x7f80], // float32 max rounds to inf
      [-1e-40, 0x8001], // float32 subnormals are kept, not flushed
      [2 ** -24, 0x3380],
      [65520, 0x4780],
      [Infinity, 0x7f80],
      [-0, 0x8000],
    ];
    for (const [x, bits] of cases) expect(toBfloat16(x), `toBfloat16(${x})`).toBe(bits);
    expect(Number.isNaN(fromBfloat16(toBfloat16(NaN)))).toBe(true);
  });

  it('round-trips every non-NaN pattern', () => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const dec = decodeBf16(all);
    const again = encodeBf16(dec);
    const wrong: string[] = [];
    for (let b = 0; b < 65536; b++) {
      const isNaN = (b & 0x7f80) === 0x7f80 && (b & 0x7f) !== 0;
      const ok = isNaN
        ? Number.isNaN(dec[b]) && Number.isNaN(fromBfloat16(b))
        : again[b] === b && Object.is(fromBfloat16(b), dec[b]);
      if (!ok) wrong.push(`0x${b.toString(16)}`);
    }
    expect(wrong).toEqual([]);
  });
});
