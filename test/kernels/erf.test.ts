import { describe, expect, it } from 'vitest';
import { ew, renderElementwise, type UnaryOp } from '../../compiler/codegen/wgsl/elementwise.js';
import { ERF_ONE_FROM, ERF_SMALL_LIMIT, ERF_TAIL_START } from '../../compiler/codegen/wgsl/erf.js';
import { runKernel } from './gpu-helpers.js';
import {
  erf64,
  expectClose,
  gelu64,
  geluTanh64,
  randomF32,
  sigmoid64,
  silu64,
} from './reference.js';

async function apply(op: UnaryOp, x: Float32Array): Promise<Float32Array> {
  const n = x.length;
  const kernel = renderElementwise({
    shape: [n],
    inputs: [{ shape: [n] }],
    outputs: [ew.unary(op, ew.input(0))],
  });
  return (await runKernel(kernel, {}, { in0: x }, { out0: n })).out0;
}

/** The f32 neighbours (−2..+2 ulp) of each point, so branch boundaries are hit exactly. */
function around(points: number[]): number[] {
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  const out: number[] = [];
  for (const p of points) {
    f[0] = p;
    const bits = u[0];
    for (let d = -2; d <= 2; d++) {
      u[0] = bits + d;
      out.push(f[0]);
    }
  }
  return out;
}

describe('erf_f32 and the activations built on it, on WebGPU', () => {
  it('the float64 reference erf matches published values', () => {
    // Abramowitz & Stegun table 7.1 / mpmath, to 16 digits.
    expect(erf64(0.5)).toBeCloseTo(0.5204998778130465, 15);
    expect(erf64(1)).toBeCloseTo(0.8427007929497149, 15);
    expect(erf64(2)).toBeCloseTo(0.9953222650189527, 15);
    expect(erf64(3.5)).toBeCloseTo(0.9999992569016276, 14);
    expect(erf64(-0.1)).toBeCloseTo(-0.1124629160182849, 15);
  });

  it('max |erf_f32 − erf| ≤ 1.5e-7 densely over [−6, 6] and at every branch boundary', async () => {
    const n = 1 << 21;
    const x = new Float32Array(n + 40);
    for (let i = 0; i < n; i++) x[i] = -6 + (12 * i) / (n - 1);
    const edges = [ERF_SMALL_LIMIT, ERF_TAIL_START, ERF_ONE_FROM].flatMap((e) => [e, -e]);
    x.set([...around(edges), 0, -0, 1e-30, -1e-30, 1e-38, -1e-38, 6.5, -6.5, 1e30, -1e30], n);
    const y = await apply('erf', x);
    let worst = 0;
    let at = 0;
    for (let i = 0; i < x.length; i++) {
      const err = Math.abs(y[i] - erf64(x[i]));
      // NaN compares false both ways: treat it as the worst possible error.
      if (Number.isNaN(err) || err > worst) {
        worst = Number.isNaN(err) ? Infinity : err;
        at = x[i];
      }
    }
    expect(worst, `max error ${worst.toExponential(3)} at x = ${at}`).toBeLessThanOrEqual(1.5e-7);
    // Odd symmetry is exact by construction (sign applied last).
    for (let i = 0; i < 1000; i++) expect(y[n - 1 - i]).toBe(-y[i]);
  });

  it('gelu (exact erf) and gelu_tanh match torch semantics in float64', async () => {
    const x = randomF32(20001, 3, -8, 8);
    expectClose(await apply('gelu', x), Array.from(x, gelu64), 'gelu');
    expectClose(await apply('gelu_tanh', x), Array.from(x, geluTanh64), 'gelu_tanh');
  });

  it('tanh_f32 is accurate in relative terms near 0 and saturates without overflow', async () => {
    const x = new Float32Array([
      ...randomF32(4000, 4, -12, 12),
      ...randomF32(1000, 5, -1e-3, 1e-3),
      1e-30,
      -1e-20,
      50,
      -50,
      1000,
      -1e30,
      3e38,
      -3e38,
    ]);
    const y = await apply('tanh', x);
    for (let i = 0; i < x.length; i++) {
      const ref = Math.tanh(x[i]);
      const rel = Math.abs(y[i] - ref) / Math.abs(ref);
      expect(rel, `tanh(${x[i]}) = ${y[i]}, want ${ref}`).toBeLessThanOrEqual(6e-7);
    }
  });

  it('sigmoid, silu, gelu and gelu_tanh stay finite and correct at extreme inputs', async () => {
    const x = new Float32Array([-1e30, -3e4, -100, -20, 20, 100, 3e4, 1e30]);
    const cases: [UnaryOp, (v: number) => number][] = [
      ['sigmoid', sigmoid64],
      ['silu', silu64],
      ['gelu', gelu64],
      ['gelu_tanh', geluTanh64],
    ];
    for (const [op, f] of cases) {
      const y = await apply(op, x);
      x.forEach((v, i) => {
        const ref = f(v);
        expect(Number.isFinite(y[i]), `${op}(${v}) = ${y[i]}`).toBe(true);
        // Absolute error for the tiny tails, relative for the large values.
        expect(Math.abs(y[i] - ref), `${op}(${v}) = ${y[i]}, want ${ref}`).toBeLessThanOrEqual(
          1e-6 * Math.max(1, Math.abs(ref)),
        );
      });
    }
  });
});
