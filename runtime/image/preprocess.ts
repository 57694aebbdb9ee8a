/**
 * timm's evaluation transform, driven by the resolved spec:
 *
 *   convert channels → Resize(floor(size / crop_pct)) → CenterCrop(size) → ToTensor → Normalize
 *
 * Every step copies the arithmetic of the Python code it replaces (PIL's convert, torchvision's
 * output-size rounding, timm's ResizeKeepRatio for non-square targets, CenterCrop's banker's
 * rounding, float32 ToTensor/Normalize), so an 8-bit image gives the tensor timm gives, to the
 * float32 bit in the tests' fixtures. Pure: no Node APIs, usable in a browser.
 */
import type { Spec } from '../../compiler/spec/types.js';
import { ImageError, checkRaster, type RasterImage } from './errors.js';
import { resizeImage } from './resize.js';

export type PreprocessSpec = Pick<Spec, 'image' | 'preprocess'>;

/** Python's round(): halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d < 0.5) return f;
  if (d > 0.5) return f + 1;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * Channel conversion as PIL's Image.convert: RGB(A)→L by ITU-R 601-2 luma in PIL's fixed point
 * (L = (R·19595 + G·38470 + B·7471 + 0x8000) >> 16, so the result is an integer level); L→RGB by
 * replication; alpha dropped without compositing (convert('RGB') discards it); →RGBA adds 255.
 */
export function convertChannels(img: RasterImage, channels: number): RasterImage {
  checkRaster(img);
  const from = img.channels;
  const what = img.source ?? '<image>';
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new ImageError(
      'channels',
      what,
      `the model takes ${channels} input channels; images supply 1 (gray), 3 (RGB) or 4 (RGBA)`,
    );
  }
  const base = {
    width: img.width,
    height: img.height,
    ...(img.source ? { source: img.source } : {}),
  };
  if (from === channels) return { ...base, channels, data: img.data };
  const n = img.width * img.height;
  const src = img.data;
  const out = new Float32Array(n * channels);
  for (let p = 0; p < n; p++) {
    const s = p * from;
    const o = p * channels;
    if (channels === 1) {
      out[o] = Math.floor(
        (src[s]! * 19595 + src[s + 1]! * 38470 + src[s + 2]! * 7471 + 0x8000) / 65536,
      );
      continue;
    }
    if (from === 1) out[o] = out[o + 1] = out[o + 2] = src[s]!;
    else for (let c = 0; c < 3; c++) out[o + c] = src[s + c]!;
    if (channels === 4) out[o + 3] = 255;
  }
  return { ...base, channels: channels as 1 | 3 | 4, data: out };
}

/**
 * The size timm resizes an h × w image to before the crop. Square scale sizes use torchvision's
 * Resize(int): the shorter side becomes s = floor(size / crop) and the longer
 * int(s · long / short). Non-square ones use timm's ResizeKeepRatio: both sides are divided by
 * min(h / sH, w / sW) and rounded half-to-even, so the image just covers sH × sW.
 */
export function resizeTarget(
  h: number,
  w: number,
  spec: PreprocessSpec,
): { height: number; width: number } {
  const { crop } = spec.preprocess;
  const sH = Math.floor(spec.image.height / crop);
  const sW = Math.floor(spec.image.width / crop);
  if (sH === sW) {
    return w <= h
      ? { width: sH, height: Math.trunc((sH * h) / w) }
      : { height: sH, width: Math.trunc((sH * w) / h) };
  }
  const ratio = Math.min(h / sH, w / sW);
  return { height: roundHalfEven(h / ratio), width: roundHalfEven(w / ratio) };
}

/**
 * torchvision CenterCrop placement: where crop row/col 0 falls in the source. Negative values mean
 * zero padding (CenterCrop pads with 0 when the crop is larger than the image, left/top getting
 * the smaller half), then top = int(round((h - th) / 2)) with Python's rounding.
 */
