// The renderer features fusion relies on, each against float64 math on the device: flash
// attention (both K/V tile sources, both layouts), the exact kernel's 'heads' layout, the matmul
// norm prologue (both statistics schedules) and strided-view A rows, strided elementwise inputs.
import { describe, expect, it } from 'vitest';
import { renderAttention } from '../../compiler/codegen/wgsl/attention.js';
import { ew, renderElementwise } from '../../compiler/codegen/wgsl/elementwise.js';
import { renderFlashAttention } from '../../compiler/codegen/wgsl/flash-attention.js';
import { renderMatmul, type MatmulDesc } from '../../compiler/codegen/wgsl/matmul.js';
import { runKernel } from './gpu-helpers.js';
import { expectClose, matmul64, randomF32 } from './reference.js';

type At = (which: 0 | 1 | 2, b: number, t: number, h: number, d: number) => number;

/** float64 attention out [B, N, H·hd] from element accessors. */
function attention64(
  B: number,
  N: number,
  H: number,
  hd: number,
  scale: number,
  at: At,
): Float64Array {
  const D = H * hd;
  const out = new Float64Array(B * N * D);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < N; i++) {
        const s = new Float64Array(N);
        for (let j = 0; j < N; j++) {
          let dot = 0;
          for (let d = 0; d < hd; d++) dot += at(0, b, i, h, d) * at(1, b, j, h, d);
          s[j] = dot * scale;
        }
        const mx = Math.max(...s);
        const p = s.map((v) => Math.exp(v - mx));
        const l = p.reduce((x, y) => x + y, 0);
        for (let d = 0; d < hd; d++) {
          let acc = 0;
          for (let j = 0; j < N; j++) acc += p[j] * at(2, b, j, h, d);
          out[(b * N + i) * D + h * hd + d] = acc / l;
        }
      }
  return out;
}

function inputsFor(
  layout: 'qkv' | 'heads',
  B: number,
  N: number,
  H: number,
  hd: number,
  seed: number,
  r = 1,
): { inputs: Record<string, Float32Array>; at: At } {
  const D = H * hd;
  if (layout === 'qkv') {
    const qkv = randomF32(B * N * 3 * D, seed, -r, r);
    const at: At = (w, b, t, h, d) => qkv[(b * N + t) * 3 * D + w * D + h * hd + d];
    return { inputs: { qkv }, at };
  }
  const [q, k, v] = [0, 1, 2].map((w) => randomF32(B * H * N * hd, seed + w, -r, r));
  const at: At = (w, b, t, h, d) => [q, k, v][w][((b * H + h) * N + t) * hd + d];
  return { inputs: { q, k, v }, at };
}

