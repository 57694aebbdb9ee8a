// CLS-row extraction and attention rollout on hand-written tensors, checked against values
// worked out by hand in the comments.
import { describe, expect, it } from 'vitest';
import {
  type AttnGeometry,
  attentionRollout,
  clsAttention,
  layerMatrix,
  rolloutMatrix,
} from '../../runtime/viz/attention.js';

// 3 tokens: cls, then a 1 × 2 patch grid; 2 heads.
const g: AttnGeometry = { heads: 2, tokens: 3, prefix: 1, cls: true, rows: 1, cols: 2 };

/** [heads, N, N] from per-head row-major matrices. */
const layer = (...heads: number[][][]) => Float32Array.from(heads.flat(2));

// Layer 0: head 0 = I, head 1 sends the cls query to patch 0.
const L0 = layer(
  [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ],
  [
    [0, 1, 0],
    [0, 1, 0],
    [0, 0, 1],
  ],
);
// Layer 1: the cls query looks at patch 1 in both heads; patch 0 splits between heads.
const L1 = layer(
  [
    [0, 0, 1],
    [0, 1, 0],
    [0, 0, 1],
  ],
  [
    [0, 0, 1],
    [1, 0, 0],
    [0, 0, 1],
  ],
);

describe('attention rollout (Abnar & Zuidema 2020)', () => {
  it('matches a 2-layer case computed by hand', () => {
    // mean(L0) = [[.5,.5,0],[0,1,0],[0,0,1]] → A'0 = .5·mean + .5·I = [[.75,.25,0],[0,1,0],[0,0,1]]
    // mean(L1) = [[0,0,1],[.5,.5,0],[0,0,1]] → A'1 = [[.5,0,.5],[.25,.75,0],[0,0,1]]
    // R = A'1 · A'0: row 0 = .5·[.75,.25,0] + .5·[0,0,1]       = [.375, .125, .5]
    //                row 1 = .25·[.75,.25,0] + .75·[0,1,0]     = [.1875, .8125, 0]
    //                row 2 = [0, 0, 1]
    const R = rolloutMatrix([L0, L1], g);
    const want = [0.375, 0.125, 0.5, 0.1875, 0.8125, 0, 0, 0, 1];
    want.forEach((v, i) => expect(R[i]).toBeCloseTo(v, 12));
    // CLS row over the patches. The opposite order (A'0 · A'1) would give [.1875, .375].
    const cls = attentionRollout([L0, L1], g);
    expect(Array.from(cls)).toEqual([0.125, 0.5]);
  });

  it('without a cls token averages the rollout over all query rows', () => {
    const noCls = { ...g, cls: false };
    const m = attentionRollout([L0, L1], noCls);
    expect(m[0]).toBeCloseTo((0.125 + 0.8125 + 0) / 3, 12);
    expect(m[1]).toBeCloseTo((0.5 + 0 + 1) / 3, 12);
  });

  it('renormalizes rows that do not sum to 1', () => {
    // A layer of 2·I (rows sum to 2): A' = I + .5·I = 1.5·I → renormalized back to I.
    const twice = layer(
      [
        [2, 0, 0],
        [0, 2, 0],
        [0, 0, 2],
      ],
      [
        [2, 0, 0],
        [0, 2, 0],
        [0, 0, 2],
      ],
    );
    expect(Array.from(rolloutMatrix([twice], g))).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
  });

  it('reads the second image of a batch', () => {
    const batch = new Float32Array(L0.length * 2);
    batch.set(L1, 0);
    batch.set(L0, L0.length);
    // Image 1 holds L0: A'0 row 0 = [.75, .25, 0]; image 0 (L1) would give [0, .5].
    expect(Array.from(attentionRollout([batch], g, 1))).toEqual([0.25, 0]);
    expect(Array.from(attentionRollout([batch], g, 0))).toEqual([0, 0.5]);
  });
});

describe('CLS attention over the patches', () => {
  it('takes row 0, patch columns only, per head or head mean', () => {
    expect(Array.from(clsAttention(L0, g, 0))).toEqual([0, 0]);
    expect(Array.from(clsAttention(L0, g, 1))).toEqual([1, 0]);
    expect(Array.from(clsAttention(L0, g, 'mean'))).toEqual([0.5, 0]);
    expect(Array.from(clsAttention(L1, g))).toEqual([0, 1]);
  });

  it('skips every prefix token (cls, distill, registers)', () => {
    // 4 tokens: cls, dist, 2 patches (1 × 2); one head; row 0 = [.1, .2, .3, .4].
    const g4: AttnGeometry = { heads: 1, tokens: 4, prefix: 2, cls: true, rows: 1, cols: 2 };
    const a = new Float32Array(16);
    a.set([0.1, 0.2, 0.3, 0.4], 0);
    const m = clsAttention(a, g4, 0);
    expect(m[0]).toBeCloseTo(0.3, 6);
    expect(m[1]).toBeCloseTo(0.4, 6);
  });

  it('without a cls token averages every query row', () => {
    const noCls = { ...g, cls: false };
    // Head 1 of L0: columns 1, 2 over rows = (1 + 1 + 0) / 3, (0 + 0 + 1) / 3.
    const m = clsAttention(L0, noCls, 1);
    expect(m[0]).toBeCloseTo(2 / 3, 12);
    expect(m[1]).toBeCloseTo(1 / 3, 12);
  });

  it('rejects bad heads, images and shapes with clear messages', () => {
    expect(() => layerMatrix(L0, g, 2)).toThrow(/head 2 out of range: the model has 2 heads/);
    expect(() => layerMatrix(L0, g, 'mean', 1)).toThrow(/image index 1 out of range/);
    expect(() => layerMatrix(L0.subarray(1), g, 'mean')).toThrow(/not a multiple of \[2, 3, 3\]/);
  });
});
