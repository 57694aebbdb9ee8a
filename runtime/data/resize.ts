/**
 * Bringing a sample to the model's input size, for data sets whose images differ from it
 * (CIFAR's 32×32 into a 224×224 model, photos of any size in an image folder). Samples already at
 * the model's size pass through untouched: a 28×28 Fashion-MNIST image into a 28×28 model is not
 * resampled, whatever crop_pct says, because resampling it would only blur it.
 *
 * Other sizes get exactly the geometry of `vitc run` (runtime/image's preprocessImage, timm's eval
 * transform): Resize(floor(size / crop_pct)) with the spec's interpolation, then CenterCrop(size).
 * Using the same functions keeps training, evaluation and inference on identical pixels.
 */
import type { Spec } from '../../compiler/spec/types.js';
import { centerCrop, resizeTarget } from '../image/preprocess.js';
import { resizeImage } from '../image/resize.js';
import type { Sample } from './types.js';

export function resizeToSpec(s: Sample, spec: Pick<Spec, 'image' | 'preprocess'>): Sample {
  const { height: H, width: W } = spec.image;
  if (s.height === H && s.width === W) return s;
  const size = resizeTarget(s.height, s.width, spec);
  // toChannels has already brought the sample to 1, 3 or 4 channels, the rasters runtime/image takes.
  const raster = {
    width: s.width,
    height: s.height,
    channels: s.channels as 1 | 3 | 4,
    data: s.image,
  };
  const resized = resizeImage(raster, size.width, size.height, spec.preprocess.interpolation);
  const out = centerCrop(resized, H, W);
  return { ...s, image: out.data, width: W, height: H };
}
