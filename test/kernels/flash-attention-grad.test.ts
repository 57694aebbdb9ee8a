// The attention backward kernels (wgsl/flash-attention-grad.ts), fed by the forward kernel's
// output and logsumexp (wgsl/flash-attention.ts with lse), against the float64 interpreter's
// attention_grad (compiler/ir/cpu/attention.ts), and that against central finite differences of
// attention itself, so the formulas are checked independently of both implementations.
import { describe, expect, it } from 'vitest';
import {
  type FlashAttentionGradDesc,
  renderFlashAttentionGrad,
} from '../../compiler/codegen/wgsl/flash-attention-grad.js';
import { renderFlashAttention } from '../../compiler/codegen/wgsl/flash-attention.js';
import {
  attention,
  attentionDelta,
  attentionGrad,
  attentionLse,
} from '../../compiler/ir/cpu/attention.js';
import { runKernel } from './gpu-helpers.js';
import { expectClose, randomF32 } from './reference.js';

const f64 = (a: Float32Array) => Float64Array.from(a);

describe('attention_grad in float64', () => {
  it('is the derivative of attention (finite differences); lse is logsumexp, delta Σ o·dO', () => {
    const shape = [2, 2, 5, 3];
    const n = 2 * 2 * 5 * 3;
    const scale = 0.7;
    const x = [0, 1, 2].map((s) => f64(randomF32(n, 20 + s, -2, 2)));
    const dO = f64(randomF32(n, 24));
    const f = (xs: Float64Array[]) =>
      attention(xs[0], xs[1], xs[2], shape, scale).reduce((a, y, i) => a + y * dO[i], 0);
    const h = 1e-6;
    (['q', 'k', 'v'] as const).forEach((part, which) => {
      const grad = attentionGrad(x[0], x[1], x[2], dO, shape, scale, part);
      for (let i = 0; i < n; i += 7) {
        const p = x.map((a) => a.slice());
        const m = x.map((a) => a.slice());
        p[which][i] += h;
        m[which][i] -= h;
        expect(Math.abs((f(p) - f(m)) / (2 * h) - grad[i]), `${part}[${i}]`).toBeLessThan(1e-7);
      }
    });
    // Row (b, h, i) = (1, 0, 3): L = log Σ_j exp(s_j), D = Σ_d o·dO.
    const row = 2 * 5 + 3;
    const lse = attentionLse(x[0], x[1], shape, scale);
    let l = 0;
    for (let j = 0; j < 5; j++) {
      let s = 0;
      for (let d = 0; d < 3; d++) s += scale * x[0][row * 3 + d] * x[1][2 * 5 * 3 + j * 3 + d];
      l += Math.exp(s);
    }
    expect(lse[row]).toBeCloseTo(Math.log(l), 12);
    const o = attention(x[0], x[1], x[2], shape, scale);
    const delta = attentionDelta(o, dO, 3);
    let dot = 0;
    for (let d = 0; d < 3; d++) dot += o[row * 3 + d] * dO[row * 3 + d];
    expect(delta[row]).toBeCloseTo(dot, 14);
  });
});

interface Case {
  what: string;
  B: number;
  H: number;
  N: number;
  hd: number;
  input: FlashAttentionGradDesc['input'];
  dout: FlashAttentionGradDesc['dout'];
  output: FlashAttentionGradDesc['output'];
  tile?: number;
}

const CASES: Case[] = [
  {
    what: 'qkv in, merged dO, qkv out (training layout)',
    B: 2,
    H: 3,
    N: 17,
    hd: 8,
    input: 'qkv',
    dout: 'merged',
    output: 'qkv',
  },
  {
    what: 'separate heads everywhere, odd head dim',
    B: 1,
    H: 2,
    N: 9,
    hd: 5,
    input: 'heads',
    dout: 'heads',
    output: 'heads',
  },
  {
    what: 'B·N past one workgroup, tile 3 (N not a multiple)',
    B: 3,
    H: 2,
    N: 50,
    hd: 16,
    input: 'qkv',
    dout: 'heads',
    output: 'heads',
    tile: 3,
  },
  {
    what: 'tile 1, heads in, merged dO, qkv out',
    B: 2,
    H: 1,
    N: 7,
    hd: 4,
    input: 'heads',
    dout: 'merged',
    output: 'qkv',
    tile: 1,
  },
];

/** Index of element (b, h, t, d) in a layout; slot s of [B, N, 3, H, hd] for 'qkv'. */
function index(
  layout: 'qkv' | 'heads' | 'merged',
  c: Case,
  s: number,
  b: number,
  h: number,
  t: number,
  d: number,
): number {
  const { H, N, hd } = c;
  const D = H * hd;
  if (layout === 'qkv') return (b * N + t) * 3 * D + s * D + h * hd + d;
  if (layout === 'merged') return (b * N + t) * D + h * hd + d;
  return ((b * H + h) * N + t) * hd + d;
}

