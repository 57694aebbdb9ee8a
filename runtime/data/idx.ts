/**
 * The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/):
 *
 *   [0x00 0x00 type ndims] [ndims × u32 big-endian sizes] [data, row-major]
 *
 * Images are 0x00000803 (ubyte, 3 dims: count, rows, cols), labels 0x00000801 (ubyte, 1 dim).
 * Files may be gzip-compressed or raw; the magic bytes decide. Everything the header promises is
 * checked against the bytes actually present, and images against labels, before any sample is
 * handed out, so a truncated download fails at open with the file's name, not mid-epoch.
 */
import { DataError } from './errors.js';
import { gunzipIfNeeded, readBytes } from './io.js';
import { MemoryDataset, checkLabels } from './memory.js';

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

export const MNIST_CLASSES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] as const;

/** Where Debian's dataset-fashion-mnist package puts the files. */
export const FASHION_MNIST_DEFAULT_DIR = '/usr/share/datasets/fashion-mnist';

/** Base names (without .gz) of the four files, per split, shared by MNIST and Fashion-MNIST. */
export const IDX_FILES = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
} as const;

export interface IdxArray {
  dims: number[];
  /** The payload (a view into the file's bytes), dims.product bytes long. */
  data: Uint8Array;
}

const IDX_TYPES: Record<number, string> = {
  0x08: 'unsigned byte',
  0x09: 'signed byte',
  0x0b: 'short',
  0x0c: 'int',
  0x0d: 'float',
  0x0e: 'double',
};

const hex = (n: number) => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;

/**
 * Parse decompressed IDX bytes. `expectDims` (3 for images, 1 for labels) makes a swapped pair
 * of files an error that says so, instead of a size mismatch further on.
 */
export function parseIdx(bytes: Uint8Array, file: string, expectDims?: number): IdxArray {
  if (bytes.length < 4) {
    throw new DataError(
      'idxLength',
      file,
      `file is ${bytes.length} bytes, too short for an IDX header`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, false);
  const type = bytes[2]!;
  const nd = bytes[3]!;
  if (bytes[0] !== 0 || bytes[1] !== 0 || !(type in IDX_TYPES) || nd === 0) {
    throw new DataError(
      'idxMagic',
      file,
      `bad magic number ${hex(magic)}: not an IDX file (expected ${expectDims === undefined ? '0x000008nn' : hex(0x800 + expectDims)})`,
    );
  }
  if (expectDims !== undefined && nd !== expectDims) {
    const what = (d: number) => (d === 3 ? 'images' : d === 1 ? 'labels' : `${d}-d data`);
    throw new DataError(
      'idxMagic',
      file,
      `magic number ${hex(magic)} marks ${what(nd)}, expected ${what(expectDims)} (${hex(0x800 + expectDims)}); are the images and labels files swapped?`,
    );
  }
  if (type !== 0x08) {
    throw new DataError(
      'idxUnsupported',
      file,
      `IDX element type ${IDX_TYPES[type]} (0x${type.toString(16)}) is not supported; vitc reads unsigned bytes (0x08)`,
    );
  }
  const headerLen = 4 + 4 * nd;
  if (bytes.length < headerLen) {
    throw new DataError(
      'idxLength',
      file,
      `truncated header: ${nd} dimensions need ${headerLen} bytes, the file has ${bytes.length}`,
    );
  }
  const dims: number[] = [];
  let count = 1;
  for (let i = 0; i < nd; i++) {
    const d = view.getUint32(4 + 4 * i, false);
    dims.push(d);
    count *= d;
  }
  const have = bytes.length - headerLen;
  if (have !== count) {
    const shape = dims.join('×');
    throw new DataError(
      'idxLength',
      file,
      have < count
        ? `truncated: header says ${shape} = ${count} bytes of data, the file has ${have}`
        : `${have - count} trailing bytes after the ${shape} = ${count} bytes the header declares`,
    );
  }
  return { dims, data: bytes.subarray(headerLen) };
}

/** Read an IDX file (gzip or raw) from disk. */
export async function readIdx(path: string, expectDims?: number): Promise<IdxArray> {
  const bytes = await gunzipIfNeeded(await readBytes(path), path);
  return parseIdx(bytes, path, expectDims);
}

/**
 * A data set from an images file and a labels file. `classes` are the names of labels 0..n-1;
 * a label outside that range is an error naming the labels file.
 */
export function idxDataset(
  name: string,
  images: IdxArray,
  labels: IdxArray,
  files: { images: string; labels: string },
  classes: readonly string[],
): MemoryDataset {
  const [n, h, w] = images.dims as [number, number, number];
  const m = labels.dims[0]!;
  if (n !== m) {
    throw new DataError(
      'countMismatch',
      files.images,
      `has ${n} images but ${files.labels} has ${m} labels`,
    );
  }
  if (n === 0 || h === 0 || w === 0) {
    throw new DataError('idxLength', files.images, `no images (dimensions ${n}×${h}×${w})`);
  }
  checkLabels(labels.data, classes.length, files.labels);
  return new MemoryDataset(
    name,
    classes,
    { channels: 1, height: h, width: w },
    images.data,
    labels.data,
    'hwc',
  );
}

/** Open an images/labels pair from disk; both files are read (and gunzipped) concurrently. */
export async function openIdx(
  name: string,
  files: { images: string; labels: string },
  classes: readonly string[],
): Promise<MemoryDataset> {
  // Both files are read concurrently, but a failure is reported deterministically: the images
  // file's first (Promise.all would report whichever read failed first).
  const [im, lb] = await Promise.allSettled([readIdx(files.images, 3), readIdx(files.labels, 1)]);
  if (im.status === 'rejected') throw im.reason;
  if (lb.status === 'rejected') throw lb.reason;
  const [images, labels] = [im.value, lb.value];
  return idxDataset(name, images, labels, files, classes);
}
