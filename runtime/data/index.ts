// The training and evaluation data pipeline; see docs/DATA.md.
export { openDataset, fashionMnistDir, idxFiles } from './dataset.js';
export type { OpenOptions, Split } from './dataset.js';
export type { Dataset, Sample, Shape } from './types.js';
export { BatchLoader } from './loader.js';
export type { Batch, LoaderOptions, LoaderState } from './loader.js';
export { DataError, DATA_ERRORS } from './errors.js';
export type { DataErrorKind } from './errors.js';
export {
  parseIdx,
  readIdx,
  idxDataset,
  openIdx,
  FASHION_MNIST_CLASSES,
  MNIST_CLASSES,
  FASHION_MNIST_DEFAULT_DIR,
} from './idx.js';
export type { IdxArray } from './idx.js';
export {
  parseCifarMeta,
  cifarDataset,
  openCifar,
  CIFAR10,
  CIFAR100,
  CIFAR10_CLASSES,
} from './cifar.js';
export { openFolder, FolderDataset, IMAGE_EXTENSIONS } from './folder.js';
export type { FolderOptions } from './folder.js';
export { MemoryDataset } from './memory.js';
export { toChannels, drawView, writeView, channelNorm, IDENTITY_VIEW } from './augment.js';
export type { AugmentOptions, View, Norm } from './augment.js';
export { resizeToSpec } from './resize.js';
export { Xoshiro128, epochPermutation, hashInts } from './rng.js';
