/**
 * Per-sample transforms between a decoded image (HWC, 0..255) and a batch slot (CHW, normalized):
 * channel conversion, torchvision's RandomCrop(size, padding) with zero fill,
 * RandomHorizontalFlip(0.5), and Normalize. Crop, flip and normalization are applied in one pass
 * that reads each source pixel where it lands, so augmentation costs no extra image copies.
 */
import { DataError } from './errors.js';
import { Xoshiro128 } from './rng.js';
import type { Sample } from './types.js';

/**
 * The sample with `channels` channels, converted as PIL's convert() does: gray → RGB by copying,
 * RGB → gray by ITU-R 601-2 luma (L = 0.299 R + 0.587 G + 0.114 B), alpha dropped.
 */
export function toChannels(s: Sample, channels: number, file = 'image'): Sample {
  if (s.channels === channels) return s;
  const n = s.width * s.height;
  const src = s.image;
  const c = s.channels;
  // Alpha is the last channel of gray+alpha (2) and RGBA (4); without it we have 1 or 3.
  const colour = c === 2 ? 1 : c === 4 ? 3 : c;
  if (!((colour === 1 || colour === 3) && (channels === 1 || channels === 3))) {
    throw new DataError(
      'channels',
      file,
      `image has ${c} channels; vitc converts only between gray (1, +alpha 2) and RGB (3, +alpha 4), and the model wants ${channels}`,
    );
  }
  const out = new Float32Array(n * channels);
  for (let p = 0; p < n; p++) {
    const i = p * c;
    if (colour === channels) {
      for (let k = 0; k < channels; k++) out[p * channels + k] = src[i + k]!;
    } else if (colour === 1) {
      const v = src[i]!;
      out[p * 3] = v;
      out[p * 3 + 1] = v;
      out[p * 3 + 2] = v;
    } else {
      out[p] = (src[i]! * 299 + src[i + 1]! * 587 + src[i + 2]! * 114) / 1000;
    }
  }
  return { ...s, image: out, channels };
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
  const mean = fit(norm.mean, 'mean');
  const std = fit(norm.std, 'std');
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
    const fill = (0 - m) / sd;
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
        out[row + x] = sx < 0 || sx >= w ? fill : (image[(sy * w + sx) * c + ch]! / 255 - m) / sd;
      }
    }
  }
}
