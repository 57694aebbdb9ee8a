// The norm input-gradient kernel (wgsl/norm-grad.ts) against the float64 interpreter's norm_grad
// (compiler/ir/cpu/reduce.ts), and that against a central finite difference of the norm itself,
// so the formula is checked independently of both implementations.
import { describe, expect, it } from 'vitest';
import { renderNormGrad } from '../../compiler/codegen/wgsl/norm-grad.js';
import { layernorm, normGrad, rmsnorm } from '../../compiler/ir/cpu/reduce.js';
import { runKernel } from './gpu-helpers.js';
import { expectClose, randomF32 } from './reference.js';

const f64 = (a: Float32Array) => Float64Array.from(a);

describe('norm_grad', () => {
  it('the float64 formula is the derivative of the norm (finite differences)', () => {
    for (const center of [true, false]) {
      const D = 7;
      const x = f64(randomF32(D, 3, -2, 3));
      const g = f64(randomF32(D, 4));
      const w = f64(randomF32(D, 5, 0.5, 1.5));
      const f = (v: Float64Array) => {
        const y = center ? layernorm(v, D, w, null, 1e-5) : rmsnorm(v, D, w, 1e-5);
        return y.reduce((a, yi, i) => a + yi * g[i], 0);
      };
      const dx = normGrad(x, g, w, D, 1e-5, center);
      const h = 1e-6;
      for (let i = 0; i < D; i++) {
        const p = x.slice();
        const m = x.slice();
        p[i] += h;
        m[i] -= h;
        expect(Math.abs((f(p) - f(m)) / (2 * h) - dx[i]), `${center} ${i}`).toBeLessThan(1e-7);
      }
    }
  });

  type Case = {
    what: string;
    center: boolean;
    weight: boolean;
    rows: number;
    D: number;
    strategy: 'serial' | 'workgroup';
    part: 'input' | 'weight';
  };
  const cases: Case[] = [
    {
      what: 'layernorm with weight, vec4 rows',
      center: true,
      weight: true,
      rows: 9,
      D: 64,
      strategy: 'serial',
      part: 'input',
    },
    {
      what: 'layernorm without weight, odd D',
      center: true,
      weight: false,
      rows: 70,
      D: 13,
      strategy: 'serial',
      part: 'input',
    },
    {
      what: 'rmsnorm with weight',
      center: false,
      weight: true,
      rows: 3,
      D: 40,
      strategy: 'serial',
      part: 'input',
    },
    {
      what: 'layernorm g·x̂',
      center: true,
      weight: false,
      rows: 9,
      D: 64,
      strategy: 'serial',
      part: 'weight',
    },
    {
      what: 'rmsnorm g·x̂, odd D',
      center: false,
      weight: false,
      rows: 5,
      D: 13,
      strategy: 'serial',
      part: 'weight',
    },
    {
      what: 'workgroup strategy, layernorm, D > workgroup',
      center: true,
      weight: true,
      rows: 5,
      D: 40,
      strategy: 'workgroup',
      part: 'input',
    },
    {
      what: 'workgroup strategy, rmsnorm g·x̂',
      center: false,
      weight: false,
      rows: 4,
      D: 24,
      strategy: 'workgroup',
      part: 'weight',
    },
  ];
  for (const c of cases)
    it(`on WebGPU: ${c.what}`, async () => {
      const eps = 1e-6;
      const x = randomF32(c.rows * c.D, 11, -3, 4);
      const g = randomF32(c.rows * c.D, 12);
      const weight = randomF32(c.D, 13, 0.5, 1.5);
      const kernel = renderNormGrad({
        center: c.center,
        eps,
        weight: c.weight,
        part: c.part,
        strategy: c.strategy,
        workgroupSize: c.strategy === 'serial' ? 64 : 8,
        alignD: c.D % 4 === 0 ? 4 : 1,
      });
      const inputs: Record<string, Float32Array> = { x, g };
      if (c.weight) inputs.weight = weight;
      const name = c.part === 'weight' ? 'gxhat' : 'dx';
      const out = await runKernel(kernel, { rows: c.rows, D: c.D }, inputs, {
        [name]: c.rows * c.D,
      });
      const ref = normGrad(
        f64(x),
        f64(g),
        c.weight ? f64(weight) : null,
        c.D,
        eps,
        c.center,
        c.part,
      );
      expectClose(out[name], ref, c.what, { rel: 1e-6 });
    });
});
