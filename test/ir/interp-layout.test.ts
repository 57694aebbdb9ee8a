import { describe, expect, it } from 'vitest';
import { f, maxAbsDiff, rand, runOne } from './helpers.js';

const iota = (n: number) => Float64Array.from({ length: n }, (_, i) => i);

describe('layout ops', () => {
  it('reshape keeps row-major order and infers -1', () => {
    const { y, shape } = runOne({ x: [[2, 3], iota(6)] }, (b, v) => b.reshape(v.x, [3, -1]));
    expect(shape).toEqual([3, 2]);
    expect([...y]).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('transpose matches index arithmetic for a rank-4 permutation', () => {
    const dims = [2, 3, 4, 5];
    const x = iota(120);
    const perm = [2, 0, 3, 1];
    const { y, shape } = runOne({ x: [dims, x] }, (b, v) => b.transpose(v.x, perm));
    expect(shape).toEqual([4, 2, 5, 3]);
    const want: number[] = [];
    for (let c = 0; c < 4; c++)
      for (let a = 0; a < 2; a++)
        for (let d = 0; d < 5; d++)
          for (let bb = 0; bb < 3; bb++) want.push(((a * 3 + bb) * 4 + c) * 5 + d);
    expect([...y]).toEqual(want);
  });

  it('slice takes [start, end) along an axis', () => {
    const { y, shape } = runOne({ x: [[2, 4, 2], iota(16)] }, (b, v) => b.slice(v.x, 1, 1, 3));
    expect(shape).toEqual([2, 2, 2]);
    expect([...y]).toEqual([2, 3, 4, 5, 10, 11, 12, 13]);
  });

  it('concat joins in input order along an axis', () => {
    const { y, shape } = runOne({ a: [[2, 1], f([1, 2])], b: [[2, 2], f([3, 4, 5, 6])] }, (g, v) =>
      g.concat([v.a, v.b], 1),
    );
    expect(shape).toEqual([2, 3]);
    expect([...y]).toEqual([1, 3, 4, 2, 5, 6]);
    const z = runOne({ a: [[1, 2], f([1, 2])], b: [[2, 2], f([3, 4, 5, 6])] }, (g, v) =>
      g.concat([v.a, v.b], 0),
    ).y;
    expect([...z]).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('broadcast_to repeats along size-1 and new leading axes', () => {
    const { y, shape } = runOne({ x: [[1, 3], f([1, 2, 3])] }, (b, v) =>
      b.broadcastTo(v.x, [2, 2, 3]),
    );
    expect(shape).toEqual([2, 2, 3]);
    expect([...y]).toEqual([1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3]);
    const c = runOne({ x: [[2, 1], f([7, 8])] }, (b, v) => b.broadcastTo(v.x, [2, 3])).y;
    expect([...c]).toEqual([7, 7, 7, 8, 8, 8]);
  });

  it('im2col · reshaped conv weight equals a stride-ph×pw Conv2d', () => {
    // x [2, 3, 4, 6], patch 2×3, D = 5: compare with a direct convolution loop.
    const [B, C, H, W, ph, pw, D] = [2, 3, 4, 6, 2, 3, 5];
    const x = rand(B * C * H * W, 11);
    const w = rand(D * C * ph * pw, 12);
    const { y, shape } = runOne({ x: [[B, C, H, W], x], w: [[D, C, ph, pw], w] }, (b, v) =>
      b.matmul(b.im2col(v.x, ph, pw), b.reshape(v.w, [D, C * ph * pw]), { transB: true }),
    );
    const rows = H / ph;
    const cols = W / pw;
    expect(shape).toEqual([B, rows * cols, D]);
    const want: number[] = [];
    for (let bi = 0; bi < B; bi++)
      for (let r = 0; r < rows; r++)
        for (let c = 0; c < cols; c++)
          for (let d = 0; d < D; d++) {
            let s = 0;
            for (let ch = 0; ch < C; ch++)
              for (let i = 0; i < ph; i++)
                for (let j = 0; j < pw; j++)
                  s +=
                    w[((d * C + ch) * ph + i) * pw + j] *
                    x[((bi * C + ch) * H + r * ph + i) * W + c * pw + j];
            want.push(s);
          }
    expect(maxAbsDiff(y, want)).toBeLessThan(1e-14);
  });

  it('im2col orders each patch vector (channel, i, j)', () => {
    // 1 image, 2 channels, 2×2 pixels, one 2×2 patch: the vector is channel 0 row-major, then channel 1.
    const { y, shape } = runOne({ x: [[1, 2, 2, 2], iota(8)] }, (b, v) => b.im2col(v.x, 2, 2));
    expect(shape).toEqual([1, 1, 8]);
    expect([...y]).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    // 1 channel 2×4, patches 2×2: patch 0 = columns 0-1, patch 1 = columns 2-3.
    const p = runOne({ x: [[1, 1, 2, 4], iota(8)] }, (b, v) => b.im2col(v.x, 2, 2)).y;
    expect([...p]).toEqual([0, 1, 4, 5, 2, 3, 6, 7]);
  });

  it('slices and concatenates i32 values too', () => {
    const r = runOne({ y: [[4], Int32Array.of(5, 6, 7, 8)] }, (b, v) =>
      b.oneHot(b.slice(v.y, 0, 1, 3), 9),
    );
    expect([...r.y].map((v, i) => (v ? i % 9 : -1)).filter((v) => v >= 0)).toEqual([6, 7]);
  });
});
