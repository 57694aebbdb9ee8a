// Position-embedding similarity: the patch part of pos_embed, cosine similarity, and the pixels
// of the grid figure for a 2 × 2 grid of orthogonal embeddings (an identity pattern).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sincos2dTable } from '../../compiler/ir/consts.js';
import type { Spec } from '../../compiler/spec/types.js';
import { getPixel, mapColor } from '../../runtime/image/index.js';
import {
  cosineSimilarity,
  patchPosEmbed,
  similarityFigure,
  similarityLayout,
} from '../../runtime/viz/posembed.js';

const fixtureSpec = (c: string) =>
  JSON.parse(readFileSync(`test/fixtures/${c}/spec.json`, 'utf8')) as Spec;

describe('patch position embeddings', () => {
  it('skips the prefix rows of a pos_embed that covers them', () => {
    const spec = fixtureSpec('pre_gelu_cls'); // 4 × 4 grid + cls, D = 24, prefix pos
    const D = spec.width;
    const pe = Float32Array.from({ length: 17 * D }, (_, i) => i);
    const t = patchPosEmbed(spec, new Map([['pos_embed', pe]]));
    expect([t.rows, t.cols, t.dim, t.kind]).toEqual([4, 4, D, 'learned']);
    expect(t.values.length).toBe(16 * D);
    expect(t.values[0]).toBe(D); // row 1 of pos_embed: the first patch
  });

  it('takes every row when pos_embed covers patches only (no_prefix)', () => {
    const spec = fixtureSpec('gray_nonsquare_no_prefix'); // 3 × 4 grid, cls + 1 register
    const pe = Float32Array.from({ length: 12 * spec.width }, (_, i) => i + 1);
    const t = patchPosEmbed(spec, new Map([['pos_embed', pe]]));
    expect([t.rows, t.cols]).toEqual([3, 4]);
    expect(t.values[0]).toBe(1);
    expect(() => patchPosEmbed(spec, new Map([['pos_embed', pe.subarray(1)]]))).toThrow(
      /expected \[1, 12, 24\]/,
    );
  });

  it('uses the fixed sincos2d table and refuses pos none', () => {
    const spec = fixtureSpec('sincos_pre_norm'); // 4 × 3 grid, D = 24
    const t = patchPosEmbed(spec);
    expect(t.kind).toBe('sincos2d');
    expect(Array.from(t.values)).toEqual(Array.from(sincos2dTable(4, 3, 24, 10000)));
    expect(() => patchPosEmbed(fixtureSpec('rmsnorm_swiglu'))).toThrow(
      /no position embedding \(pos none\)/,
    );
  });
});

describe('cosine similarity', () => {
  it('is 1 on the diagonal, the cosine elsewhere, NaN for a zero vector', () => {
    const s = cosineSimilarity([1, 0, 1, 1, 0, 0], 3, 2);
    expect(s[0]).toBe(1);
    expect(s[1]).toBeCloseTo(Math.SQRT1_2, 12);
    expect(s[3]).toBeCloseTo(Math.SQRT1_2, 12);
    expect(s[4]).toBeCloseTo(1, 12);
    expect(s[2]).toBeNaN();
  });
});

describe('similarity figure', () => {
  it('draws orthogonal embeddings of a 2 × 2 grid as an identity pattern', () => {
    // Four orthogonal unit vectors: similarity I (1 on the diagonal, 0 elsewhere).
    const e = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];
    const sim = cosineSimilarity(e, 4, 4);
    const opts = { cell: 3, gap: 1, colormap: 'viridis' as const };
    const L = similarityLayout(2, 2, opts);
    const fig = similarityFigure(sim, 2, 2, opts);
    expect([fig.width, fig.height]).toEqual([L.width, L.height]);
    expect([L.mapWidth, L.mapHeight]).toEqual([6, 6]);
    const one = mapColor(1, 'viridis'); // +1 → top of the colormap
    const zero = mapColor(0.5, 'viridis'); // 0 → the middle, (0 + 1) / 2
    for (let q = 0; q < 4; q++) {
      const mx = L.x0 + (q % 2) * (L.mapWidth + L.gap);
      const my = L.y0 + Math.floor(q / 2) * (L.mapHeight + L.gap);
      for (let p = 0; p < 4; p++)
        for (const [dx, dy] of [
          [0, 0],
          [2, 2],
        ]) {
          const x = mx + (p % 2) * 3 + dx;
          const y = my + Math.floor(p / 2) * 3 + dy;
          expect(getPixel(fig, x, y), `map ${q} cell ${p}`).toEqual(p === q ? one : zero);
        }
    }
    // The separators between small maps stay white.
    expect(getPixel(fig, L.x0 + L.mapWidth, L.y0)).toEqual([255, 255, 255]);
    expect(getPixel(fig, L.x0, L.y0 + L.mapHeight)).toEqual([255, 255, 255]);
    // Colour bar: +1 at its top, −1 at its bottom.
    const bar = L.bar!;
    expect(getPixel(fig, bar.x, bar.y)).toEqual(one);
    expect(getPixel(fig, bar.x, bar.y + bar.height - 1)).toEqual(mapColor(0, 'viridis'));
  });

  it('without labels and colour bar is exactly the grid plus margins', () => {
    const L = similarityLayout(2, 3, { cell: 2, gap: 1, labels: false, colorbar: false });
    expect([L.x0, L.y0]).toEqual([4, 4]);
    // 3 maps of 6 px + 2 gaps across, 2 maps of 4 px + 1 gap down, 4 px margins.
    expect([L.width, L.height]).toEqual([4 + 20 + 4, 4 + 9 + 4]);
  });
});
