import { describe, expect, it } from 'vitest';
import {
  RNG_WGSL,
  dropThreshold,
  isDropped,
  lowbias32,
  randomBits,
  streamKey,
} from '../../compiler/ir/rng.js';
import { runOne } from './helpers.js';

describe('counter-based RNG', () => {
  it('lowbias32 matches an independent u32 computation', () => {
    // Python: x ^= x>>16; x = x*0x7feb352d & M; x ^= x>>15; x = x*0x846ca68b & M; x ^= x>>16
    const want = [0, 1753845952, 3507691905, 3861431939, 1734902346, 2834422664];
    expect([0, 1, 2, 0xdeadbeef, 0xffffffff, 123456789].map(lowbias32)).toEqual(want);
  });

  it('randomBits = lowbias32(lowbias32(index) ^ lowbias32(seed ^ lowbias32(stream ^ 0x9e3779b9)))', () => {
    // Same Python reference; an i32 seed of -1 is the u32 0xffffffff.
    expect(randomBits(0, 0, 0)).toBe(2488251732);
    expect(randomBits(42, 3, 7)).toBe(3387062418);
    expect(randomBits(-1, 5, 1000)).toBe(2809053960);
    expect(randomBits(2 ** 31 - 1, 0, 123)).toBe(958567640);
    expect(streamKey(-1, 5)).toBe(streamKey(0xffffffff, 5));
  });

  it('drops with the requested probability, independently across seeds and streams', () => {
    const n = 200_000;
    const rate = 0.3;
    let a = 0;
    let both = 0;
    let bothStream = 0;
    for (let i = 0; i < n; i++) {
      const d = isDropped(7, 1, i, rate);
      if (d) a++;
      if (d && isDropped(8, 1, i, rate)) both++;
      if (d && isDropped(7, 2, i, rate)) bothStream++;
    }
    // Binomial std at n = 2e5 is ~0.001; 5 sigma bounds.
    expect(Math.abs(a / n - rate)).toBeLessThan(0.005);
    expect(Math.abs(both / n - rate * rate)).toBeLessThan(0.005);
    expect(Math.abs(bothStream / n - rate * rate)).toBeLessThan(0.005);
  });

  it('thresholds: rate 0 drops nothing, rates near 1 clamp to u32', () => {
    expect(dropThreshold(0)).toBe(0);
    expect(dropThreshold(0.5)).toBe(2 ** 31);
    expect(dropThreshold(1 - 2 ** -40)).toBe(2 ** 32 - 1);
    expect(() => dropThreshold(1)).toThrow(/outside/);
  });

  it('ships WGSL using the same constants', () => {
    for (const c of ['0x7feb352du', '0x846ca68bu', '0x9e3779b9u', '>> 16u', '>> 15u'])
      expect(RNG_WGSL).toContain(c);
  });
});

describe('dropout and drop_path in the interpreter', () => {
  const n = 4000;
  const x = Float64Array.from({ length: n }, (_, i) => 1 + (i % 7));
  const run = (
    op: 'dropout' | 'drop_path',
    shape: number[],
    seed: number,
    rate: number,
    stream = 0,
  ) =>
    runOne({ x: [shape, x], seed: [[], Int32Array.of(seed)] }, (b, v) =>
      op === 'dropout'
        ? b.dropout(v.x, v.seed, rate, stream)
        : b.dropPath(v.x, v.seed, rate, stream),
    ).y;

  it('dropout zeroes exactly the elements isDropped names and scales the rest by 1/(1-p)', () => {
    const y = run('dropout', [n], 123, 0.25, 4);
    let dropped = 0;
    for (let i = 0; i < n; i++) {
      if (isDropped(123, 4, i, 0.25)) {
        expect(y[i]).toBe(0);
        dropped++;
      } else expect(y[i]).toBe(x[i] * (1 / 0.75));
    }
    expect(dropped / n).toBeGreaterThan(0.2);
    expect(dropped / n).toBeLessThan(0.3);
  });

  it('is deterministic per seed and changes with it', () => {
    expect([...run('dropout', [n], 5, 0.5)]).toEqual([...run('dropout', [n], 5, 0.5)]);
    expect([...run('dropout', [n], 5, 0.5)]).not.toEqual([...run('dropout', [n], 6, 0.5)]);
    expect([...run('dropout', [n], 5, 0)]).toEqual([...x]);
  });

  it('drop_path drops whole samples (axis 0) with timm scaling', () => {
    const y = run('drop_path', [400, 10], 9, 0.4, 2);
    let droppedSamples = 0;
    for (let s = 0; s < 400; s++) {
      const row = y.slice(s * 10, s * 10 + 10);
      const drop = isDropped(9, 2, s, 0.4);
      droppedSamples += drop ? 1 : 0;
      for (let j = 0; j < 10; j++) expect(row[j]).toBe(drop ? 0 : x[s * 10 + j] * (1 / 0.6));
    }
    expect(droppedSamples).toBeGreaterThan(120);
    expect(droppedSamples).toBeLessThan(200);
  });
});