describe('flash attention on WebGPU vs float64', () => {
  const cases = [
    { layout: 'qkv', kv: 'direct', H: 3, hd: 8, B: 2, N: 37, tileK: 16 },
    { layout: 'qkv', kv: 'workgroup', H: 3, hd: 8, B: 2, N: 37, tileK: 16 },
    { layout: 'heads', kv: 'workgroup', H: 2, hd: 6, B: 1, N: 70, tileK: 8 },
    { layout: 'heads', kv: 'direct', H: 2, hd: 6, B: 3, N: 1, tileK: 4 },
    // A workgroup of 64 spans images 0…3 and part of 4 (17 tokens each): flattened queries.
    { layout: 'qkv', kv: 'direct', H: 4, hd: 16, B: 5, N: 17, tileK: 2 },
    { layout: 'qkv', kv: 'workgroup', H: 1, hd: 16, B: 1, N: 130, tileK: 32, scale: 6, range: 2 },
  ] as const;
  for (const [n, c] of cases.entries()) {
    it(`${c.layout} ${c.kv} H=${c.H} hd=${c.hd} B=${c.B} N=${c.N} tile ${c.tileK}`, async () => {
      const scale = 'scale' in c ? c.scale : 1 / Math.sqrt(c.hd);
      const { inputs, at } = inputsFor(
        c.layout,
        c.B,
        c.N,
        c.H,
        c.hd,
        100 + n,
        'range' in c ? c.range : 1,
      );
      const kernel = renderFlashAttention({
        layout: c.layout,
        heads: c.H,
        headDim: c.hd,
        kv: c.kv,
        tileK: c.tileK,
        ...('scale' in c ? { scale } : {}),
      });
      const out = await runKernel(kernel, { N: c.N, batch: c.B }, inputs, {
        out: c.B * c.N * c.H * c.hd,
      });
      expectClose(out.out, attention64(c.B, c.N, c.H, c.hd, scale, at), kernel.name);
    });
  }

  for (const kv of ['direct', 'workgroup'] as const) {
    it(`flash ${kv} writes the probabilities too (second sweep)`, async () => {
      const [B, N, H, hd] = [2, 13, 2, 8];
      const { inputs, at } = inputsFor('heads', B, N, H, hd, 17);
      const kernel = renderFlashAttention({
        layout: 'heads',
        heads: H,
        headDim: hd,
        kv,
        tileK: 4,
        probs: true,
      });
      const out = await runKernel(kernel, { N, batch: B }, inputs, {
        out: B * N * H * hd,
        probs: B * H * N * N,
      });
      expectClose(out.out, attention64(B, N, H, hd, 1 / Math.sqrt(hd), at), kernel.name);
      const ref = new Float64Array(B * H * N * N);
      for (let b = 0; b < B; b++)
        for (let h = 0; h < H; h++)
          for (let i = 0; i < N; i++) {
            const s = Array.from({ length: N }, (_, j) => {
              let d = 0;
              for (let e = 0; e < hd; e++) d += at(0, b, i, h, e) * at(1, b, j, h, e);
              return d / Math.sqrt(hd);
            });
            const mx = Math.max(...s);
            const l = s.reduce((a, v) => a + Math.exp(v - mx), 0);
            s.forEach((v, j) => (ref[((b * H + h) * N + i) * N + j] = Math.exp(v - mx) / l));
          }
      expectClose(out.probs, ref, `${kernel.name} probs`);
    });
  }

  it("exact kernel reads the 'heads' layout and writes probabilities", async () => {
    const [B, N, H, hd] = [2, 11, 2, 4];
    const { inputs, at } = inputsFor('heads', B, N, H, hd, 7);
    const kernel = renderAttention({ layout: 'heads', heads: H, headDim: hd, probs: true });
    const out = await runKernel(kernel, { N, batch: B }, inputs, {
      out: B * N * H * hd,
      probs: B * H * N * N,
    });
    expectClose(out.out, attention64(B, N, H, hd, 1 / Math.sqrt(hd), at), kernel.name);
    for (let row = 0; row < B * H * N; row++) {
      const s = out.probs.subarray(row * N, (row + 1) * N).reduce((a, v) => a + v, 0);
      expect(Math.abs(s - 1)).toBeLessThan(1e-5);
    }
  });
});

/** float64 LayerNorm / RMSNorm of rows [R, K] (torch semantics). */
function norm64(
  x: ArrayLike<number>,
  R: number,
  K: number,
  ln: boolean,
  eps: number,
  w?: Float32Array,
  b?: Float32Array,
): Float32Array {
  const y = new Float32Array(R * K);
  for (let r = 0; r < R; r++) {
    const row = Array.from({ length: K }, (_, k) => x[r * K + k]);
    const mean = ln ? row.reduce((a, v) => a + v, 0) / K : 0;
    const v = row.reduce((a, e) => a + (e - mean) ** 2, 0) / K;
    const rs = 1 / Math.sqrt(v + eps);
    // The reference keeps float64 precision; stored as f32 only to feed matmul64.
    for (let k = 0; k < K; k++)
      y[r * K + k] = (row[k] - mean) * rs * (w ? w[k] : 1) + (b ? b[k] : 0);
  }
  return y;
}

