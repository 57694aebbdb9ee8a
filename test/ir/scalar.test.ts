import { describe, expect, it } from 'vitest';
import { erf, erfc, gelu, geluTanh, sigmoid } from '../../compiler/ir/cpu/scalar.js';

// Reference values: CPython math.erf / math.erfc (glibc, correctly rounded or within 1 ulp),
// which agree with published high-precision tables (erf(1) = 0.84270079294971486934…).
const ERF: [number, number][] = [
  [0, 0],
  [1e-10, 1.1283791670955126e-10],
  [0.1, 0.1124629160182849],
  [0.3, 0.3286267594591274],
  [0.46875, 0.49261347321793797],
  [0.5, 0.5204998778130465],
  [0.75, 0.7111556336535151],
  [1, 0.8427007929497149],
  [1.5, 0.9661051464753108],
  [2, 0.9953222650189527],
  [2.5, 0.999593047982555],
  [3, 0.9999779095030014],
  [3.9, 0.9999999652077514],
  [4, 0.9999999845827421],
  [4.5, 0.9999999998033839],
  [5, 0.9999999999984626],
  [6, 1],
  [-0.2, -0.22270258921047847],
  [-1.7, -0.9837904585907745],
  [-4.2, -0.9999999971445058],
];

const ERFC: [number, number][] = [
  [0.5, 0.4795001221869535],
  [1, 0.15729920705028513],
  [2, 0.004677734981047265],
  [3, 2.2090496998585438e-5],
  [4, 1.541725790028002e-8],
  [5, 1.5374597944280351e-12],
  [6, 2.1519736712498916e-17],
  [8, 1.1224297172982928e-29],
  [10, 2.088487583762545e-45],
  [-1, 1.842700792949715],
];

describe('erf (Cody)', () => {
  it.each(ERF)('erf(%d) to 1e-15', (x, want) => {
    if (want === 0) expect(erf(x)).toBe(0);
    else expect(Math.abs(erf(x) - want) / Math.abs(want)).toBeLessThan(1e-15);
  });

  it.each(ERFC)('erfc(%d) to 1e-14 relative (tails included)', (x, want) => {
    expect(Math.abs(erfc(x) - want) / want).toBeLessThan(1e-14);
  });

  it('is odd, saturates, and passes NaN through', () => {
    for (const x of [0.01, 0.4, 0.47, 1.3, 3.3, 4.01, 7]) expect(erf(-x)).toBe(-erf(x));
    expect(erf(30)).toBe(1);
    expect(erf(-Infinity)).toBe(-1);
    expect(erf(NaN)).toBeNaN();
  });

  it('matches the derivative 2/√π·e^(-x²) by central differences', () => {
    for (const x of [-2.2, -0.47, 0.2, 0.46875, 1.1, 3.7, 4.3]) {
      const h = 1e-5;
      const d = (erf(x + h) - erf(x - h)) / (2 * h);
      expect(d).toBeCloseTo((2 / Math.sqrt(Math.PI)) * Math.exp(-x * x), 9);
    }
  });
});

describe('gelu', () => {
  it('exact gelu is x·Φ(x)', () => {
    // Φ values from CPython: 0.5 * math.erfc(-x / math.sqrt(2)).
    expect(gelu(1)).toBeCloseTo(0.8413447460685429, 15);
    expect(gelu(-3)).toBeCloseTo(-3 * 0.0013498980316300957, 16);
    expect(gelu(0)).toBe(0);
    expect(gelu(-40)).toBe(-0);
    expect(gelu(12)).toBe(12);
  });

  it('tanh gelu follows its formula and differs from the exact one', () => {
    // CPython: 0.5*x*(1+math.tanh(math.sqrt(2/math.pi)*(x+0.044715*x**3))) at x = 1 and -2.
    expect(geluTanh(1)).toBeCloseTo(0.8411919906082768, 15);
    expect(geluTanh(-2)).toBeCloseTo(-0.04540230591222, 13);
    expect(Math.abs(geluTanh(1) - gelu(1))).toBeGreaterThan(1e-4);
  });

  it('sigmoid is stable at both ends', () => {
    expect(sigmoid(0)).toBe(0.5);
    expect(sigmoid(-800)).toBe(0);
    expect(sigmoid(800)).toBe(1);
    expect(sigmoid(2)).toBeCloseTo(0.8807970779778823, 15);
  });
});
