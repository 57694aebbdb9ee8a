// The batch loader: layout, normalization, epochs, seeded shuffling and augmentation, prefetch,
// and bit-identical resumption from a saved state.
import { describe, expect, it } from 'vitest';
import {
  BatchLoader,
  DataError,
  MemoryDataset,
  channelNorm,
  writeView,
} from '../../runtime/data/index.js';
import type { Batch, LoaderOptions, LoaderState, View } from '../../runtime/data/index.js';
import { dataSpec } from './helpers.js';

/** n gray 2×2 images; pixel p of image i is 10·i + p; label i % 3. */
function tiny(n = 10): MemoryDataset {
  const px = new Uint8Array(n * 4).map((_, k) => 10 * Math.floor(k / 4) + (k % 4));
  const labels = new Uint8Array(n).map((_, i) => i % 3);
  return new MemoryDataset(
    'tiny',
    ['a', 'b', 'c'],
    { channels: 1, height: 2, width: 2 },
    px,
    labels,
    'hwc',
  );
}

const SPEC = dataSpec(2, 2, 1, [0.5], [0.5]);
const norm = (v: number) => Math.fround((v / 255 - 0.5) / 0.5);

async function collect(it: AsyncIterable<Batch>, stopAfter = Infinity): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of it) {
    out.push(b);
    if (out.length >= stopAfter) break;
  }
  return out;
}

const same = (a: Batch[], b: Batch[]) => {
  expect(b.length).toBe(a.length);
  a.forEach((x, i) => {
    expect(Array.from(b[i]!.indices)).toEqual(Array.from(x.indices));
    expect(Array.from(b[i]!.labels)).toEqual(Array.from(x.labels));
    expect(Buffer.from(b[i]!.images.buffer).equals(Buffer.from(x.images.buffer))).toBe(true);
  });
};

