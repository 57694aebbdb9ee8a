// IDX parsing on hand-built files (every byte known), its error reports, and the real
// Fashion-MNIST files from Debian's dataset-fashion-mnist package.
import { afterAll, describe, expect, it } from 'vitest';
import {
  DataError,
  FASHION_MNIST_CLASSES,
  fashionMnistDir,
  openDataset,
  parseIdx,
} from '../../runtime/data/index.js';
import { TempDir, gzip, idxBytes } from './helpers.js';

const tmp = new TempDir();
afterAll(() => tmp.remove());

// Two 2×3 images: pixel values chosen so that row/column mix-ups change the result.
const PIXELS = [0, 1, 2, 10, 11, 12, 255, 128, 7, 9, 99, 200];
const LABELS = [3, 9];

function writeMnist(
  dir: string,
  opts: { images?: Uint8Array; labels?: Uint8Array; zip?: boolean } = {},
) {
  const images = opts.images ?? idxBytes([2, 2, 3], PIXELS);
  const labels = opts.labels ?? idxBytes([2], LABELS, 0x08);
  const z = opts.zip ?? true;
  tmp.file(`${dir}/t10k-images-idx3-ubyte${z ? '.gz' : ''}`, z ? gzip(images) : images);
  tmp.file(`${dir}/t10k-labels-idx1-ubyte${z ? '.gz' : ''}`, z ? gzip(labels) : labels);
  return `${tmp.path}/${dir}`;
}

async function dataError(p: Promise<unknown>): Promise<DataError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(DataError);
  return e as DataError;
}

describe('IDX', () => {
  it('parses a gzip file to exact pixels and labels', async () => {
    const dir = writeMnist('ok');
    const ds = await openDataset(`mnist:${dir}`, 'test');
    expect(ds.size).toBe(2);
    expect(ds.shape).toEqual({ channels: 1, height: 2, width: 3 });
    expect(ds.classes).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    const a = ds.get(0);
    expect(Array.from(a.image)).toEqual([0, 1, 2, 10, 11, 12]);
    expect([a.label, a.width, a.height, a.channels]).toEqual([3, 3, 2, 1]);
    expect(Array.from(ds.get(1).image)).toEqual([255, 128, 7, 9, 99, 200]);
    expect(ds.label(1)).toBe(9);
  });

  it('reads raw (uncompressed) files too, recognised by content', async () => {
    const ds = await openDataset(`mnist:${writeMnist('raw', { zip: false })}`, 'test');
    expect(Array.from(ds.get(1).image)).toEqual([255, 128, 7, 9, 99, 200]);
  });

  it('parseIdx reads the big-endian header', () => {
    const big = idxBytes([1, 300, 2], new Uint8Array(600).fill(5));
    const r = parseIdx(big, 'x');
    expect(r.dims).toEqual([1, 300, 2]);
    expect(r.data.length).toBe(600);
  });

  it('rejects a bad magic number, naming the file', async () => {
    const bad = idxBytes([2, 2, 3], PIXELS);
    bad[0] = 0x50; // e.g. a PNG or text file saved under the IDX name
    const dir = writeMnist('magic', { images: bad });
    const e = await dataError(openDataset(`mnist:${dir}`, 'test'));
    expect(e.code).toBe('VITC0515');
    expect(e.message).toContain(`${dir}/t10k-images-idx3-ubyte.gz`);
    expect(e.message).toMatch(/bad magic number 0x50000803/);
  });

  it('says when images and labels files are swapped', async () => {
    const dir = writeMnist('swap', {
      images: idxBytes([2], LABELS),
      labels: idxBytes([2, 2, 3], PIXELS),
    });
    const e = await dataError(openDataset(`mnist:${dir}`, 'test'));
    expect(e.code).toBe('VITC0515');
    expect(e.message).toMatch(/marks labels, expected images .*swapped/);
  });

  it('rejects a truncated file with the sizes involved', async () => {
    const full = idxBytes([2, 2, 3], PIXELS);
    const dir = writeMnist('trunc', { images: full.subarray(0, full.length - 5) });
    const e = await dataError(openDataset(`mnist:${dir}`, 'test'));
    expect(e.code).toBe('VITC0516');
    expect(e.file).toBe(`${dir}/t10k-images-idx3-ubyte.gz`);
    expect(e.message).toMatch(/truncated: header says 2×2×3 = 12 bytes of data, the file has 7/);
  });

  it('rejects trailing bytes and a header cut short', () => {
    const extra = new Uint8Array([...idxBytes([2], LABELS), 0, 0]);
    expect(() => parseIdx(extra, 'l.idx')).toThrow(/l\.idx: error VITC0516: 2 trailing bytes/);
    expect(() => parseIdx(idxBytes([2, 2, 3], []).subarray(0, 10), 'h.idx')).toThrow(
      /truncated header: 3 dimensions need 16 bytes, the file has 10/,
    );
  });

  it('rejects an image/label count mismatch, naming both files', async () => {
    const dir = writeMnist('count', { labels: idxBytes([3], [1, 2, 3]) });
    const e = await dataError(openDataset(`mnist:${dir}`, 'test'));
    expect(e.code).toBe('VITC0517');
    expect(e.message).toContain('has 2 images but');
    expect(e.message).toContain('t10k-labels-idx1-ubyte.gz has 3 labels');
  });

  it('rejects labels outside the classes and non-byte element types', async () => {
    const dir = writeMnist('range', { labels: idxBytes([2], [3, 10]) });
    const e = await dataError(openDataset(`mnist:${dir}`, 'test'));
    expect(e.code).toBe('VITC0518');
    expect(e.message).toMatch(/label 10 of item 1 is not a class index \(there are 10 classes\)/);
    expect(() => parseIdx(idxBytes([1], [0, 0, 0, 0], 0x0c), 'f')).toThrow(
      /VITC0529: IDX element type int/,
    );
  });

  it('rejects a corrupt gzip stream', async () => {
    const z = gzip(idxBytes([2, 2, 3], PIXELS));
    tmp.file('gz/t10k-images-idx3-ubyte.gz', z.subarray(0, z.length - 12));
    tmp.file('gz/t10k-labels-idx1-ubyte.gz', gzip(idxBytes([2], LABELS)));
    const e = await dataError(openDataset(`mnist:${tmp.path}/gz`, 'test'));
    expect(e.code).toBe('VITC0514');
    expect(e.message).toContain('gz/t10k-images-idx3-ubyte.gz: error VITC0514: corrupt gzip data');
  });

  it('reports a missing Fashion-MNIST with the install command', async () => {
    const old = process.env.VITC_FASHION_MNIST_DIR;
    process.env.VITC_FASHION_MNIST_DIR = `${tmp.path}/nowhere`;
    try {
      const e = await dataError(openDataset('fashion-mnist', 'train'));
      expect(e.code).toBe('VITC0512');
      expect(e.message).toContain(`${tmp.path}/nowhere: error VITC0512: data folder not found`);
      expect(e.message).toContain('apt-get install dataset-fashion-mnist');
      tmp.dir('half');
      tmp.file('half/train-images-idx3-ubyte.gz', gzip(idxBytes([2, 2, 3], PIXELS)));
      process.env.VITC_FASHION_MNIST_DIR = `${tmp.path}/half`;
      const f = await dataError(openDataset('fashion-mnist', 'train'));
      expect(f.file).toBe(`${tmp.path}/half/train-labels-idx1-ubyte.gz`);
    } finally {
      if (old === undefined) delete process.env.VITC_FASHION_MNIST_DIR;
      else process.env.VITC_FASHION_MNIST_DIR = old;
    }
  });

  it('rejects unknown sources and missing paths', async () => {
    expect((await dataError(openDataset('imagenet', 'train'))).message).toMatch(
      /imagenet: error VITC0511: unknown data set; use one of fashion-mnist, mnist:DIR/,
    );
    expect((await dataError(openDataset('cifar10:', 'train'))).code).toBe('VITC0511');
  });
});