function forEachElement(
  c: Case,
  fn: (b: number, h: number, t: number, d: number, i: number) => void,
): void {
  let i = 0;
  for (let b = 0; b < c.B; b++)
    for (let h = 0; h < c.H; h++)
      for (let t = 0; t < c.N; t++) for (let d = 0; d < c.hd; d++) fn(b, h, t, d, i++);
}

describe('flash attention backward kernels on WebGPU', () => {
  for (const c of CASES)
    it(c.what, async () => {
      const n = c.B * c.H * c.N * c.hd;
      const rows = c.B * c.H * c.N;
      const scale = c.hd ** -0.5;
      // A wide range: the probabilities are far from uniform (scores span several units).
      const heads = [0, 1, 2].map((s) => randomF32(n, 40 + s, -2.5, 2.5));
      const dO = randomF32(n, 44);
      const pack = (layout: 'qkv' | 'merged', parts: Float32Array[]) => {
        const out = new Float32Array(layout === 'qkv' ? 3 * n : n);
        parts.forEach((p, s) =>
          forEachElement(c, (b, h, t, d, i) => (out[index(layout, c, s, b, h, t, d)] = p[i])),
        );
        return out;
      };
      const qkv: Record<string, Float32Array> =
        c.input === 'qkv' ? { qkv: pack('qkv', heads) } : { q: heads[0], k: heads[1], v: heads[2] };
      const sizes = { N: c.N, batch: c.B };
      // The forward kernel writes o [B, N, D] and the logsumexp the backward reads.
      const fwd = await runKernel(
        renderFlashAttention({ layout: c.input, heads: c.H, headDim: c.hd, scale, lse: true }),
        sizes,
        qkv,
        { out: n, lse: rows },
      );
      // o in dO's layout ('heads': [B, H, N, hd] out of the merged [B, N, D]).
      const oHeads = new Float32Array(n);
      forEachElement(
        c,
        (b, h, t, d, i) => (oHeads[i] = fwd.out[index('merged', c, 0, b, h, t, d)]),
      );
      const desc = {
        heads: c.H,
        headDim: c.hd,
        scale,
        input: c.input,
        dout: c.dout,
        o: c.dout,
        output: c.output,
        tile: c.tile,
      };
      const douts = c.dout === 'merged' ? pack('merged', [dO]) : dO;
      const outQ: Record<string, number> = c.output === 'qkv' ? { dqkv: 3 * n } : { dq: n };
      const a = await runKernel(
        renderFlashAttentionGrad({ ...desc, stage: 'q' }),
        sizes,
        { ...qkv, dout: douts, o: c.dout === 'merged' ? fwd.out : oHeads, lse: fwd.lse },
        { ...outQ, delta: rows },
      );
      const outKV: Record<string, number> = c.output === 'qkv' ? { dqkv: 3 * n } : { dk: n, dv: n };
      const kv = await runKernel(
        renderFlashAttentionGrad({ ...desc, stage: 'kv' }),
        sizes,
        { ...qkv, dout: douts, lse: fwd.lse, delta: a.delta },
        outKV,
      );
      const unpack = (buf: Float32Array, s: number) => {
        if (c.output === 'heads') return buf;
        const out = new Float32Array(n);
        forEachElement(c, (b, h, t, d, i) => (out[i] = buf[index('qkv', c, s, b, h, t, d)]));
        return out;
      };
      const got = {
        q: unpack(c.output === 'qkv' ? a.dqkv : a.dq, 0),
        k: unpack(c.output === 'qkv' ? kv.dqkv : kv.dk, 1),
        v: unpack(c.output === 'qkv' ? kv.dqkv : kv.dv, 2),
      };
      const shape = [c.B, c.H, c.N, c.hd];
      const [q, k, v] = heads.map(f64);
      expectClose(fwd.lse, attentionLse(q, k, shape, scale), `${c.what} lse`, { rel: 1e-6 });
      const o64 = attention(q, k, v, shape, scale);
      expectClose(a.delta, attentionDelta(o64, f64(dO), c.hd), `${c.what} delta`, { rel: 1e-5 });
      for (const part of ['q', 'k', 'v'] as const)
        expectClose(
          got[part],
          attentionGrad(q, k, v, f64(dO), shape, scale, part),
          `${c.what} d${part}`,
          {
            rel: 2e-6,
          },
        );
      // The probabilities are far from uniform: most rows' largest is over twice 1/N.
      const peaks: number[] = [];
      for (let r = 0; r < rows; r++) {
        const [bh, i] = [Math.floor(r / c.N), r % c.N];
        const s = Array.from({ length: c.N }, (_, j) => {
          let dot = 0;
          for (let d = 0; d < c.hd; d++)
            dot += q[(bh * c.N + i) * c.hd + d] * k[(bh * c.N + j) * c.hd + d];
          return scale * dot;
        });
        const m = Math.max(...s);
        peaks.push(1 / s.reduce((acc, x) => acc + Math.exp(x - m), 0));
      }
      expect(peaks.filter((p) => p > 2 / c.N).length).toBeGreaterThan(peaks.length / 2);
    });
});
