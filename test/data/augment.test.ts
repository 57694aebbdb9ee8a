// Crop, flip, channel conversion, normalization and resizing on tiny images checked by hand.
import { describe, expect, it } from 'vitest';
import {
  IDENTITY_VIEW,
  Xoshiro128,
  channelNorm,
  drawView,
  resizeToSpec,
  toChannels,
  writeView,
} from '../../runtime/data/index.js';
import type { Sample, View } from '../../runtime/data/index.js';
import { dataSpec } from './helpers.js';

/** 3 wide, 2 high, gray: [[1, 2, 3], [4, 5, 6]]. */
const TINY: Sample = {
  image: new Float32Array([1, 2, 3, 4, 5, 6]),
  width: 3,
  height: 2,
  channels: 1,
  label: 0,
};

/** The view as plain pixel values: mean 0 and std 1/255 make normalization the identity. */
function pixels(s: Sample, v: Partial<View>): number[][] {
  const out = new Float32Array(s.width * s.height * s.channels);
  writeView(
    s,
    { ...IDENTITY_VIEW, ...v },
    channelNorm({ mean: [0], std: [1 / 255] }, s.channels),
    out,
    0,
  );
  const rows: number[][] = [];
  for (let i = 0; i < out.length; i += s.width)
    rows.push(Array.from(out.subarray(i, i + s.width), Math.round));
  return rows;
}

describe('crop and flip', () => {
  it('leaves the image alone with the identity view', () => {
    expect(pixels(TINY, {})).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
  });

  it('flips left-right', () => {
    expect(pixels(TINY, { flip: true })).toEqual([
      [3, 2, 1],
      [6, 5, 4],
    ]);
  });

  it('crops from the zero-padded image (padding 1)', () => {
    // Padded 4×5: a ring of zeros around the image. Crop at top 0, left 2.
    expect(pixels(TINY, { padding: 1, top: 0, left: 2 })).toEqual([
      [0, 0, 0],
      [2, 3, 0],
    ]);
    expect(pixels(TINY, { padding: 1, top: 2, left: 0 })).toEqual([
      [0, 4, 5],
      [0, 0, 0],
    ]);
    // Centre crop of the padded image is the image itself.
    expect(pixels(TINY, { padding: 1, top: 1, left: 1 })).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
  });

  it('flips after cropping', () => {
    expect(pixels(TINY, { padding: 1, top: 0, left: 2, flip: true })).toEqual([
      [0, 0, 0],
      [0, 3, 2],
    ]);
  });

  it('writes CHW planes for colour images', () => {
    const rgb: Sample = {
      image: new Float32Array([10, 20, 30, 40, 50, 60]),
      width: 2,
      height: 1,
      channels: 3,
      label: 0,
    };
    const out = new Float32Array(6);
    writeView(
      rgb,
      { ...IDENTITY_VIEW, flip: true },
      channelNorm({ mean: [0], std: [1 / 255] }, 3),
      out,
      0,
    );
    expect(Array.from(out, Math.round)).toEqual([40, 10, 50, 20, 60, 30]);
  });
});

describe('normalization', () => {
  it('computes (x/255 - mean)/std per channel, padding as black', () => {
    // 2 wide, 1 high, 2 channels: pixel 0 = (51, 255), pixel 1 = (0, 0).
    const s: Sample = {
      image: new Float32Array([51, 255, 0, 0]),
      width: 2,
      height: 1,
      channels: 2,
      label: 0,
    };
    const out = new Float32Array(4);
    const norm = channelNorm({ mean: [0.5, 0.2], std: [0.25, 0.5] }, 2);
    // Padding 1, crop at (1, 0): shifts right by one, so x = 0 is padding and x = 1 is pixel 0.
    writeView(s, { padding: 1, top: 1, left: 0, flip: false }, norm, out, 0);
    const f = Math.fround;
    // Channel 0: black = (0 - 0.5)/0.25, 51 → (0.2 - 0.5)/0.25; channel 1: (0 - 0.2)/0.5, 255 → 1.6.
    // Expected values computed with numpy float32, which is torch's ToTensor/Normalize arithmetic.
    expect(Array.from(out)).toEqual([f(-2), f(-1.2), f(-0.4), f(1.6)]);
  });

  it('broadcasts a single mean/std and rejects a mismatch', () => {
    expect(channelNorm({ mean: [0.5], std: [2] }, 3)).toEqual({
      mean: [0.5, 0.5, 0.5],
      std: [2, 2, 2],
    });
    expect(() => channelNorm({ mean: [0.1, 0.2], std: [1] }, 3)).toThrow(
      /spec preprocess: error VITC0528: mean has 2 values but images have 3 channels/,
    );
    expect(() => channelNorm({ mean: [0], std: [0] }, 1)).toThrow(/std 0 is not positive/);
  });
});

