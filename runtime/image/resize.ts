/**
 * Resampling that reproduces Pillow's `Image.resize` on 8-bit images (what torchvision's
 * `Resize` calls for PIL images, and so what timm's eval transform does), value for value:
 *
 * - bilinear / bicubic: Pillow's separable convolution (src/libImaging/Resample.c). The filter
 *   support grows with the downscale factor, which is what antialiases; bicubic uses a = -0.5.
 *   Coefficients are normalized per output pixel, turned into 22-bit fixed point, and each pass
 *   (horizontal first, then vertical) rounds and clamps to 0..255, since Pillow stores the
 *   intermediate image in 8 bits. Doing the same here is what makes the results identical rather
 *   than merely close.
 * - nearest: Pillow's affine scaling, source index = trunc(x0 + i·scale) with the position
 *   accumulated by repeated addition exactly as Pillow does (the sum can differ from i·scale in
 *   the last bit, which moves a pixel on some sizes).
 *
 * Inputs are float HWC; integer-valued inputs (all 8-bit sources) give Pillow's exact output.
 */
import type { Interpolation } from '../../compiler/spec/types.js';
import { ImageError, checkRaster, type RasterImage } from './errors.js';

export type { Interpolation };

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;
const HALF = 2 ** (PRECISION_BITS - 1);

interface Filter {
  support: number;
  fn: (x: number) => number;
}

const FILTERS: Record<'bilinear' | 'bicubic', Filter> = {
  bilinear: {
    support: 1,
    fn: (x) => {
      x = Math.abs(x);
      return x < 1 ? 1 - x : 0;
    },
  },
  bicubic: {
    support: 2,
    fn: (x) => {
      const a = -0.5;
      x = Math.abs(x);
      if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
      if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
      return 0;
    },
  },
};

/** Per output index: first source index, tap count, and fixed-point weights (ksize per row). */
export interface Coefficients {
  ksize: number;
  bounds: Int32Array; // [xmin, count] per output pixel
  weights: Int32Array; // ksize fixed-point weights per output pixel
}

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc for a full-range box [0, inSize). */
export function resampleCoefficients(
  inSize: number,
  outSize: number,
  interpolation: 'bilinear' | 'bicubic',
): Coefficients {
  const filter = FILTERS[interpolation];
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = filter.support * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * ksize);
  const k = new Float64Array(ksize);
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const ss = 1 / filterscale;
    // C's (int) truncates toward zero; the clamp below makes the sign case moot.
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const count = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let ww = 0;
    for (let x = 0; x < count; x++) {
      const w = filter.fn((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (let x = 0; x < count; x++) {
      const w = ww !== 0 ? k[x]! / ww : k[x]!;
      // Round half away from zero into fixed point, as normalize_coeffs_8bpc does.
      weights[xx * ksize + x] = w < 0 ? Math.trunc(-0.5 + w * ONE) : Math.trunc(0.5 + w * ONE);
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = count;
  }
  return { ksize, bounds, weights };
}

function clip8(ss: number): number {
  const v = Math.floor(ss / ONE);
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * Resize to width × height. Bilinear and bicubic outputs are integers in 0..255 (Pillow's 8-bit
 * storage); nearest copies input values; the same size returns a copy, as Pillow does.
 */
export function resizeImage(
  img: RasterImage,
  width: number,
  height: number,
  interpolation: Interpolation,
): RasterImage {
  checkRaster(img);
  const what = img.source ?? '<image>';
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new ImageError('argument', what, `cannot resize to ${width}×${height}`);
  }
  const base = { channels: img.channels, ...(img.source ? { source: img.source } : {}) };
  if (width === img.width && height === img.height) {
    return { ...base, width, height, data: img.data.slice() };
  }
  if (interpolation === 'nearest')
    return { ...base, width, height, data: nearest(img, width, height) };
  if (interpolation !== 'bilinear' && interpolation !== 'bicubic') {
    throw new ImageError('argument', what, `unknown interpolation '${String(interpolation)}'`);
  }
  const C = img.channels;
  const vert = resampleCoefficients(img.height, height, interpolation);
  // Only rows some output row reads need the horizontal pass (Pillow's ybox_first/last).
  const yFirst = vert.bounds[0]!;
  const yLast = vert.bounds[(height - 1) * 2]! + vert.bounds[(height - 1) * 2 + 1]!;
  let src = img.data;
  let srcW = img.width;
  let rowOffset = 0; // row index in `src` = source row - rowOffset
  if (width !== img.width) {
    const horiz = resampleCoefficients(img.width, width, interpolation);
    const rows = yLast - yFirst;
    const tmp = new Float32Array(width * rows * C);
    const { ksize, bounds, weights } = horiz;
    const data = img.data; // hoisted: this loop is most of the cost on large photos
    for (let y = 0; y < rows; y++) {
      const inRow = (y + yFirst) * img.width * C;
      const outRow = y * width * C;
      for (let xx = 0; xx < width; xx++) {
        const start = inRow + bounds[xx * 2]! * C;
        const count = bounds[xx * 2 + 1]!;
        const kb = xx * ksize;
        for (let c = 0; c < C; c++) {
          let ss = HALF;
          for (let x = 0, i = start + c; x < count; x++, i += C) ss += data[i]! * weights[kb + x]!;
          tmp[outRow + xx * C + c] = clip8(ss);
        }
      }
    }
    src = tmp;
    srcW = width;
    rowOffset = yFirst;
  }
  if (height === img.height) return { ...base, width, height, data: src };
  const out = new Float32Array(width * height * C);
  const { ksize, bounds, weights } = vert;
  const stride = srcW * C;
  for (let yy = 0; yy < height; yy++) {
    const ymin = bounds[yy * 2]! - rowOffset;
    const count = bounds[yy * 2 + 1]!;
    const kb = yy * ksize;
    const outRow = yy * stride;
    for (let i = 0; i < stride; i++) {
      let ss = HALF;
      for (let y = 0; y < count; y++) ss += src[(ymin + y) * stride + i]! * weights[kb + y]!;
      out[outRow + i] = clip8(ss);
    }
  }
  return { ...base, width, height, data: out };
}

/** Source indices Pillow's ImagingScaleAffine picks: position accumulated by addition. */
export function nearestIndices(inSize: number, outSize: number): Int32Array {
  const step = inSize / outSize;
  const idx = new Int32Array(outSize);
  let pos = step * 0.5;
  for (let i = 0; i < outSize; i++) {
    idx[i] = Math.min(Math.trunc(pos), inSize - 1);
    pos += step;
  }
  return idx;
}

function nearest(img: RasterImage, width: number, height: number): Float32Array {
  const C = img.channels;
  const xs = nearestIndices(img.width, width);
  const ys = nearestIndices(img.height, height);
  const out = new Float32Array(width * height * C);
  for (let y = 0; y < height; y++) {
    const inRow = ys[y]! * img.width * C;
    for (let x = 0; x < width; x++) {
      const s = inRow + xs[x]! * C;
      const o = (y * width + x) * C;
      for (let c = 0; c < C; c++) out[o + c] = img.data[s + c]!;
    }
  }
  return out;
}
