import { describe, expect, it } from 'vitest';
import { f, maxAbsDiff, rand, runOne } from './helpers.js';

describe('reductions', () => {
  const x = rand(24, 7); // [2,3,4]
  const at = (i: number, j: number, k: number) => x[i * 12 + j * 4 + k];
  const dims = [2, 3, 4];
  it.each([0, 1, 2])('sum / mean / max over axis %d', (axis) => {
    const outShape = dims.filter((_, i) => i !== axis);
    const sums: number[] = [];
    const maxs: number[] = [];
    for (let p = 0; p < outShape[0]; p++)
      for (let q = 0; q < outShape[1]; q++) {
        let s = 0;
        let m = -Infinity;
        for (let r = 0; r < dims[axis]; r++) {
          const idx = [p, q];
          idx.splice(axis, 0, r);
          const v = at(idx[0], idx[1], idx[2]);
          s += v;
          m = Math.max(m, v);
        }
        sums.push(s);
        maxs.push(m);
      }
    const run = (op: 'reduce_sum' | 'reduce_mean' | 'reduce_max', keep = false) =>
      runOne({ x: [dims, x] }, (b, v) => b.reduce(op, v.x, axis, keep));
    const s = run('reduce_sum');
    expect(s.shape).toEqual(outShape);
    expect(maxAbsDiff(s.y, sums)).toBeLessThan(1e-15);
    expect(
      maxAbsDiff(
        run('reduce_mean').y,
        sums.map((v) => v / dims[axis]),
      ),
    ).toBeLessThan(1e-15);
    expect(maxAbsDiff(run('reduce_max').y, maxs)).toBe(0);
    expect(run('reduce_sum', true).shape).toEqual(dims.map((d, i) => (i === axis ? 1 : d)));
  });

  it('accepts a negative axis in the builder', () => {
    const r = runOne({ x: [[2, 3], f([1, 2, 3, 4, 5, 6])] }, (b, v) =>
      b.reduce('reduce_sum', v.x, -1),
    );
    expect([...r.y]).toEqual([6, 15]);
  });
});

describe('softmax / logsoftmax', () => {
  it('matches hand values along the last axis', () => {
    const { y } = runOne({ x: [[1, 3], f([1, 2, 3])] }, (b, v) => b.softmax(v.x));
    expect(
      maxAbsDiff(y, [0.09003057317038046, 0.24472847105479767, 0.6652409557748219]),
    ).toBeLessThan(3e-16);
    const l = runOne({ x: [[3], f([1, 2, 3])] }, (b, v) => b.logsoftmax(v.x)).y;
    expect(
      maxAbsDiff(l, [-2.4076059644443806, -1.4076059644443806, -0.4076059644443806]),
    ).toBeLessThan(1e-15);
  });

  it('normalizes along a leading axis and survives huge logits', () => {
    const { y } = runOne({ x: [[2, 2], f([0, 1000, Math.log(3), 1000])] }, (b, v) =>
      b.softmax(v.x, 0),
    );
    expect(maxAbsDiff(y, [0.25, 0.5, 0.75, 0.5])).toBeLessThan(1e-15);
  });
});

describe('norms', () => {
  it('layernorm: biased variance, eps, affine', () => {
    const x = f([1, 2, 3, 4, 10, 10, 10, 10]);
    const plain = runOne({ x: [[2, 4], x] }, (b, v) => b.layernorm(v.x, null, null, 0)).y;
    const z = [-1.3416407864998738, -0.4472135954999579, 0.4472135954999579, 1.3416407864998738];
    expect(maxAbsDiff(plain.slice(0, 4), z)).toBeLessThan(1e-15);
    // A constant row with eps 0 is 0/0, NaN, as in torch.
    expect([...plain.slice(4)].every(Number.isNaN)).toBe(true);
    const w = f([1, 2, 3, 4]);
    const bias = f([0.5, 0, 0, -1]);
    const aff = runOne({ x: [[2, 4], x], w: [[4], w], c: [[4], bias] }, (b, v) =>
      b.layernorm(v.x, v.w, v.c, 0.25),
    ).y;
    // var = 1.25, eps 0.25 → divide by √1.5
    const want = [1, 2, 3, 4].map((xi, i) => ((xi - 2.5) / Math.sqrt(1.5)) * w[i] + bias[i]);
    expect(maxAbsDiff(aff.slice(0, 4), want)).toBeLessThan(1e-15);
    expect([...aff.slice(4)]).toEqual([0.5, 0, 0, -1]);
    const onlyBias = runOne({ x: [[4], x.slice(0, 4)], c: [[4], bias] }, (b, v) =>
      b.layernorm(v.x, null, v.c, 0),
    ).y;
    expect(
      maxAbsDiff(
        onlyBias,
        z.map((zi, i) => zi + bias[i]),
      ),
    ).toBeLessThan(1e-15);
  });

  it('rmsnorm: x / √(mean(x²) + eps) · weight', () => {
    const { y } = runOne({ x: [[2], f([3, 4])], w: [[2], f([1, -2])] }, (b, v) =>
      b.rmsnorm(v.x, v.w, 0),
    );
    expect(maxAbsDiff(y, [0.8485281374238571, -2 * 1.131370849898476])).toBeLessThan(1e-15);
    const e = runOne({ x: [[2], f([3, 4])] }, (b, v) => b.rmsnorm(v.x, null, 3.5)).y;
    expect(maxAbsDiff(e, [0.75, 1])).toBeLessThan(1e-15);
  });
});

describe('cross_entropy and one_hot', () => {
  it('is log 2 for equal logits without smoothing', () => {
    const { y, shape } = runOne({ l: [[1, 2], f([0, 0])], y: [[1], Int32Array.of(0)] }, (b, v) =>
      b.crossEntropy(v.l, v.y, 0),
    );
    expect(shape).toEqual([]);
    expect(y[0]).toBeCloseTo(Math.LN2, 15);
  });

  it('applies label smoothing as torch does, and averages over the batch', () => {
    // Row 0: logits [1,2,3], label 2, s = 0.1:
    //   0.9·0.40760596444438 + 0.1·mean(2.40760596, 1.40760596, 0.40760596) = 0.50760596444438
    // Row 1: logits [0,0,0], label 1: log 3 regardless of smoothing.
    const { y } = runOne(
      { l: [[2, 3], f([1, 2, 3, 0, 0, 0])], y: [[2], Int32Array.of(2, 1)] },
      (b, v) => b.crossEntropy(v.l, v.y, 0.1),
    );
    expect(y[0]).toBeCloseTo((0.5076059644443806 + Math.log(3)) / 2, 15);
  });

  it('rejects an out-of-range label', () => {
    expect(() =>
      runOne({ l: [[1, 2], f([0, 0])], y: [[1], Int32Array.of(2)] }, (b, v) =>
        b.crossEntropy(v.l, v.y, 0),
      ),
    ).toThrow(/label 2 outside \[0, 2\)/);
  });

  it('one_hot puts a 1 at each label', () => {
    const { y, shape } = runOne({ y: [[3], Int32Array.of(2, 0, 1)] }, (b, v) => b.oneHot(v.y, 3));
    expect(shape).toEqual([3, 3]);
    expect([...y]).toEqual([0, 0, 1, 1, 0, 0, 0, 1, 0]);
  });
});
