import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ImageError,
  convertChannels,
  decodeImage,
  nearestIndices,
  resampleCoefficients,
  resizeImage,
  type RasterImage,
} from '../../runtime/image/index.js';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'images');
const pattern = decodeImage(join(FIX, 'pattern.png'));

function maxDiff(a: RasterImage, b: RasterImage): { max: number; count: number } {
  expect([a.width, a.height, a.channels]).toEqual([b.width, b.height, b.channels]);
  let max = 0;
  let count = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.abs(a.data[i]! - b.data[i]!);
    if (d > 0) count++;
    max = Math.max(max, d);
  }
  return { max, count };
}

describe('resize matches PIL Image.resize (fixtures from tools/reference/image_fixture.py)', () => {
  const sizes = [
    [17, 13], // down both ways
    [64, 48], // up both ways
    [23, 40], // down in width, up in height
    [7, 5], // strong downscale: wide antialiasing support
    [40, 16], // height only: a single (vertical) pass
    [41, 30], // width only: a single (horizontal) pass
  ] as const;
  for (const interp of ['nearest', 'bilinear', 'bicubic'] as const) {
    for (const [w, h] of sizes) {
      it(`${interp} 40×30 → ${w}×${h} is identical to PIL`, () => {
        const ref = decodeImage(join(FIX, 'resize', `${interp}-${w}x${h}.png`));
        const out = resizeImage(pattern, w, h, interp);
        // Identical, not merely within one level: same fixed-point arithmetic as Pillow.
        expect(maxDiff(out, ref)).toEqual({ max: 0, count: 0 });
      });
    }
  }

  it('PIL convert("L") then bicubic resize', () => {
    const gray = convertChannels(pattern, 1);
    expect(maxDiff(gray, decodeImage(join(FIX, 'resize', 'pattern-L.png')))).toEqual({
      max: 0,
      count: 0,
    });
    const ref = decodeImage(join(FIX, 'resize', 'L-bicubic-17x13.png'));
    expect(maxDiff(resizeImage(gray, 17, 13, 'bicubic'), ref)).toEqual({ max: 0, count: 0 });
  });
});

describe('resampling arithmetic, hand-checked', () => {
  it('bilinear 4 → 2 widens the triangle filter to support 2 and normalizes it', () => {
    // Output 0: centre 1.0, taps x = 0..2 with weights tri((x + 0.5 - 1) / 2) = .75, .75, .25,
    // normalized by 1.75. Output 1: centre 3.0, taps 1..3 with .25, .75, .75.
    const row: RasterImage = {
      width: 4,
      height: 1,
      channels: 1,
      data: Float32Array.of(0, 100, 200, 255),
    };
    const out = resizeImage(row, 2, 1, 'bilinear');
    expect(Array.from(out.data)).toEqual([
      Math.round((0 * 0.75 + 100 * 0.75 + 200 * 0.25) / 1.75), // 71.43 → 71
      Math.round((100 * 0.25 + 200 * 0.75 + 255 * 0.75) / 1.75), // 209.3 → 209
    ]);
    const c = resampleCoefficients(4, 2, 'bilinear');
    expect(c.ksize).toBe(5);
    expect(Array.from(c.bounds)).toEqual([0, 3, 1, 3]);
    expect(c.weights[0]).toBe(Math.trunc(0.5 + (0.75 / 1.75) * 2 ** 22));
  });

  it('bicubic upscaling uses a = -0.5 (Keys) and clamps overshoot to 0..255', () => {
    // 4 → 8: output i samples source x = (i + 0.5) / 2 - 0.5. Output 3 (x = 1.25) weighs pixels
    // 0..3 by k(1.25), k(0.25), k(0.75), k(1.75) = -0.0703, 0.8672, 0.2266, -0.0234, so it is
    // 255 · 0.2031 = 51.8 → 52. Output 2 (x = 0.75) is 255 · k(1.25) < 0 before the clamp.
    const step: RasterImage = {
      width: 4,
      height: 1,
      channels: 1,
      data: Float32Array.of(0, 0, 255, 255),
    };
    expect(Array.from(resizeImage(step, 8, 1, 'bicubic').data)).toEqual([
      0, 0, 0, 52, 203, 255, 255, 255,
    ]);
  });

  it('nearest picks trunc((i + 0.5) · in / out), accumulated as Pillow does', () => {
    expect(Array.from(nearestIndices(40, 17))).toEqual([
      1, 3, 5, 8, 10, 12, 15, 17, 20, 22, 24, 27, 29, 31, 34, 36, 38,
    ]);
    // 3 → 7: positions 0.21, 0.64, 1.07, 1.5, 1.93, 2.36, 2.79.
    expect(Array.from(nearestIndices(3, 7))).toEqual([0, 0, 1, 1, 1, 2, 2]);
  });

  it('same size is a copy; keeps fractional values untouched', () => {
    const img: RasterImage = { width: 2, height: 1, channels: 1, data: Float32Array.of(1.5, 2.25) };
    const out = resizeImage(img, 2, 1, 'bicubic');
    expect(Array.from(out.data)).toEqual([1.5, 2.25]);
    expect(out.data).not.toBe(img.data);
  });

  it('bad sizes and buffers are ImageError VITC0509', () => {
    expect(() => resizeImage(pattern, 0, 5, 'bilinear')).toThrow(ImageError);
    expect(() => resizeImage(pattern, 0, 5, 'bilinear')).toThrow(/VITC0509.*cannot resize to 0×5/);
    const bad: RasterImage = {
      width: 3,
      height: 3,
      channels: 3,
      data: new Float32Array(5),
      source: 'x.png',
    };
    expect(() => resizeImage(bad, 2, 2, 'nearest')).toThrow(
      /^x\.png: error VITC0509: pixel buffer has 5 values/,
    );
  });
});
