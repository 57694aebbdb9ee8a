import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  ImageError,
  centerCrop,
  centerCropOffsets,
  convertChannels,
  decodeImage,
  preprocessBatch,
  preprocessImage,
  resizeTarget,
  roundHalfEven,
  type PreprocessSpec,
  type RasterImage,
} from '../../runtime/image/index.js';

const FIX = join(import.meta.dirname, '..', 'fixtures', 'images');

function spec(
  height: number,
  width: number,
  channels: number,
  pre: Partial<PreprocessSpec['preprocess']> = {},
): PreprocessSpec {
  return {
    image: { height, width, channels },
    preprocess: {
      mean: new Array(channels).fill(0.5),
      std: new Array(channels).fill(0.5),
      interpolation: 'bicubic',
      crop: 1,
      ...pre,
    },
  };
}

const rgb = (w: number, h: number, values: number[], source?: string): RasterImage => ({
  width: w,
  height: h,
  channels: 3,
  data: Float32Array.from(values),
  ...(source ? { source } : {}),
});

describe('normalization and layout', () => {
  it('2×2 RGB at model size: (v/255 - mean)/std per channel, CHW', () => {
    // Pixels (row-major): (0, 51, 255) (255, 102, 0) / (51, 0, 102) (102, 255, 51)
    const img = rgb(2, 2, [0, 51, 255, 255, 102, 0, 51, 0, 102, 102, 255, 51]);
    const s = spec(2, 2, 3, { mean: [0.5, 0.2, 0], std: [0.5, 0.4, 1] });
    const out = preprocessImage(img, s);
    expect(out.length).toBe(12);
    const expected = [
      // R plane: (v/255 - 0.5) / 0.5 for 0, 255, 51, 102
      -1, 1, -0.6, -0.2,
      // G plane: (v/255 - 0.2) / 0.4 for 51, 102, 0, 255
      0, 0.5, -0.5, 2,
      // B plane: v/255 for 255, 0, 102, 51
      1, 0, 0.4, 0.2,
    ];
    expected.forEach((v, i) => expect(out[i]).toBeCloseTo(v, 6));
    // Exactly torchvision's float32 sequence: fround(fround(v/255) - mean) / std.
    const f = Math.fround;
    expect(out[2]).toBe(f(f(f(51 / 255) - f(0.5)) / f(0.5)));
  });

  it('preprocessBatch stacks [B, C, H, W] in order', () => {
    const a = rgb(2, 2, new Array(12).fill(0));
    const b = rgb(2, 2, new Array(12).fill(255));
    const out = preprocessBatch([a, b, a], spec(2, 2, 3));
    expect(out.length).toBe(36);
    expect(Array.from(out.subarray(0, 12))).toEqual(new Array(12).fill(-1));
    expect(Array.from(out.subarray(12, 24))).toEqual(new Array(12).fill(1));
    expect(Array.from(out.subarray(24))).toEqual(new Array(12).fill(-1));
  });
});

describe('resize and crop geometry (torchvision / timm rounding)', () => {
  it('square targets: shorter side = floor(size / crop), longer = int(s · long / short)', () => {
    const s = spec(224, 224, 3, { crop: 0.875 });
    expect(resizeTarget(480, 640, s)).toEqual({ height: 256, width: 341 }); // 256·640/480 = 341.3
    expect(resizeTarget(640, 480, s)).toEqual({ height: 341, width: 256 });
    expect(resizeTarget(100, 100, s)).toEqual({ height: 256, width: 256 });
    expect(resizeTarget(30, 40, spec(16, 16, 3, { crop: 0.9 }))).toEqual({ height: 17, width: 22 });
  });

  it('non-square targets: timm ResizeKeepRatio, rounded half to even', () => {
    // scale (13, 22); ratio = min(30/13, 40/22) = 40/22; 30 / ratio = 16.5 → 16 (Python round).
    expect(resizeTarget(30, 40, spec(12, 20, 1, { crop: 0.9 }))).toEqual({ height: 16, width: 22 });
    // scale (22, 13): ratio = 48/22; 64 / ratio = 29.33 → 29.
    expect(resizeTarget(48, 64, spec(20, 12, 1, { crop: 0.875 }))).toEqual({
      height: 22,
      width: 29,
    });
  });

  it('center crop offsets: int(round((h - th) / 2)) with banker’s rounding, zero padding', () => {
    expect(centerCropOffsets(256, 341, 224, 224)).toEqual({ top: 16, left: 58 }); // 58.5 → 58
    expect(centerCropOffsets(33, 44, 32, 32)).toEqual({ top: 0, left: 6 }); // 0.5 → 0
    expect(centerCropOffsets(35, 44, 32, 32)).toEqual({ top: 2, left: 6 }); // 1.5 → 2
    // Crop larger than the image: pad 1 above, 2 below (torchvision: left/top get the floor).
    expect(centerCropOffsets(10, 10, 13, 10)).toEqual({ top: -1, left: 0 });
    expect([
      roundHalfEven(2.5),
      roundHalfEven(3.5),
      roundHalfEven(-1.5),
      roundHalfEven(1.2),
    ]).toEqual([2, 4, -2, 1]);
  });

  it('centerCrop copies the right window and pads with zeros', () => {
    const img: RasterImage = {
      width: 4,
      height: 3,
      channels: 1,
      data: Float32Array.from({ length: 12 }, (_, i) => i + 1),
    };
    expect(Array.from(centerCrop(img, 1, 2).data)).toEqual([6, 7]); // top 1, left 1
    expect(Array.from(centerCrop(img, 5, 4).data)).toEqual([
      0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0, 0, 0, 0,
    ]);
  });
});