describe('matmul prologues on WebGPU vs float64', () => {
  const cases: {
    what: string;
    desc: MatmulDesc;
    batch: number;
    M: number;
    N: number;
    K: number;
  }[] = [
    {
      what: 'layernorm (workgroup stats) · Wᵀ + bias, offset rows (mean 3)',
      desc: {
        transB: true,
        batchB: 'shared',
        bias: true,
        norm: { kind: 'layernorm', eps: 1e-6, weight: true, bias: true },
        align: { n: 4, k: 4 },
      },
      batch: 1,
      M: 45,
      N: 20,
      K: 24,
    },
    {
      what: 'layernorm (invocation stats), batch 2, K=10 scalar',
      desc: {
        transB: true,
        batchB: 'shared',
        norm: { kind: 'layernorm', eps: 1e-5, weight: true, bias: true, stats: 'invocation' },
      },
      batch: 2,
      M: 9,
      N: 7,
      K: 10,
    },
    {
      what: 'rmsnorm without weight, gelu epilogue',
      desc: {
        transB: true,
        batchB: 'shared',
        activation: 'gelu',
        norm: { kind: 'rmsnorm', eps: 1e-6, weight: false, bias: false },
        align: { k: 4 },
      },
      batch: 1,
      M: 70,
      N: 33,
      K: 16,
    },
  ];
  for (const [n, c] of cases.entries()) {
    it(c.what, async () => {
      const { batch, M, N, K, desc } = c;
      const a = randomF32(batch * M * K, 300 + n, 2, 4);
      const b = randomF32(N * K, 400 + n);
      const nw = randomF32(K, 500 + n, 0.5, 1.5);
      const nb = randomF32(K, 600 + n);
      const bias = desc.bias ? randomF32(N, 700 + n) : undefined;
      const ln = desc.norm!.kind === 'layernorm';
      const x = norm64(
        a,
        batch * M,
        K,
        ln,
        desc.norm!.eps,
        desc.norm!.weight ? nw : undefined,
        desc.norm!.bias ? nb : undefined,
      );
      const ref = matmul64(x, b, {
        batch: 1,
        M: batch * M,
        N,
        K,
        transB: true,
        bias,
        act: desc.activation ?? 'none',
      });
      const inputs: Record<string, Float32Array> = { a, b };
      if (desc.norm!.weight) inputs.norm_weight = nw;
      if (desc.norm!.bias) inputs.norm_bias = nb;
      if (bias) inputs.bias = bias;
      const kernel = renderMatmul(desc);
      const out = await runKernel(kernel, { batch: 1, M: batch * M, N, K }, inputs, {
        c: batch * M * N,
      });
      // x went through f32 storage in the reference: compare at the kernel tests' tolerance.
      expectClose(out.c, ref, `${c.what} (${kernel.name})`);
    });
  }

  it('A as a strided view: the class token of each image (offset rows)', async () => {
    const [B, T, K, N] = [3, 5, 8, 6];
    const tokens = randomF32(B * T * K, 11);
    const w = randomF32(N * K, 12);
    const rows = new Float32Array(B * K);
    for (let b = 0; b < B; b++) rows.set(tokens.subarray((b * T + 1) * K, (b * T + 2) * K), b * K);
    const ref = matmul64(rows, w, { batch: 1, M: B, N, K, transB: true });
    for (const align of [4, 1] as const) {
      const kernel = renderMatmul({
        transB: true,
        batchB: 'shared',
        aView: { offset: K, rowStride: T * K },
        align: { k: align },
      });
      const out = await runKernel(
        kernel,
        { batch: 1, M: B, N, K },
        { a: tokens, b: w },
        { c: B * N },
      );
      expectClose(out.c, ref, kernel.name);
    }
  });
});