export function centerCropOffsets(
  h: number,
  w: number,
  th: number,
  tw: number,
): { top: number; left: number } {
  const place = (size: number, target: number): number => {
    const before = target > size ? Math.floor((target - size) / 2) : 0;
    const after = target > size ? Math.floor((target - size + 1) / 2) : 0;
    return roundHalfEven((size + before + after - target) / 2) - before;
  };
  return { top: place(h, th), left: place(w, tw) };
}

/** Center crop to th × tw (zero padding where the crop overhangs, as torchvision). */
export function centerCrop(img: RasterImage, th: number, tw: number): RasterImage {
  checkRaster(img);
  const { top, left } = centerCropOffsets(img.height, img.width, th, tw);
  const C = img.channels;
  const out = new Float32Array(th * tw * C);
  for (let y = 0; y < th; y++) {
    const sy = y + top;
    if (sy < 0 || sy >= img.height) continue;
    for (let x = 0; x < tw; x++) {
      const sx = x + left;
      if (sx < 0 || sx >= img.width) continue;
      const s = (sy * img.width + sx) * C;
      out.set(img.data.subarray(s, s + C), (y * tw + x) * C);
    }
  }
  return {
    width: tw,
    height: th,
    channels: C,
    data: out,
    ...(img.source ? { source: img.source } : {}),
  };
}

/** Mean and std as the float32 values torch would hold, checked against the channel count. */
function normalization(spec: PreprocessSpec, what: string): { mean: number[]; std: number[] } {
  const C = spec.image.channels;
  const { mean, std } = spec.preprocess;
  if (mean.length !== C || std.length !== C) {
    throw new ImageError(
      'channels',
      what,
      `preprocess mean/std have ${mean.length}/${std.length} values but the model has ${C} channels`,
    );
  }
  if (std.some((s) => !(s > 0))) {
    throw new ImageError(
      'argument',
      what,
      `preprocess std must be positive, got [${std.join(', ')}]`,
    );
  }
  return { mean: mean.map(Math.fround), std: std.map(Math.fround) };
}

/**
 * One image → Float32Array CHW [C, H, W] ready for the model. With `out`, writes there at
 * `offset` instead (used by preprocessBatch to fill a batch without copies).
 */
export function preprocessImage(
  img: RasterImage,
  spec: PreprocessSpec,
  out?: Float32Array,
  offset = 0,
): Float32Array {
  checkRaster(img);
  const what = img.source ?? '<image>';
  const { height: H, width: W, channels: C } = spec.image;
  const { mean, std } = normalization(spec, what);
  // Narrowing conversions (to gray, dropping alpha) must precede the resize to round like PIL;
  // widening ones commute with it and are cheaper after the crop.
  let x = C < img.channels ? convertChannels(img, C) : img;
  const size = resizeTarget(x.height, x.width, spec);
  x = resizeImage(x, size.width, size.height, spec.preprocess.interpolation);
  x = centerCrop(x, H, W);
  if (C > x.channels) x = convertChannels(x, C);
  const plane = H * W;
  const dst = out ?? new Float32Array(C * plane);
  if (dst.length < offset + C * plane) {
    throw new ImageError(
      'argument',
      what,
      `output buffer too small for ${C}×${H}×${W} at ${offset}`,
    );
  }
  const src = x.data;
  for (let c = 0; c < C; c++) {
    const m = mean[c]!;
    const s = std[c]!;
    const base = offset + c * plane;
    for (let p = 0; p < plane; p++) {
      // ToTensor divides in float32, Normalize subtracts then divides in float32.
      const v = Math.fround(src[p * C + c]! / 255);
      dst[base + p] = Math.fround(v - m) / s;
    }
  }
  return dst;
}

/** Images → Float32Array [B, C, H, W]; errors name the offending image's file. */
export function preprocessBatch(
  images: readonly RasterImage[],
  spec: PreprocessSpec,
): Float32Array {
  const { height: H, width: W, channels: C } = spec.image;
  const per = C * H * W;
  const out = new Float32Array(images.length * per);
  images.forEach((img, i) => preprocessImage(img, spec, out, i * per));
  return out;
}
