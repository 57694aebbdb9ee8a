// Image folders (torchvision ImageFolder layout) on a temporary tree of PNGs written with pngjs.
import { afterAll, describe, expect, it } from 'vitest';
import { BatchLoader, DataError, openDataset } from '../../runtime/data/index.js';
import { splitFiles } from '../../runtime/data/folder.js';
import { decodeImage, preprocessImage } from '../../runtime/image/index.js';
import { TempDir, dataSpec, pngBytes } from './helpers.js';

const tmp = new TempDir();
afterAll(() => tmp.remove());

/** A 3×2 PNG whose pixel (x, y) is (base + x, base + 10·y, 7). */
const img = (base: number) => pngBytes(3, 2, (x, y) => [base + x, base + 10 * y, 7]);

async function dataError(p: Promise<unknown>): Promise<DataError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(DataError);
  return e as DataError;
}

describe('image folders', () => {
  // Classes deliberately created out of order; 'Zebra' sorts before 'ant' by code point.
  tmp.file('split/train/dog/b.png', img(20));
  tmp.file('split/train/dog/a.PNG', img(10));
  tmp.file('split/train/ant/x.png', img(30));
  tmp.file('split/train/ant/nested/y.png', img(40));
  tmp.file('split/train/Zebra/z.png', img(50));
  tmp.file('split/train/dog/notes.txt', 'not an image');
  tmp.file('split/train/.ipynb_checkpoints/c.png', img(0));
  tmp.file('split/val/dog/v.png', img(60));
  tmp.file('split/val/Zebra/w.png', img(70));
  const root = `${tmp.path}/split`;

  it('lists classes sorted by name and files in sorted walk order', async () => {
    const ds = await openDataset(`folder:${root}`, 'train');
    expect(ds.classes).toEqual(['Zebra', 'ant', 'dog']);
    expect(ds.size).toBe(5);
    expect(Array.from({ length: 5 }, (_, i) => ds.label(i))).toEqual([0, 1, 1, 2, 2]);
    expect(ds.shape).toEqual({ channels: 3, height: 2, width: 3 });
    expect(ds.fixedShape).toBe(false);
    // Sample 2 is ant/nested/y.png (base 40); the first row's pixels are (40, 40, 7), (41, 40, 7), ...
    const s = ds.get(2);
    expect([s.width, s.height, s.channels, s.label]).toEqual([3, 2, 3, 1]);
    expect(Array.from(s.image)).toEqual([
      40, 40, 7, 41, 40, 7, 42, 40, 7, 40, 50, 7, 41, 50, 7, 42, 50, 7,
    ]);
    // a.PNG (extension matched case-insensitively) comes before b.png.
    expect(ds.get(3).image[0]).toBe(10);
    expect(Array.from((await ds.load!(4)).image.subarray(0, 3))).toEqual([20, 20, 7]);
  });

  it('uses the training classes for val/, even when val/ lacks some', async () => {
    const ds = await openDataset(`folder:${root}`, 'test');
    expect(ds.classes).toEqual(['Zebra', 'ant', 'dog']);
    expect([ds.size, ds.label(0), ds.label(1)]).toEqual([2, 0, 2]);
    expect(ds.get(1).image[0]).toBe(60);
  });

  it('feeds the loader, resized to the spec', async () => {
    const ds = await openDataset(`folder:${root}`, 'train');
    const l = new BatchLoader(ds, {
      batch: 2,
      spec: dataSpec(2, 3, 3, [0], [1 / 255]),
      prefetch: 1,
    });
    const batches = [];
    for await (const b of l) batches.push(b);
    expect(batches.map((b) => b.size)).toEqual([2, 2, 1]);
    // Image 0 is Zebra/z.png (base 50); its red plane is 50 51 52 / 50 51 52.
    expect(Array.from(batches[0]!.images.subarray(0, 6), Math.round)).toEqual([
      50, 51, 52, 50, 51, 52,
    ]);
    const small = new BatchLoader(ds, { batch: 5, spec: dataSpec(1, 1, 1, [0], [1]) }).next();
    expect(small.images.length).toBe(5);
  });

  it('gives evaluation batches identical to vitc run preprocessing', async () => {
    // An off-size, non-constant photo: the loader must resize, crop, convert and normalize
    // exactly as runtime/image's preprocessImage does, so eval accuracy matches inference.
    const bytes = pngBytes(7, 5, (x, y) => [
      (37 * x + 11 * y) % 256,
      (5 * x * y) % 256,
      200 - 9 * x,
    ]);
    tmp.file('photo/train/only/p.png', bytes);
    const ds = await openDataset(`folder:${tmp.path}/photo`, 'train');
    for (const [c, mean, std] of [
      [3, [0.4, 0.5, 0.6], [0.2, 0.3, 0.4]],
      [1, [0.45], [0.25]],
    ] as const) {
      const spec = { ...dataSpec(4, 4, c, [...mean], [...std], 0.875) };
      spec.preprocess.interpolation = 'bicubic';
      const b = new BatchLoader(ds, { batch: 1, spec }).next();
      const want = preprocessImage(decodeImage(bytes), spec);
      expect(b.images.length).toBe(16 * c);
      expect(Array.from(b.images)).toEqual(Array.from(want));
    }
  });

  it('splits a single level of class folders per class, seeded', async () => {
    for (const c of ['cat', 'bird'])
      for (let i = 0; i < 10; i++) tmp.file(`flat/${c}/${i}.png`, img(i));
    const opts = { valFraction: 0.3, splitSeed: 9 };
    const train = await openDataset(`folder:${tmp.path}/flat`, 'train', opts);
    const test = await openDataset(`folder:${tmp.path}/flat`, 'test', opts);
    expect(train.classes).toEqual(['bird', 'cat']);
    expect([train.size, test.size]).toEqual([14, 6]);
    expect(Array.from({ length: 6 }, (_, i) => test.label(i))).toEqual([0, 0, 0, 1, 1, 1]);
    // Disjoint and complete, the same again for the same seed, different for another.
    const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'];
    const held = splitFiles(names, 0, 0.3, 9, 'test');
    const kept = splitFiles(names, 0, 0.3, 9, 'train');
    expect([...held, ...kept].sort()).toEqual(names);
    expect(held).toHaveLength(3);
    expect(splitFiles(names, 0, 0.3, 9, 'test')).toEqual(held);
    expect(splitFiles(names, 0, 0.3, 10, 'test')).not.toEqual(held);
  });

  it('reports empty, mismatched and missing folders', async () => {
    tmp.file('empty/train/a/readme.txt', 'x');
    tmp.file('empty/train/b/1.png', img(0));
    let e = await dataError(openDataset(`folder:${tmp.path}/empty`, 'train'));
    expect(e.code).toBe('VITC0521');
    expect(e.message).toContain(
      `${tmp.path}/empty/train: error VITC0521: no .png/.jpg/.jpeg images in class folder a`,
    );
    tmp.file('extra/train/a/1.png', img(0));
    tmp.file('extra/val/q/1.png', img(0));
    e = await dataError(openDataset(`folder:${tmp.path}/extra`, 'test'));
    expect(e.code).toBe('VITC0522');
    expect(e.message).toContain(`class folder q not in ${tmp.path}/extra/train`);
    e = await dataError(openDataset(`folder:${tmp.path}/missing`, 'train'));
    expect(e.message).toBe(`${tmp.path}/missing: error VITC0512: folder not found`);
    tmp.file('noclass/1.png', img(0));
    expect((await dataError(openDataset(`folder:${tmp.path}/noclass`, 'train'))).code).toBe(
      'VITC0521',
    );
  });

  it('names a corrupt image file when it is read', async () => {
    tmp.file('bad/train/a/1.png', img(0));
    tmp.file('bad/train/a/2.png', img(0).subarray(0, 40));
    const ds = await openDataset(`folder:${tmp.path}/bad`, 'train');
    expect(() => ds.get(1)).toThrow(`${tmp.path}/bad/train/a/2.png`);
    await expect(ds.load!(1)).rejects.toMatchObject({
      code: expect.stringMatching(/^VITC05\d\d$/),
    });
  });
});
