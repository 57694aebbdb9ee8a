/**
 * Bringing a sample to the model's input size, for data sets whose images differ from it
 * (CIFAR's 32×32 into a 224×224 model, photos of any size in an image folder). Samples already at
 * the model's size pass through untouched: a 28×28 Fashion-MNIST image into a 28×28 model is not
 * resampled, whatever crop_pct says, because resampling it would only blur it.
 *
 * Other sizes follow timm's evaluation transform: Resize(floor(size / crop_pct)) — the shorter
 * side for a square model input, the exact (H, W) pair otherwise — with the spec's interpolation
 * (runtime/image's Pillow-exact resize), then CenterCrop(size) with torchvision's offsets.
 */
import type { Spec } from '../../compiler/spec/types.js';
import { resizeImage } from '../image/resize.js';
import type { Sample } from './types.js';

/** Python's round(): halves go to the even neighbour (torchvision's CenterCrop offsets use it). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** The size an image of `h`×`w` is resized to before the center crop (torchvision Resize). */
export function resizedSize(
  h: number,
  w: number,
  spec: Pick<Spec, 'image' | 'preprocess'>,
): { height: number; width: number } {
  const { height: H, width: W } = spec.image;
  const sh = Math.floor(H / spec.preprocess.crop);
  const sw = Math.floor(W / spec.preprocess.crop);
  if (sh !== sw) return { height: sh, width: sw };
  // Shorter side to `sh`, the longer scaled and truncated, as torchvision's int() does.
  if (w <= h) return { width: sh, height: Math.floor((sh * h) / w) };
  return { height: sh, width: Math.floor((sh * w) / h) };
}

export function resizeToSpec(s: Sample, spec: Pick<Spec, 'image' | 'preprocess'>): Sample {
  const { height: H, width: W } = spec.image;
  if (s.height === H && s.width === W) return s;
  const r = resizedSize(s.height, s.width, spec);
  // crop_pct is in (0, 1] (validated), so the resized image covers the crop; max() only guards
  // hand-built specs that skipped validation.
  const rh = Math.max(r.height, H);
  const rw = Math.max(r.width, W);
  const channels = s.channels as 1 | 3 | 4;
  const big = resizeImage(
    { width: s.width, height: s.height, channels, data: s.image },
    rw,
    rh,
    spec.preprocess.interpolation,
  );
  const top = roundHalfEven((rh - H) / 2);
  const left = roundHalfEven((rw - W) / 2);
  const c = s.channels;
  const out = new Float32Array(H * W * c);
  for (let y = 0; y < H; y++) {
    const from = ((y + top) * rw + left) * c;
    out.set(big.data.subarray(from, from + W * c), y * W * c);
  }
  return { ...s, image: out, width: W, height: H };
}
