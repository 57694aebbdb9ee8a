import { describe, expect, it } from 'vitest';
import { f, maxAbsDiff, rand, runOne } from './helpers.js';

/**
 * Independent reference: C[batch, m, n] = Σ_k A[..., m, k]·B[..., k, n] by explicit index
 * arithmetic on the un-transposed logical operands, batch dims broadcast.
 */
function naive(
  a: Float64Array,
  aShape: number[],
  b: Float64Array,
  bShape: number[],
  transA: boolean,
  transB: boolean,
): { out: number[]; shape: number[] } {
  const ab = aShape.slice(0, -2);
  const bb = bShape.slice(0, -2);
  const r = Math.max(ab.length, bb.length);
  const pad = (s: number[]) => [...new Array(r - s.length).fill(1), ...s];
  const [pa, pb] = [pad(ab), pad(bb)];
  const batch = pa.map((d, i) => Math.max(d, pb[i]));
  const [ar, ac] = aShape.slice(-2);
  const [br, bc] = bShape.slice(-2);
  const M = transA ? ac : ar;
  const K = transA ? ar : ac;
  const N = transB ? br : bc;
  const nb = batch.reduce((p, d) => p * d, 1);
  const out: number[] = [];
  for (let t = 0; t < nb; t++) {
    // Unravel t over batch, then ravel into each operand with broadcasting.
    let rem = t;
    const idx = batch.map((_, i) => {
      const s = batch.slice(i + 1).reduce((p, d) => p * d, 1);
      const v = Math.floor(rem / s);
      rem -= v * s;
      return v;
    });
    const off = (p: number[]) => p.reduce((acc, d, i) => acc * d + (d === 1 ? 0 : idx[i]), 0);
    const ao = off(pa) * ar * ac;
    const bo = off(pb) * br * bc;
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = transA ? a[ao + k * ac + m] : a[ao + m * ac + k];
          const bv = transB ? b[bo + n * bc + k] : b[bo + k * bc + n];
          s += av * bv;
        }
        out.push(s);
      }
  }
  return { out, shape: [...batch, M, N] };
}

describe('matmul', () => {
  it('multiplies a hand-checked 2x2 pair', () => {
    const { y } = runOne({ a: [[2, 2], f([1, 2, 3, 4])], b: [[2, 2], f([5, 6, 7, 8])] }, (g, v) =>
      g.matmul(v.a, v.b),
    );
    expect([...y]).toEqual([19, 22, 43, 50]);
    const t = runOne({ a: [[2, 2], f([1, 2, 3, 4])], b: [[2, 2], f([5, 6, 7, 8])] }, (g, v) =>
      g.matmul(v.a, v.b, { transA: true, transB: true }),
    ).y;
    // Aᵀ·Bᵀ = [[1,3],[2,4]]·[[5,7],[6,8]]
    expect([...t]).toEqual([23, 31, 34, 46]);
  });

  const cases: [string, number[], number[], boolean, boolean][] = [
    ['plain, edges not multiple of 4', [5, 3], [3, 7], false, false],
    ['tiles exactly', [8, 6], [6, 8], false, false],
    ['transB, weight broadcast over batch', [2, 9, 6], [5, 6], false, true],
    ['transA', [2, 7, 5], [2, 7, 6], true, false],
    ['both transposed, batch broadcast both ways', [3, 1, 4, 5], [1, 2, 6, 4], true, true],
    ['rank-4 attention-like', [2, 3, 5, 4], [2, 3, 5, 4], false, true],
    ['single row and column', [1, 13], [13, 1], false, false],
  ];
  it.each(cases)('%s', (_label, aShape, bShape, transA, transB) => {
    const a = rand(
      aShape.reduce((p, d) => p * d, 1),
      3,
    );
    const b = rand(
      bShape.reduce((p, d) => p * d, 1),
      4,
    );
    const want = naive(a, aShape, b, bShape, transA, transB);
    const { y, shape } = runOne({ a: [aShape, a], b: [bShape, b] }, (g, v) =>
      g.matmul(v.a, v.b, { transA, transB }),
    );
    expect(shape).toEqual(want.shape);
    expect(maxAbsDiff(y, want.out)).toBeLessThan(1e-14);
  });
});