describe('matmul row-norm epilogue on WebGPU vs float64', () => {
  const cases = [
    {
      what: 'x + (A·Wᵀ + b), then LayerNorm of it (vec4, ragged M)',
      kind: 'layernorm',
      M: 37,
      N: 24,
      K: 12,
      tiling: { rows: 4, cols: 4, workgroup: [6, 2] },
    },
    {
      what: 'LayerNorm, fewer invocations (3×2) than rows per workgroup (16)',
      kind: 'layernorm',
      M: 34,
      N: 24,
      K: 24,
      tiling: { rows: 8, cols: 8, workgroup: [3, 2] },
    },
    {
      what: 'RMSNorm, N = 10 scalar, wider tile than the row',
      kind: 'rmsnorm',
      M: 9,
      N: 10,
      K: 7,
      tiling: { rows: 2, cols: 4, workgroup: [4, 3] },
    },
  ] as const;
  for (const [n, c] of cases.entries()) {
    it(c.what, async () => {
      const { M, N, K } = c;
      const ln = c.kind === 'layernorm';
      const a = randomF32(M * K, 800 + n);
      const b = randomF32(N * K, 810 + n);
      const bias = randomF32(N, 820 + n);
      const residual = randomF32(M * N, 830 + n, 1, 3);
      const lw = randomF32(N, 840 + n, 0.5, 1.5);
      const lb = randomF32(N, 850 + n);
      const kernel = renderMatmul({
        transB: true, bias: true, residual: 'buffer', tiling: { ...c.tiling, workgroup: [...c.tiling.workgroup] },
        align: { n: N % 4 === 0 ? 4 : 1, k: K % 4 === 0 ? 4 : 1 },
        rowNorm: { kind: c.kind, eps: 1e-5, weight: true, bias: ln, width: N },
      }); // prettier-ignore
      const inputs: Record<string, Float32Array> = { a, b, bias, residual, ln_weight: lw };
      if (ln) inputs.ln_bias = lb;
      const out = await runKernel(kernel, { batch: 1, M, N, K }, inputs, {
        c: M * N,
        normed: M * N,
      });
      const x = matmul64(a, b, { batch: 1, M, N, K, transB: true, bias, residual });
      expectClose(out.c, x, kernel.name);
      const ref = new Float64Array(M * N);
      for (let r = 0; r < M; r++) {
        const row = x.subarray(r * N, (r + 1) * N);
        const mean = ln ? row.reduce((s, v) => s + v, 0) / N : 0;
        const rs = 1 / Math.sqrt(row.reduce((s, v) => s + (v - mean) ** 2, 0) / N + 1e-5);
        for (let j = 0; j < N; j++)
          ref[r * N + j] = (row[j] - mean) * rs * lw[j] + (ln ? lb[j] : 0);
      }
      expectClose(out.normed, ref, `${kernel.name} normed`);
    });
  }
});

describe('elementwise strided inputs', () => {
  it('reads a transposed slice and a broadcast view in place', async () => {
    // x [2, 3, 4] viewed as transpose(0, 2, 1)[.., 1:3, ..] → [2, 2, 3]; y [3] broadcast.
    const x = randomF32(24, 21);
    const y = randomF32(3, 22);
    const kernel = renderElementwise({
      shape: [2, 2, 3],
      inputs: [{ shape: [2, 2, 3], strides: [12, 1, 4], offset: 1 }, { shape: [3] }],
      outputs: [ew.mul(ew.input(0), ew.input(1))],
    });
    const out = await runKernel(kernel, {}, { in0: x, in1: y }, { out0: 12 });
    const ref = new Float64Array(12);
    for (let a = 0; a < 2; a++)
      for (let b = 0; b < 2; b++)
        for (let c = 0; c < 3; c++) ref[(a * 2 + b) * 3 + c] = x[a * 12 + (b + 1) + c * 4] * y[c];
    expectClose(out.out0, ref, kernel.name);
  });
});