describe('random views', () => {
  it('draws every crop position and flips about half the time', () => {
    const rng = Xoshiro128.from([5]);
    const tops = new Set<number>();
    let flips = 0;
    for (let i = 0; i < 2000; i++) {
      const v = drawView(rng, { flip: true, cropPadding: 2 });
      tops.add(v.top);
      expect(v.left).toBeGreaterThanOrEqual(0);
      expect(v.left).toBeLessThanOrEqual(4);
      if (v.flip) flips++;
    }
    expect([...tops].sort()).toEqual([0, 1, 2, 3, 4]);
    expect(flips).toBeGreaterThan(900);
    expect(flips).toBeLessThan(1100);
  });

  it('uses no random numbers for disabled transforms', () => {
    const rng = Xoshiro128.from([5]);
    expect(drawView(rng, { flip: false, cropPadding: 0 })).toEqual(IDENTITY_VIEW);
    expect(rng.state()).toEqual(Xoshiro128.from([5]).state());
  });
});

describe('channels', () => {
  it('copies gray into RGB and takes ITU-R 601 luma of RGB', () => {
    const g = toChannels({ ...TINY }, 3);
    expect(Array.from(g.image.subarray(0, 6))).toEqual([1, 1, 1, 2, 2, 2]);
    const rgb: Sample = {
      image: new Float32Array([100, 50, 200]),
      width: 1,
      height: 1,
      channels: 3,
      label: 0,
    };
    // PIL's fixed point: (100·19595 + 50·38470 + 200·7471 + 32768) >> 16 = 82 (not 82.05).
    expect(toChannels(rgb, 1).image[0]).toBe(82);
    const rgba: Sample = {
      image: new Float32Array([1, 2, 3, 255]),
      width: 1,
      height: 1,
      channels: 4,
      label: 0,
    };
    expect(Array.from(toChannels(rgba, 3).image)).toEqual([1, 2, 3]);
    expect(() => toChannels(rgb, 5, 'x.png')).toThrow(
      /x\.png: error VITC0524: image has 3 channels and the model wants 5/,
    );
  });
});

describe('resize to the model size', () => {
  it('passes a same-size image through and centre-crops a wider one', () => {
    expect(resizeToSpec(TINY, dataSpec(2, 3, 1))).toBe(TINY);
    // 6 wide, 4 high, value 10·x + y; shorter side is already 4, so only the crop acts: left = 1.
    const wide: Sample = {
      image: new Float32Array(24),
      width: 6,
      height: 4,
      channels: 1,
      label: 0,
    };
    for (let y = 0; y < 4; y++) for (let x = 0; x < 6; x++) wide.image[y * 6 + x] = 10 * x + y;
    const r = resizeToSpec(wide, dataSpec(4, 4, 1));
    expect(Array.from(r.image.subarray(0, 4))).toEqual([10, 20, 30, 40]);
    expect(Array.from(r.image.subarray(12, 16))).toEqual([13, 23, 33, 43]);
    // 5 wide: (5 - 4) / 2 = 0.5 rounds to 0 as Python's round does.
    const five: Sample = { ...wide, image: wide.image.slice(0, 20), width: 5 };
    for (let y = 0; y < 4; y++) for (let x = 0; x < 5; x++) five.image[y * 5 + x] = 10 * x + y;
    expect(Array.from(resizeToSpec(five, dataSpec(4, 4, 1)).image.subarray(0, 4))).toEqual([
      0, 10, 20, 30,
    ]);
  });

  it('resamples a flat image to the same flat colour', () => {
    const flat: Sample = {
      image: new Float32Array(40 * 30 * 3).fill(77),
      width: 40,
      height: 30,
      channels: 3,
      label: 0,
    };
    const r = resizeToSpec(flat, dataSpec(16, 16, 3, [0], [1], 0.875));
    expect([r.width, r.height, r.image.length]).toEqual([16, 16, 768]);
    expect(new Set(r.image)).toEqual(new Set([77]));
  });
});