// scripts/setup.sh installs dataset-fashion-mnist, so this always runs (a missing package fails it).
describe('Fashion-MNIST (dataset-fashion-mnist)', () => {
  it('opens the training set: 60000 28×28×1 images, 6000 per class', async () => {
    const ds = await openDataset('fashion-mnist', 'train');
    expect(ds.size).toBe(60000);
    expect(ds.shape).toEqual({ channels: 1, height: 28, width: 28 });
    expect(ds.classes).toEqual([...FASHION_MNIST_CLASSES]);
    expect(ds.classes[9]).toBe('Ankle boot');
    const hist = new Array<number>(10).fill(0);
    for (let i = 0; i < ds.size; i++) hist[ds.label(i)]! += 1;
    expect(hist).toEqual(new Array(10).fill(6000));
    // The published first labels of the training set (ankle boot, T-shirt, T-shirt, dress, ...).
    expect(Array.from({ length: 10 }, (_, i) => ds.label(i))).toEqual([
      9, 0, 0, 3, 0, 2, 7, 2, 5, 5,
    ]);
    const img = ds.get(0).image;
    expect(img.length).toBe(784);
    expect(Math.min(...img)).toBe(0);
    expect(Math.max(...img)).toBe(255);
  });

  it('opens the test set: 10000 images, 1000 per class', async () => {
    const ds = await openDataset('fashion-mnist', 'test');
    expect(ds.size).toBe(10000);
    const hist = new Array<number>(10).fill(0);
    for (let i = 0; i < ds.size; i++) hist[ds.label(i)]! += 1;
    expect(hist).toEqual(new Array(10).fill(1000));
    expect(Array.from({ length: 5 }, (_, i) => ds.label(i))).toEqual([9, 2, 1, 1, 6]);
  });
});
