import { describe, expect, it } from 'vitest';
import { UNARY_OPS } from '../../compiler/ir/ops.js';
import { f, maxAbsDiff, rand, runOne } from './helpers.js';

const xs = f([-3, -1.5, -0.25, 0, 0.3, 1, 2.5]);
const pos = f([0.01, 0.5, 1, 2, 9]);

// Each unary op against its textbook formula, written out here independently.
const FORMULAS: Record<string, [Float64Array, (x: number) => number]> = {
  neg: [xs, (x) => -x],
  exp: [xs, (x) => Math.exp(x)],
  log: [pos, (x) => Math.log(x)],
  sqrt: [pos, (x) => Math.sqrt(x)],
  rsqrt: [pos, (x) => 1 / Math.sqrt(x)],
  recip: [xs.filter((x) => x !== 0), (x) => 1 / x],
  square: [xs, (x) => x * x],
  tanh: [xs, (x) => Math.tanh(x)],
  relu: [xs, (x) => Math.max(x, 0)],
  sigmoid: [xs, (x) => 1 / (1 + Math.exp(-x))],
  silu: [xs, (x) => x / (1 + Math.exp(-x))],
  gelu_tanh: [
    xs,
    (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
  ],
  step: [xs, (x) => (x > 0 ? 1 : 0)],
};

describe('unary ops', () => {
  it.each(Object.keys(FORMULAS))('%s matches its formula', (op) => {
    const [input, fn] = FORMULAS[op];
    const { y, shape } = runOne({ x: [[input.length], input] }, (b, v) =>
      b.unary(op as 'neg', v.x),
    );
    expect(shape).toEqual([input.length]);
    expect(maxAbsDiff(y, input.map(fn))).toBeLessThan(1e-15);
  });

  it('erf and gelu agree with tabulated values', () => {
    // CPython math.erf(±0.5, 2) and x·Φ(x) at 1 and -1.
    const e = runOne({ x: [[3], f([0.5, -0.5, 2])] }, (b, v) => b.unary('erf', v.x)).y;
    expect(
      maxAbsDiff(e, [0.5204998778130465, -0.5204998778130465, 0.9953222650189527]),
    ).toBeLessThan(3e-16);
    const g = runOne({ x: [[2], f([1, -1])] }, (b, v) => b.unary('gelu', v.x)).y;
    expect(maxAbsDiff(g, [0.8413447460685429, -0.15865525393145707])).toBeLessThan(3e-16);
  });

  it('scale multiplies by its factor', () => {
    expect([...runOne({ x: [[3], f([1, -2, 0.5])] }, (b, v) => b.scale(v.x, -3)).y]).toEqual([
      -3, 6, -1.5,
    ]);
  });

  it('covers every unary op', () => {
    const tested = new Set([...Object.keys(FORMULAS), 'erf', 'gelu', 'scale']);
    expect(UNARY_OPS.filter((op) => !tested.has(op))).toEqual([]);
  });
});

describe('binary ops with numpy broadcasting', () => {
  // a [2,1,3] op b [4,1] → [2,4,3]; expected by explicit index arithmetic.
  const a = rand(6, 1);
  const b = rand(4, 2).map((v) => v + 2); // away from 0 for div
  const expected = (fn: (x: number, y: number) => number) => {
    const out: number[] = [];
    for (let i = 0; i < 2; i++)
      for (let j = 0; j < 4; j++) for (let k = 0; k < 3; k++) out.push(fn(a[i * 3 + k], b[j]));
    return out;
  };
  const cases: [string, (x: number, y: number) => number][] = [
    ['add', (x, y) => x + y],
    ['sub', (x, y) => x - y],
    ['mul', (x, y) => x * y],
    ['div', (x, y) => x / y],
    ['max', (x, y) => Math.max(x, y)],
  ];
  it.each(cases)('%s', (op, fn) => {
    const { y, shape } = runOne({ a: [[2, 1, 3], a], b: [[4, 1], b] }, (g, v) =>
      g.binary(op as 'add', v.a, v.b),
    );
    expect(shape).toEqual([2, 4, 3]);
    expect(maxAbsDiff(y, expected(fn))).toBe(0);
  });

  it('broadcasts a scalar and a bias row, and same shapes directly', () => {
    const x = f([1, 2, 3, 4, 5, 6]);
    const s = runOne({ x: [[2, 3], x], s: [[], f([10])] }, (g, v) => g.binary('sub', v.x, v.s)).y;
    expect([...s]).toEqual([-9, -8, -7, -6, -5, -4]);
    const r = runOne({ x: [[2, 3], x], r: [[3], f([1, 0, -1])] }, (g, v) =>
      g.binary('mul', v.x, v.r),
    ).y;
    expect([...r]).toEqual([1, 0, -3, 4, 0, -6]);
    const m = runOne({ x: [[2, 3], x], z: [[2, 3], f([6, 5, 4, 3, 2, 1])] }, (g, v) =>
      g.binary('max', v.x, v.z),
    ).y;
    expect([...m]).toEqual([6, 5, 4, 4, 5, 6]);
  });

  it('broadcasts the left operand too ([3,1] op [1,2])', () => {
    const { y, shape } = runOne({ a: [[3, 1], f([1, 2, 3])], b: [[1, 2], f([10, 20])] }, (g, v) =>
      g.binary('add', v.a, v.b),
    );
    expect(shape).toEqual([3, 2]);
    expect([...y]).toEqual([11, 21, 12, 22, 13, 23]);
  });
});
