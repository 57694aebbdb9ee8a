// CIFAR binary parsing on hand-built batch files.
import { afterAll, describe, expect, it } from 'vitest';
import { DataError, openDataset, parseCifarMeta } from '../../runtime/data/index.js';
import { TempDir } from './helpers.js';

const tmp = new TempDir();
afterAll(() => tmp.remove());

/** A CIFAR-10 record: label, then R, G, B planes where pixel p of plane c is (seed + 3p + c) % 256. */
function record(label: number, seed: number, labelBytes = 1): Uint8Array {
  const r = new Uint8Array(labelBytes + 3072);
  r[labelBytes - 1] = label;
  if (labelBytes === 2) r[0] = 19; // coarse label, ignored
  for (let c = 0; c < 3; c++) {
    for (let p = 0; p < 1024; p++) r[labelBytes + c * 1024 + p] = (seed + 3 * p + c) % 256;
  }
  return r;
}

const cat = (rs: Uint8Array[]) => {
  const out = new Uint8Array(rs.reduce((a, r) => a + r.length, 0));
  let at = 0;
  for (const r of rs) {
    out.set(r, at);
    at += r.length;
  }
  return out;
};

const NAMES = 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n';

function writeCifar10(dir: string, meta = true) {
  for (let b = 1; b <= 5; b++) {
    tmp.file(`${dir}/data_batch_${b}.bin`, cat([record(b, 10 * b), record(9, 10 * b + 1)]));
  }
  tmp.file(`${dir}/test_batch.bin`, cat([record(7, 200), record(0, 201), record(3, 202)]));
  if (meta) tmp.file(`${dir}/batches.meta.txt`, NAMES);
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

describe('CIFAR-10 binary', () => {
  const dir = writeCifar10('c10');

  it('reads the five training batches in order, pixels transposed to HWC', async () => {
    const ds = await openDataset(`cifar10:${dir}`, 'train');
    expect(ds.size).toBe(10);
    expect(ds.shape).toEqual({ channels: 3, height: 32, width: 32 });
    expect(ds.classes[1]).toBe('automobile');
    expect(Array.from({ length: 10 }, (_, i) => ds.label(i))).toEqual([
      1, 9, 2, 9, 3, 9, 4, 9, 5, 9,
    ]);
    const s = ds.get(4); // batch 3, first record: seed 30
    expect(s.label).toBe(3);
    // Pixel (x=1, y=0) is plane index 1: R = 30+3, G = 30+4, B = 30+5.
    expect(Array.from(s.image.subarray(3, 6))).toEqual([33, 34, 35]);
    // Pixel (x=0, y=2) is plane index 64.
    const p = 64 * 3;
    expect(Array.from(s.image.subarray(p, p + 3))).toEqual([
      (30 + 192) % 256,
      (31 + 192) % 256,
      (32 + 192) % 256,
    ]);
  });

  it('reads the test batch', async () => {
    const ds = await openDataset(`cifar10:${dir}`, 'test');
    expect(ds.size).toBe(3);
    expect([ds.label(0), ds.label(1), ds.label(2)]).toEqual([7, 0, 3]);
    expect(Array.from(ds.get(2).image.subarray(0, 3))).toEqual([202, 203, 204]);
  });

  it('finds the batches inside the extracted tarball folder', async () => {
    writeCifar10('outer/cifar-10-batches-bin');
    const ds = await openDataset(`cifar10:${tmp.path}/outer`, 'test');
    expect(ds.size).toBe(3);
  });

  it('takes class names from batches.meta.txt, and the standard ones without it', async () => {
    expect(parseCifarMeta('a\r\nb\n\n', 'm')).toEqual(['a', 'b']);
    expect(() => parseCifarMeta('\n\n', 'meta.txt')).toThrow(
      /meta\.txt: error VITC0520: no class names/,
    );
    const d = writeCifar10('nometa', false);
    expect((await openDataset(`cifar10:${d}`, 'test')).classes[9]).toBe('truck');
    tmp.file('renamed/test_batch.bin', record(1, 0));
    tmp.file('renamed/batches.meta.txt', 'no\nyes\n');
    expect((await openDataset(`cifar10:${tmp.path}/renamed`, 'test')).classes).toEqual([
      'no',
      'yes',
    ]);
  });

  it('rejects a file that is not whole records, naming it', async () => {
    const d = writeCifar10('short');
    tmp.file('short/data_batch_4.bin', cat([record(1, 0), record(2, 0)]).subarray(0, 6000));
    const e = await dataError(openDataset(`cifar10:${d}`, 'train'));
    expect(e.code).toBe('VITC0519');
    expect(e.file).toBe(`${d}/data_batch_4.bin`);
    expect(e.message).toMatch(
      /6000 bytes is not a whole number of 3073-byte records \(1 records and 2927 bytes over\)/,
    );
  });

  it('rejects labels beyond the class list and missing batches', async () => {
    const d = writeCifar10('label');
    tmp.file('label/test_batch.bin', cat([record(1, 0), record(12, 0)]));
    const e = await dataError(openDataset(`cifar10:${d}`, 'test'));
    expect(e.code).toBe('VITC0518');
    expect(e.message).toContain(`${d}/test_batch.bin: error VITC0518: label 12 of item 1`);
    tmp.file('partial/data_batch_1.bin', record(0, 0));
    const m = await dataError(openDataset(`cifar10:${tmp.path}/partial`, 'train'));
    expect(m.code).toBe('VITC0512');
    expect(m.message).toContain(
      'missing data_batch_2.bin, data_batch_3.bin, data_batch_4.bin, data_batch_5.bin',
    );
    expect((await dataError(openDataset(`cifar10:${tmp.path}/none`, 'train'))).message).toContain(
      'folder not found',
    );
  });

  it('reads CIFAR-100 fine labels', async () => {
    tmp.file('c100/test.bin', cat([record(42, 5, 2), record(99, 6, 2)]));
    tmp.file(
      'c100/fine_label_names.txt',
      Array.from({ length: 100 }, (_, i) => `c${i}`).join('\n'),
    );
    const ds = await openDataset(`cifar100:${tmp.path}/c100`, 'test');
    expect([ds.label(0), ds.label(1)]).toEqual([42, 99]);
    expect(Array.from(ds.get(1).image.subarray(0, 3))).toEqual([6, 7, 8]);
  });
});