describe('channel conversion (PIL Image.convert)', () => {
  it('RGB → L uses the ITU-R 601-2 luma in PIL fixed point', () => {
    const img = rgb(5, 1, [255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 10, 200, 30]);
    // PIL: red 76, green 150, blue 29, white 255, (10,200,30) → (10·19595 + 200·38470 + 30·7471 + 32768) >> 16 = 124
    expect(Array.from(convertChannels(img, 1).data)).toEqual([76, 150, 29, 255, 124]);
  });

  it('L → RGB replicates; RGBA → RGB drops alpha without compositing; → RGBA adds 255', () => {
    const gray: RasterImage = { width: 2, height: 1, channels: 1, data: Float32Array.of(7, 200) };
    expect(Array.from(convertChannels(gray, 3).data)).toEqual([7, 7, 7, 200, 200, 200]);
    expect(Array.from(convertChannels(gray, 4).data)).toEqual([7, 7, 7, 255, 200, 200, 200, 255]);
    const rgba: RasterImage = {
      width: 1,
      height: 1,
      channels: 4,
      data: Float32Array.of(90, 80, 70, 0),
    };
    expect(Array.from(convertChannels(rgba, 3).data)).toEqual([90, 80, 70]);
  });

  it('a 1-channel model gets luma even from an RGBA image; 3-channel from gray', () => {
    const rgba: RasterImage = {
      width: 1,
      height: 1,
      channels: 4,
      data: Float32Array.of(255, 0, 0, 10),
    };
    expect(preprocessImage(rgba, spec(1, 1, 1, { mean: [0], std: [1] }))[0]).toBe(
      Math.fround(76 / 255),
    );
    const gray: RasterImage = { width: 1, height: 1, channels: 1, data: Float32Array.of(51) };
    const out = preprocessImage(gray, spec(1, 1, 3, { mean: [0, 0, 0], std: [1, 1, 1] }));
    expect(Array.from(out)).toEqual(new Array(3).fill(Math.fround(51 / 255)));
  });

  it('wrong channel counts give ImageError VITC0508 naming the file', () => {
    const img = rgb(2, 2, new Array(12).fill(0), 'cat.jpg');
    expect(() => preprocessImage(img, spec(2, 2, 2))).toThrow(
      /^cat\.jpg: error VITC0508: the model takes 2 input channels/,
    );
    const bad = spec(2, 2, 3, { mean: [0.5], std: [0.5] });
    expect(() => preprocessBatch([img], bad)).toThrow(ImageError);
    expect(() => preprocessBatch([img], bad)).toThrow(
      /cat\.jpg: error VITC0508: preprocess mean\/std have 1\/1 values/,
    );
  });
});

describe('whole pipeline vs torchvision + timm eval transform (preprocess.json)', () => {
  interface Case {
    file: string;
    image: PreprocessSpec['image'];
    preprocess: PreprocessSpec['preprocess'];
    shape: number[];
    float32_le_base64: string;
  }
  const cases = JSON.parse(readFileSync(join(FIX, 'preprocess.json'), 'utf8')) as Case[];
  for (const c of cases) {
    const { height: H, width: W, channels: C } = c.image;
    it(`${c.file} → ${C}×${H}×${W}, ${c.preprocess.interpolation}, crop ${c.preprocess.crop}`, () => {
      const bytes = Buffer.from(c.float32_le_base64, 'base64');
      const ref = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
      expect(c.shape).toEqual([C, H, W]);
      const out = preprocessImage(decodeImage(join(FIX, c.file)), c);
      expect(out.length).toBe(ref.length);
      let max = 0;
      for (let i = 0; i < ref.length; i++) max = Math.max(max, Math.abs(out[i]! - ref[i]!));
      // Bit-identical float32: same 8-bit resample, same crop, same float32 normalization.
      expect(max).toBe(0);
    });
  }
});
