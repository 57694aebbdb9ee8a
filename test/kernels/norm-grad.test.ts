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

  const cases = [
    { what: 'layernorm with weight, vec4 rows', center: true, weight: true, rows: 9, D: 64 },
    { what: 'layernorm without weight, odd D', center: true, weight: false, rows: 5, D: 13 },
    { what: 'rmsnorm with weight, D > workgroup', center: false, weight: true, rows: 3, D: 40 },
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
        workgroupSize: 8,
        alignD: c.D % 4 === 0 ? 4 : 1,
      });
      const inputs: Record<string, Float32Array> = { x, g };
      if (c.weight) inputs.weight = weight;
      const out = await runKernel(kernel, { rows: c.rows, D: c.D }, inputs, { dx: c.rows * c.D });
      const ref = normGrad(f64(x), f64(g), c.weight ? f64(weight) : null, c.D, eps, c.center);
      expectClose(out.dx, ref, c.what, { rel: 1e-6 });
    });
});
