/**
 * Per-sample transforms between a decoded image (HWC, 0..255) and a batch slot (CHW, normalized):
 * channel conversion, torchvision's RandomCrop(size, padding) with zero fill,
 * RandomHorizontalFlip(0.5), and Normalize. Crop, flip and normalization are applied in one pass
 * that reads each source pixel where it lands, so augmentation costs no extra image copies.
 */
import { convertChannels } from '../image/preprocess.js';
import { DataError } from './errors.js';
import { Xoshiro128 } from './rng.js';
import type { Sample } from './types.js';

/**
 * The sample with `channels` channels, converted as runtime/image's convertChannels (PIL's
 * convert(): gray → RGB by copying, RGB → gray by PIL's fixed-point ITU-R 601-2 luma, alpha
 * dropped), so a model sees the same pixels in training as in `vitc run`.
 */
export function toChannels(s: Sample, channels: number, file = 'image'): Sample {
  if (s.channels === channels) return s;
  const ok = (c: number) => c === 1 || c === 3 || c === 4;
  if (!ok(s.channels) || !ok(channels)) {
    throw new DataError(
      'channels',
      file,
      `image has ${s.channels} channels and the model wants ${channels}; vitc converts only between gray (1), RGB (3) and RGBA (4)`,
    );
  }
  const raster = {
    width: s.width,
    height: s.height,
    channels: s.channels as 1 | 3 | 4,
    data: s.image,
  };
  const out = convertChannels(raster, channels);
  return { ...s, image: out.data, channels };
}

/** Where to read a training view from: crop offsets into the zero-padded image, and a flip. */
export interface View {
  /** Zero border added on every side before cropping (torchvision RandomCrop padding). */
  padding: number;
  /** Top-left corner of the crop in padded coordinates, 0..2·padding for a same-size crop. */
  top: number;
  left: number;
  /** Mirror left-right after cropping. */
  flip: boolean;
}

export const IDENTITY_VIEW: Readonly<View> = { padding: 0, top: 0, left: 0, flip: false };

export interface AugmentOptions {
  /** Horizontal flip with probability 0.5. */
  flip: boolean;
  /** RandomCrop padding in pixels; 0 = no crop. */
  cropPadding: number;
}

/**
 * Draw a view the way torchvision draws it: the crop's top (uniform over 0..2p, the positions of a
 * same-size crop in the padded image), then its left, then the flip (uniform < 0.5). Draws for a
 * disabled transform are skipped, so the stream stays short; the order is part of the
 * reproducibility contract (docs/DATA.md).
 */
export function drawView(rng: Xoshiro128, aug: AugmentOptions): View {
  const p = aug.cropPadding;
  const top = p > 0 ? rng.nextInt(2 * p + 1) : 0;
  const left = p > 0 ? rng.nextInt(2 * p + 1) : 0;
  const flip = aug.flip ? rng.nextFloat() < 0.5 : false;
  return { padding: p, top, left, flip };
}

/** Per-channel (x/255 − mean)/std; a single value applies to every channel. */
export interface Norm {
  mean: readonly number[];
  std: readonly number[];
}

/** Mean and std expanded to `channels` entries, checked. */
export function channelNorm(norm: Norm, channels: number, where = 'spec preprocess'): Norm {
  const fit = (v: readonly number[], what: string): number[] => {
    if (v.length === channels) return [...v];
    if (v.length === 1) return new Array<number>(channels).fill(v[0]!);
    throw new DataError(
      'normalize',
      where,
      `${what} has ${v.length} values but images have ${channels} channels`,
    );
  };
  // float32, as torch holds them: Normalize's arithmetic is then reproduced to the bit.
  const mean = fit(norm.mean, 'mean').map(Math.fround);
  const std = fit(norm.std, 'std').map(Math.fround);
  const bad = std.find((s) => !(s > 0) || !Number.isFinite(s));
  if (bad !== undefined) throw new DataError('normalize', where, `std ${bad} is not positive`);
  return { mean, std };
}

/**
 * Write one sample into a batch: `out[offset + c·H·W + y·W + x]` (CHW) gets the normalized pixel
 * of the view. The view's output size is the sample's size; pixels that fall in the padding are 0
 * before normalization (black), as torchvision pads the uint8 image before ToTensor/Normalize.
 * `norm` must already have one mean and std per channel (channelNorm).
 */
export function writeView(
  s: Sample,
  view: Readonly<View>,
  norm: Norm,
  out: Float32Array,
  offset: number,
): void {
  const { width: w, height: h, channels: c, image } = s;
  const plane = w * h;
  const dy = view.top - view.padding;
  const dx = view.left - view.padding;
  for (let ch = 0; ch < c; ch++) {
    const m = norm.mean[ch]!;
    const sd = norm.std[ch]!;
    const fill = Math.fround(0 - m) / sd;
    const base = offset + ch * plane;
    for (let y = 0; y < h; y++) {
      const sy = y + dy;
      const row = base + y * w;
      if (sy < 0 || sy >= h) {
        out.fill(fill, row, row + w);
        continue;
      }
      for (let x = 0; x < w; x++) {
        // Crop first, then flip the cropped view: column x of the result is column w-1-x of the crop.
        const sx = (view.flip ? w - 1 - x : x) + dx;
        if (sx < 0 || sx >= w) {
          out[row + x] = fill;
          continue;
        }
        // torch: ToTensor divides in float32, Normalize subtracts and divides in float32 (a
        // float64 quotient of float32 operands rounds to the correctly rounded float32 one).
        const v = Math.fround(image[(sy * w + sx) * c + ch]! / 255);
        out[row + x] = Math.fround(v - m) / sd;
      }
    }
  }
}
