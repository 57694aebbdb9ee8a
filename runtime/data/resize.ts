/**
 * Bringing a sample to the model's input size, for data sets whose images differ from it
 * (CIFAR's 32×32 into a 224×224 model, photos of any size in an image folder). Samples already at
 * the model's size are passed through untouched: a 28×28 Fashion-MNIST image into a 28×28 model
 * is not resampled, whatever crop_pct says, because resampling would only blur it.
 *
 * Other sizes follow timm's evaluation transform: resize so that the image covers
 * floor(size / crop_pct), then center-crop to size.
 */
import type { Spec } from '../../compiler/spec/types.js';
import type { Sample } from './types.js';

export function resizeToSpec(s: Sample, spec: Pick<Spec, 'image' | 'preprocess'>): Sample {
  const { height: H, width: W } = spec.image;
  if (s.height === H && s.width === W) return s;
  const crop = spec.preprocess.crop;
  // timm: a square target resizes the shorter side; a non-square one resizes to the exact pair.
  let rh: number, rw: number;
  if (H === W) {
    const side = Math.floor(H / crop);
    const scale = side / Math.min(s.height, s.width);
    rh = s.height <= s.width ? side : Math.round(s.height * scale);
    rw = s.width < s.height ? side : Math.round(s.width * scale);
  } else {
    rh = Math.floor(H / crop);
    rw = Math.floor(W / crop);
  }
  rh = Math.max(rh, H);
  rw = Math.max(rw, W);
  const top = Math.round((rh - H) / 2);
  const left = Math.round((rw - W) / 2);
  return sampleWindow(s, rh, rw, top, left, H, W, spec.preprocess.interpolation === 'nearest');
}

/**
 * The H×W window at (top, left) of the image resampled to rh×rw, computed directly (half-pixel
 * centres, as PyTorch's interpolate with align_corners=False), without antialiasing.
 */
function sampleWindow(
  s: Sample,
  rh: number,
  rw: number,
  top: number,
  left: number,
  H: number,
  W: number,
  nearest: boolean,
): Sample {
  const c = s.channels;
  const out = new Float32Array(H * W * c);
  const sy = s.height / rh;
  const sx = s.width / rw;
  const src = s.image;
  for (let y = 0; y < H; y++) {
    const fy = Math.min(Math.max((y + top + 0.5) * sy - 0.5, 0), s.height - 1);
    const y0 = nearest ? Math.min(Math.floor((y + top) * sy), s.height - 1) : Math.floor(fy);
    const y1 = Math.min(y0 + 1, s.height - 1);
    const wy = nearest ? 0 : fy - y0;
    for (let x = 0; x < W; x++) {
      const fx = Math.min(Math.max((x + left + 0.5) * sx - 0.5, 0), s.width - 1);
      const x0 = nearest ? Math.min(Math.floor((x + left) * sx), s.width - 1) : Math.floor(fx);
      const x1 = Math.min(x0 + 1, s.width - 1);
      const wx = nearest ? 0 : fx - x0;
      for (let k = 0; k < c; k++) {
        const a = src[(y0 * s.width + x0) * c + k]!;
        const b = src[(y0 * s.width + x1) * c + k]!;
        const d = src[(y1 * s.width + x0) * c + k]!;
        const e = src[(y1 * s.width + x1) * c + k]!;
        out[(y * W + x) * c + k] =
          (a * (1 - wx) + b * wx) * (1 - wy) + (d * (1 - wx) + e * wx) * wy;
      }
    }
  }
  return { ...s, image: out, width: W, height: H };
}
