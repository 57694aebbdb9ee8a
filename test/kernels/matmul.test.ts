import { describe, expect, it } from 'vitest';
import { renderMatmul, type MatmulDesc } from '../../compiler/codegen/wgsl/matmul.js';
import { runKernel } from './gpu-helpers.js';
import { expectClose, im2col64, matmul64, randomF32, type Act64 } from './reference.js';

interface Case {
  what: string;
  desc: MatmulDesc;
  batch: number;
  M: number;
  N: number;
  K: number;
}

/** Runs one matmul on the device and checks it against the float64 reference. */
async function check(c: Case, seed: number): Promise<void> {
  const { desc, batch, M, N, K } = c;
  const sharedA = desc.batchA === 'shared';
  const sharedB = desc.batchB === 'shared';
  const a = randomF32((sharedA ? 1 : batch) * M * K, seed);
  const b = randomF32((sharedB ? 1 : batch) * K * N, seed + 1);
  const bias = desc.bias ? randomF32(N, seed + 2) : undefined;
  const scale = desc.scale ? randomF32(N, seed + 3, 0.5, 1.5) : undefined;
  const residual =
    desc.residual && desc.residual !== 'none' ? randomF32(batch * M * N, seed + 4) : undefined;
  const ref = matmul64(a, b, {
    batch,
    M,
    N,
    K,
    transA: desc.transA,
    transB: desc.transB,
    sharedA,
    sharedB,
    bias,
    act: (desc.activation ?? 'none') as Act64,
    scale,
    residual,
  });
  const kernel = renderMatmul(desc);
  const inputs: Record<string, Float32Array> = { a, b };
  if (bias) inputs.bias = bias;
  if (scale) inputs.scale = scale;
  if (desc.residual === 'buffer') inputs.residual = residual!;
  const out = await runKernel(kernel, { batch, M, N, K }, inputs, {
    c: desc.residual === 'in_place' ? residual!.slice() : batch * M * N,
  });
  expectClose(out.c, ref, `${c.what} (${kernel.name})`);
}

describe('matmul kernel on WebGPU vs float64', () => {
  const cases: Case[] = [
    { what: 'A·B ragged, K=3', desc: {}, batch: 1, M: 5, N: 7, K: 3 },
    {
      what: 'A·Bᵀ + bias, gelu, + residual (vec4 K and C)',
      desc: {
        transB: true,
        bias: true,
        activation: 'gelu',
        residual: 'buffer',
        align: { n: 4, k: 4 },
      },
      batch: 1,
      M: 37,
      N: 20,
      K: 24,
    },
    {
      what: 'Aᵀ·B batched (vec4 along M)',
      desc: { transA: true, align: { m: 4 } },
      batch: 2,
      M: 12,
      N: 9,
      K: 10,
    },
    {
      what: 'batch 3, shared weight Bᵀ, N=1',
      desc: { transB: true, batchB: 'shared', bias: true },
      batch: 3,
      M: 33,
      N: 1,
      K: 17,
    },
    {
      what: 'A·B with vec4 B rows and A along K',
      desc: { align: { n: 4, k: 4 }, scale: true },
      batch: 1,
      M: 19,
      N: 36,
      K: 40,
    },
    {
      what: 'Aᵀ·Bᵀ, shared A, scalar everywhere',
      desc: { transA: true, transB: true, batchA: 'shared' },
      batch: 2,
      M: 11,
      N: 6,
      K: 13,
    },
    {
      what: 'in-place residual, ragged K tail with vec4 C',
      desc: { transB: true, residual: 'in_place', align: { n: 4 } },
      batch: 1,
      M: 10,
      N: 12,
      K: 7,
    },
    {
      what: 'tiling 2×8 in a 4×16 workgroup',
      desc: {
        transB: true,
        align: { k: 4, n: 4 },
        tiling: { rows: 2, cols: 8, workgroup: [4, 16] },
      },
      batch: 2,
      M: 45,
      N: 40,
      K: 16,
    },
    {
      what: 'tiling 3×5 (not multiples of 4)',
      desc: { bias: true, tiling: { rows: 3, cols: 5, workgroup: [4, 4] } },
      batch: 1,
      M: 14,
      N: 23,
      K: 9,
    },
  ];
  cases.forEach((c, i) => {
    it(c.what, async () => check(c, 100 + 10 * i));
  });

  for (const act of ['gelu_tanh', 'relu', 'silu'] as const) {
    it(`epilogue bias → ${act} → layer scale`, async () =>
      check(
        {
          what: act,
          desc: { transB: true, bias: true, activation: act, scale: true },
          batch: 1,
          M: 9,
          N: 8,
          K: 8,
        },
        300,
      ));
  }
});

describe('matmul im2col prologue (patch embedding) vs explicit im2col', () => {
  const cases = [
    {
      what: 'patch 4×4, vec4 rows (pw % 4 == 0)',
      B: 2,
      C: 3,
      H: 8,
      W: 12,
      ph: 4,
      pw: 4,
      D: 10,
      align: 4 as const,
    },
    { what: 'patch 3×3, scalar', B: 2, C: 2, H: 6, W: 9, ph: 3, pw: 3, D: 5, align: 1 as const },
  ];
  for (const c of cases) {
    it(c.what, async () => {
      const { B, C, H, W, ph, pw, D } = c;
      const img = randomF32(B * C * H * W, 7);
      const weight = randomF32(D * C * ph * pw, 8); // Conv2d weight [D, C, ph, pw]
      const bias = randomF32(D, 9);
      const P = (H / ph) * (W / pw);
      const K = C * ph * pw;
      const patches = im2col64(img, B, C, H, W, ph, pw);
      const ref = matmul64(patches, weight, { batch: 1, M: B * P, N: D, K, transB: true, bias });
      const kernel = renderMatmul({
        transB: true,
        bias: true,
        im2col: { channels: C, height: H, width: W, patchH: ph, patchW: pw },
        align: { k: c.align },
      });
      const out = await runKernel(
        kernel,
        { M: B * P, N: D, K },
        { a: img, b: weight, bias },
        { c: B * P * D },
      );
      expectClose(out.c, ref, kernel.name);
    });
  }
});

describe('matmul dispatch checks the promises the text relies on', () => {
  it('rejects sizes that break alignment or im2col geometry', () => {
    const k = renderMatmul({ transB: true, align: { k: 4 } });
    expect(() => k.dispatch({ M: 4, N: 4, K: 6 })).toThrow(/align\.k/);
    expect(k.dispatch({ M: 65, N: 33, K: 8, batch: 2 })).toEqual([2, 3, 2]);
    const im = renderMatmul({
      transB: true,
      im2col: { channels: 1, height: 4, width: 4, patchH: 2, patchW: 2 },
    });
    expect(() => im.dispatch({ M: 4, N: 3, K: 5 })).toThrow(/C·ph·pw/);
    expect(() => im.dispatch({ M: 6, N: 3, K: 4 })).toThrow(/images/);
  });
});
