// The held-out validation part of `vitc train --val F` (runtime/data/holdout.ts): per class,
// seeded, disjoint from training, and the same for the same seed.
import { describe, expect, it } from 'vitest';
import { holdOut } from '../../runtime/data/holdout.js';
import type { Dataset } from '../../runtime/data/types.js';

/** 1000 samples; sample i has label (i·7) mod 10 except that class 9 is rare (10 samples). */
function labelled(): Dataset {
  const labels: number[] = [];
  for (let i = 0; labels.length < 1000; i++) {
    const c = (i * 7) % 10;
    if (c === 9 && labels.filter((l) => l === 9).length >= 10) continue;
    labels.push(c);
  }
  return {
    name: 'synthetic (train)',
    size: labels.length,
    classes: Array.from({ length: 10 }, (_, i) => `c${i}`),
    shape: { channels: 1, height: 1, width: 1 },
    fixedShape: true,
    // The pixel carries the original index, so the parts can be traced back.
    get: (i) => ({ image: Float32Array.of(i), width: 1, height: 1, channels: 1, label: labels[i] }),
    label: (i) => labels[i],
  };
}

const ids = (ds: Dataset) => Array.from({ length: ds.size }, (_, i) => ds.get(i).image[0]);

describe('holdOut', () => {
  it('splits every class in proportion, disjoint and complete, in data set order', () => {
    const ds = labelled();
    const { train, val } = holdOut(ds, 0.2, 7);
    const t = ids(train);
    const v = ids(val);
    expect(t.length + v.length).toBe(1000);
    expect(new Set([...t, ...v]).size).toBe(1000);
    expect([...t].sort((a, b) => a - b)).toEqual(t);
    expect([...v].sort((a, b) => a - b)).toEqual(v);
    for (let c = 0; c < 10; c++) {
      const n = Array.from({ length: ds.size }, (_, i) => ds.label(i)).filter(
        (l) => l === c,
      ).length;
      const held = v.filter((i) => ds.label(i) === c).length;
      expect(held, `class ${c}`).toBe(Math.round(n * 0.2));
    }
    // Labels travel with the samples.
    for (let i = 0; i < val.size; i++) expect(val.label(i)).toBe(ds.label(v[i]));
    expect(val.name).toBe('synthetic (held-out val)');
  });

  it('is a function of the seed', () => {
    const ds = labelled();
    expect(ids(holdOut(ds, 0.1, 3).val)).toEqual(ids(holdOut(ds, 0.1, 3).val));
    expect(ids(holdOut(ds, 0.1, 3).val)).not.toEqual(ids(holdOut(ds, 0.1, 4).val));
  });

  it('refuses fractions outside (0, 1)', () => {
    for (const f of [0, 1, -0.1, 1.5, NaN])
      expect(() => holdOut(labelled(), f, 0)).toThrow(/fraction/);
  });
});
