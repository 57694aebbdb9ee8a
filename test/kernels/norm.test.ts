import { describe, expect, it } from 'vitest';
import { renderNorm, type NormDesc } from '../../compiler/codegen/wgsl/norm.js';
import { runKernel } from './gpu-helpers.js';
import { closeness, expectClose, randomF32 } from './reference.js';

interface NormRef {
  y: Float64Array;
  mean: Float64Array;
  rstd: Float64Array;
}

/** torch.nn.LayerNorm / RMSNorm semantics in float64 (biased variance, eps inside the sqrt). */
function norm64(
  x: Float32Array,
  rows: number,
  D: number,
  kind: 'layernorm' | 'rmsnorm',
  eps: number,
  weight?: Float32Array,
  bias?: Float32Array,
): NormRef {
  const y = new Float64Array(rows * D);
  const mean = new Float64Array(rows);
  const rstd = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let mu = 0;
    if (kind === 'layernorm') {
      for (let i = 0; i < D; i++) mu += x[r * D + i];
      mu /= D;
    }
    let q = 0;
    for (let i = 0; i < D; i++) q += (x[r * D + i] - mu) ** 2;
    const rs = 1 / Math.sqrt(q / D + eps);
    mean[r] = mu;
    rstd[r] = rs;
    for (let i = 0; i < D; i++) {
      let v = (x[r * D + i] - mu) * rs;
      if (weight) v *= weight[i];
      if (bias) v += bias[i];
      y[r * D + i] = v;
    }
  }
  return { y, mean, rstd };
}

async function runNorm(desc: NormDesc, rows: number, D: number, x: Float32Array, seed: number) {
  const ln = desc.kind === 'layernorm';
  const weight = (desc.weight ?? true) ? randomF32(D, seed + 1, 0.5, 1.5) : undefined;
  const bias = (desc.bias ?? ln) ? randomF32(D, seed + 2) : undefined;
  const kernel = renderNorm(desc);
  const inputs: Record<string, Float32Array> = { x };
  if (weight) inputs.weight = weight;
  if (bias) inputs.bias = bias;
  const outputs: Record<string, number> = { y: rows * D };
  if (desc.saveStats) {
    outputs.rstd = rows;
    if (ln) outputs.mean = rows;
  }
  const out = await runKernel(kernel, { rows, D }, inputs, outputs);
  const ref = norm64(x, rows, D, desc.kind, desc.eps, weight, bias);
  return { out, ref, kernel };
}

describe('norm kernels on WebGPU vs float64', () => {
  const cases: { what: string; desc: NormDesc; rows: number; D: number }[] = [
    {
      what: 'layernorm, weight+bias, vec4 rows, stats',
      desc: { kind: 'layernorm', eps: 1e-6, saveStats: true, alignD: 4 },
      rows: 7,
      D: 48,
    },
    {
      what: 'layernorm without affine, odd D=13',
      desc: { kind: 'layernorm', eps: 1e-5, weight: false, bias: false },
      rows: 5,
      D: 13,
    },
    {
      what: 'layernorm, D=1000 > workgroup 256',
      desc: { kind: 'layernorm', eps: 1e-12, workgroupSize: 256 },
      rows: 3,
      D: 1000,
    },
    {
      what: 'rmsnorm, weight, stats, scalar D=10',
      desc: { kind: 'rmsnorm', eps: 1e-6, saveStats: true },
      rows: 9,
      D: 10,
    },
    {
      what: 'rmsnorm, vec4, no weight',
      desc: { kind: 'rmsnorm', eps: 1e-6, weight: false, alignD: 4 },
      rows: 4,
      D: 32,
    },
  ];
  cases.forEach((c, k) => {
    it(c.what, async () => {
      const x = randomF32(c.rows * c.D, 40 + k, -2, 2);
      const { out, ref, kernel } = await runNorm(c.desc, c.rows, c.D, x, 50 + k);
      expectClose(out.y, ref.y, kernel.name);
      if (c.desc.saveStats) {
        expectClose(out.rstd, ref.rstd, `${kernel.name} rstd`);
        if (c.desc.kind === 'layernorm') {
          // mean can be near 0: judge its error against the row scale, not its own size.
          const err = Math.max(...out.mean.map((m, r) => Math.abs(m - ref.mean[r])));
          expect(err).toBeLessThan(1e-6);
        }
      }
    });
  });

  it('more rows than one grid dimension holds (70000 rows fold into x·y)', async () => {
    const rows = 70000;
    const D = 4;
    const x = randomF32(rows * D, 61, -3, 3);
    const { out, ref, kernel } = await runNorm(
      { kind: 'layernorm', eps: 1e-6, workgroupSize: 4, alignD: 4 },
      rows,
      D,
      x,
      62,
    );
    expect(kernel.dispatch({ rows, D })[1]).toBe(2);
    expectClose(out.y, ref.y, kernel.name);
  });

  it('subtracts the mean before squaring: rows with |mean| ≫ std stay accurate', async () => {
    // Rows centred at 300 with std ≈ 0.6: E[x²] − mean² would cancel ~5 of f32's 7 digits.
    const rows = 4;
    const D = 64;
    const x = randomF32(rows * D, 70, 299, 301);
    const { out, ref, kernel } = await runNorm({ kind: 'layernorm', eps: 1e-6 }, rows, D, x, 71);
    // The f32 mean itself carries ~300·2^-24 of error relative to std 0.6, hence 1e-4 here.
    const c = closeness(out.y, ref.y);
    expect(c.relNorm, kernel.name).toBeLessThan(1e-4);
  });
});
