/**
 * `--data` arguments to data sets:
 *
 *   fashion-mnist            Debian's dataset-fashion-mnist files ($VITC_FASHION_MNIST_DIR overrides)
 *   fashion-mnist:DIR        the four Fashion-MNIST IDX files in DIR (gzip or raw)
 *   mnist:DIR                the four MNIST IDX files in DIR
 *   cifar10:DIR              CIFAR-10 binary batches
 *   cifar100:DIR             CIFAR-100 binary (fine labels)
 *   folder:DIR               image folders, torchvision ImageFolder layout
 */
import { CIFAR10, CIFAR100, openCifar } from './cifar.js';
import { DataError } from './errors.js';
import { openFolder } from './folder.js';
import type { FolderOptions } from './folder.js';
import {
  FASHION_MNIST_CLASSES,
  FASHION_MNIST_DEFAULT_DIR,
  IDX_FILES,
  MNIST_CLASSES,
  openIdx,
} from './idx.js';
import { pathKind } from './io.js';
import type { Dataset } from './types.js';

export type Split = 'train' | 'test';

export type OpenOptions = FolderOptions;

const SOURCES = ['fashion-mnist', 'mnist:DIR', 'cifar10:DIR', 'cifar100:DIR', 'folder:DIR'];

/** Open the `split` of the data set named by `source` (the `--data` argument). */
export async function openDataset(
  source: string,
  split: Split,
  opts: OpenOptions = {},
): Promise<Dataset> {
  if (split !== 'train' && split !== 'test') {
    throw new DataError(
      'unknownSource',
      source,
      `split must be 'train' or 'test', got '${String(split)}'`,
    );
  }
  const colon = source.indexOf(':');
  const kind = (colon < 0 ? source : source.slice(0, colon)).toLowerCase();
  const path = colon < 0 ? '' : source.slice(colon + 1);
  const name = `${source} (${split})`;
  const needPath = () => {
    if (path === '') {
      throw new DataError('unknownSource', source, `'${kind}' needs a path: ${kind}:DIR`);
    }
  };
  switch (kind) {
    case 'fashion-mnist':
    case 'fashion_mnist':
    case 'fmnist': {
      const dir = path || fashionMnistDir();
      return openIdx(name, await idxFiles(dir, split, path === ''), FASHION_MNIST_CLASSES);
    }
    case 'mnist':
      needPath();
      return openIdx(name, await idxFiles(path, split, false), MNIST_CLASSES);
    case 'cifar10':
    case 'cifar-10':
      needPath();
      return openCifar(path, split, CIFAR10, name);
    case 'cifar100':
    case 'cifar-100':
      needPath();
      return openCifar(path, split, CIFAR100, name);
    case 'folder':
      needPath();
      return openFolder(path, split, { ...opts }, name);
    default:
      throw new DataError(
        'unknownSource',
        source,
        `unknown data set; use one of ${SOURCES.join(', ')}`,
      );
  }
}

/** Where Fashion-MNIST is looked for when `--data fashion-mnist` names no folder. */
export function fashionMnistDir(): string {
  const env = typeof process !== 'undefined' ? process.env.VITC_FASHION_MNIST_DIR : undefined;
  return env && env.length > 0 ? env : FASHION_MNIST_DEFAULT_DIR;
}

/**
 * Paths of a split's images and labels files in `dir`, each as NAME.gz or NAME (the gzip is
 * preferred when both exist). `installHint` adds how to get Fashion-MNIST to a not-found error.
 */
export async function idxFiles(
  dir: string,
  split: Split,
  installHint: boolean,
): Promise<{ images: string; labels: string }> {
  const { join } = await import('node:path');
  const hint = installHint
    ? 'install it with `apt-get install dataset-fashion-mnist` (or run scripts/setup.sh), or set VITC_FASHION_MNIST_DIR to a folder holding the files'
    : undefined;
  const kind = await pathKind(dir);
  if (kind !== 'dir') {
    throw new DataError('notFound', dir, kind ? 'is not a folder' : 'data folder not found', hint);
  }
  const find = async (base: string): Promise<string> => {
    for (const f of [`${base}.gz`, base]) {
      if ((await pathKind(join(dir, f))) === 'file') return join(dir, f);
    }
    throw new DataError('notFound', join(dir, `${base}.gz`), `file not found (nor ${base})`, hint);
  };
  const names = IDX_FILES[split];
  return { images: await find(names.images), labels: await find(names.labels) };
}