describe('BatchLoader', () => {
  it('lays out [B, C, H, W] normalized images and int32 labels', () => {
    const l = new BatchLoader(tiny(), { batch: 4, spec: SPEC });
    const b = l.next();
    expect(b.size).toBe(4);
    expect(b.images.length).toBe(16);
    expect(Array.from(b.images.subarray(4, 8))).toEqual([10, 11, 12, 13].map(norm));
    expect(b.labels).toBeInstanceOf(Int32Array);
    expect(Array.from(b.labels)).toEqual([0, 1, 2, 0]);
  });

  it('walks epochs: a short last batch, or none with dropLast', () => {
    const l = new BatchLoader(tiny(), { batch: 4, spec: SPEC });
    expect(l.batchesPerEpoch).toBe(3);
    expect([l.next().size, l.next().size, l.next().size]).toEqual([4, 4, 2]);
    expect([l.epoch, l.state().position]).toEqual([1, 0]);
    const d = new BatchLoader(tiny(), { batch: 4, spec: SPEC, dropLast: true });
    expect(d.batchesPerEpoch).toBe(2);
    d.next();
    expect(d.next().index).toBe(1);
    expect(d.epoch).toBe(1);
  });

  it('shuffles each epoch into a seeded permutation', () => {
    const opts: LoaderOptions = { batch: 3, spec: SPEC, shuffle: true, seed: 11 };
    const order = (l: BatchLoader, e: number) =>
      Array.from({ length: l.batchesPerEpoch }, (_, k) =>
        Array.from(l.batchAt(k, e).indices),
      ).flat();
    const a = new BatchLoader(tiny(50), opts);
    const b = new BatchLoader(tiny(50), opts);
    const e0 = order(a, 0);
    expect([...e0].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(order(b, 0)).toEqual(e0);
    expect(order(a, 1)).not.toEqual(e0);
    expect(order(new BatchLoader(tiny(50), { ...opts, seed: 12 }), 0)).not.toEqual(e0);
    // Labels follow their images through the shuffle.
    const bt = a.batchAt(2, 0);
    bt.indices.forEach((i, j) => expect(bt.labels[j]).toBe(i % 3));
  });

  it('augments every sample with one of its valid crop/flip views, seeded', () => {
    const ds = tiny(40);
    const opts: LoaderOptions = {
      batch: 8,
      spec: SPEC,
      shuffle: true,
      seed: 3,
      augment: { flip: true, cropPadding: 1 },
    };
    const l = new BatchLoader(ds, opts);
    const n = channelNorm(SPEC.preprocess, 1);
    const views: View[] = [];
    for (const flip of [false, true]) {
      for (let top = 0; top < 3; top++)
        for (let left = 0; left < 3; left++) views.push({ padding: 1, top, left, flip });
    }
    const seen = new Set<number>();
    for (let k = 0; k < l.batchesPerEpoch; k++) {
      const b = l.batchAt(k, 0);
      b.indices.forEach((i, j) => {
        const got = Array.from(b.images.subarray(4 * j, 4 * j + 4));
        const match = views.findIndex((v) => {
          const out = new Float32Array(4);
          writeView(ds.get(i), v, n, out, 0);
          return Array.from(out).every((x, q) => x === got[q]);
        });
        expect(match).toBeGreaterThanOrEqual(0);
        seen.add(match);
      });
    }
    // 40 draws from 18 views: many distinct views, flipped and not, shifted and not.
    expect(seen.size).toBeGreaterThan(8);
    expect([...seen].some((m) => m >= 9)).toBe(true);
    expect([...seen].some((m) => m < 9 && m !== 4)).toBe(true);
    // Same seed and epoch, same pixels; another epoch draws anew.
    const again = new BatchLoader(ds, opts).batchAt(1, 0);
    same([l.batchAt(1, 0)], [again]);
    const e1 = l.batchAt(1, 1);
    expect(Buffer.from(e1.images.buffer).equals(Buffer.from(again.images.buffer))).toBe(false);
  });

  it('gives the same batches through the prefetching iterator as synchronously', async () => {
    const opts: LoaderOptions = {
      batch: 7,
      spec: SPEC,
      shuffle: true,
      seed: 1,
      prefetch: 2,
      augment: { flip: true, cropPadding: 1 },
    };
    const l = new BatchLoader(tiny(30), opts);
    const positions: number[] = [];
    const got: Batch[] = [];
    for await (const b of l) {
      got.push(b);
      positions.push(l.state().position);
    }
    expect(positions).toEqual([1, 2, 3, 4, 0]);
    expect(l.epoch).toBe(1);
    const ref = new BatchLoader(tiny(30), opts);
    same(
      got,
      Array.from({ length: 5 }, (_, k) => ref.batchAt(k, 0)),
    );
  });

  it('resumes mid-epoch from a JSON state with identical remaining batches', async () => {
    const opts: LoaderOptions = {
      batch: 4,
      spec: SPEC,
      shuffle: true,
      seed: 2024,
      augment: { flip: true, cropPadding: 1 },
    };
    const run = new BatchLoader(tiny(37), opts);
    await collect(run); // epoch 0
    await collect(run, 3); // three batches into epoch 1, then stop (a checkpoint)
    const saved = JSON.stringify(run.state());
    expect(JSON.parse(saved)).toMatchObject({ epoch: 1, position: 3, seed: 2024 });
    const rest = [...(await collect(run)), ...(await collect(run))]; // rest of epoch 1, all of 2
    const resumed = BatchLoader.restore(tiny(37), opts, JSON.parse(saved) as LoaderState);
    const again = [...(await collect(resumed)), ...(await collect(resumed))];
    expect(rest.map((b) => `${b.epoch}:${b.index}`).slice(0, 2)).toEqual(['1:3', '1:4']);
    same(rest, again);
    expect(resumed.state()).toEqual(run.state());
  });

  it('refuses a state from a different run or data set', () => {
    const opts: LoaderOptions = { batch: 4, spec: SPEC, shuffle: true, seed: 5 };
    const st = new BatchLoader(tiny(), opts).state();
    expect(() => BatchLoader.restore(tiny(), { ...opts, batch: 5 }, st)).toThrow(
      /tiny: error VITC0526: cannot resume the data loader: batch was 4, is 5/,
    );
    expect(() => BatchLoader.restore(tiny(12), opts, st)).toThrow(/data set size was 10, is 12/);
    expect(() => BatchLoader.restore(tiny(), opts, { ...st, position: 9 })).toThrow(
      /position 9 outside 0\.\.3/,
    );
  });

  it('rejects bad options with DataError', () => {
    const bad = (o: Partial<LoaderOptions>) => {
      try {
        new BatchLoader(tiny(), { batch: 4, spec: SPEC, ...o });
      } catch (e) {
        expect(e).toBeInstanceOf(DataError);
        return (e as DataError).message;
      }
      return 'no error';
    };
    expect(bad({ batch: 0 })).toMatch(/VITC0525: batch size must be a positive integer, got 0/);
    expect(bad({ batch: 11, dropLast: true })).toMatch(/larger than the data set \(10 samples\)/);
    expect(bad({ augment: { flip: false, cropPadding: -1 } })).toMatch(/crop padding/);
    expect(bad({ spec: dataSpec(2, 2, 1, [0.1, 0.2], [1]) })).toMatch(/VITC0528/);
  });

  it('converts channels and resizes to the spec', () => {
    // Gray 2×2 into an RGB model of the same size: three equal planes.
    const l = new BatchLoader(tiny(), { batch: 2, spec: dataSpec(2, 2, 3, [0], [1 / 255]) });
    const b = l.next();
    expect(b.images.length).toBe(2 * 3 * 4);
    expect(Array.from(b.images.subarray(12, 24), Math.round)).toEqual([
      10, 11, 12, 13, 10, 11, 12, 13, 10, 11, 12, 13,
    ]);
    // Flat 2×2 images into a 4×4 model: upsampled, still flat.
    const flat = new MemoryDataset(
      'flat',
      ['x'],
      { channels: 1, height: 2, width: 2 },
      new Uint8Array(8).fill(200),
      new Uint8Array(2),
      'hwc',
    );
    const big = new BatchLoader(flat, { batch: 2, spec: dataSpec(4, 4, 1, [0], [1 / 255]) }).next();
    expect(big.images.length).toBe(32);
    expect(new Set(Array.from(big.images, Math.round))).toEqual(new Set([200]));
  });
});
