import { describe, expect, it } from 'vitest';
import { renderAttention, type AttentionDesc } from '../../compiler/codegen/wgsl/attention.js';
import { runKernel } from './gpu-helpers.js';
import { expectClose, randomF32 } from './reference.js';

/**
 * float64 attention from q, k, v accessors: out [B, N, H·hd] (heads merged), probs [B, H, N, N].
 * Softmax is computed in float64 with max subtraction, as the mathematical definition.
 */
function attention64(
  B: number,
  N: number,
  H: number,
  hd: number,
  scale: number,
  at: (which: 0 | 1 | 2, b: number, t: number, h: number, d: number) => number,
): { out: Float64Array; probs: Float64Array } {
  const D = H * hd;
  const out = new Float64Array(B * N * D);
  const probs = new Float64Array(B * H * N * N);
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
        let l = 0;
        for (let j = 0; j < N; j++) l += Math.exp(s[j] - mx);
        for (let j = 0; j < N; j++) probs[((b * H + h) * N + i) * N + j] = Math.exp(s[j] - mx) / l;
        for (let d = 0; d < hd; d++) {
          let acc = 0;
          for (let j = 0; j < N; j++)
            acc += probs[((b * H + h) * N + i) * N + j] * at(2, b, j, h, d);
          out[(b * N + i) * D + h * hd + d] = acc;
        }
      }
  return { out, probs };
}

interface Case {
  what: string;
  desc: AttentionDesc;
  B: number;
  N: number;
  /** Input range; a wide range with a large scale makes raw exp(score) overflow f32. */
  range?: number;
}

async function check(c: Case, seed: number): Promise<void> {
  const { desc, B, N } = c;
  const H = desc.heads;
  const hd = desc.headDim;
  const D = H * hd;
  const scale = desc.scale ?? 1 / Math.sqrt(hd);
  const r = c.range ?? 1;
  const kernel = renderAttention(desc);
  const inputs: Record<string, Float32Array> = {};
  let at: (w: 0 | 1 | 2, b: number, t: number, h: number, d: number) => number;
  if (desc.layout === 'qkv') {
    const qkv = randomF32(B * N * 3 * D, seed, -r, r);
    inputs.qkv = qkv;
    at = (w, b, t, h, d) => qkv[(b * N + t) * 3 * D + w * D + h * hd + d];
  } else {
    const qkv = [0, 1, 2].map((w) => randomF32(B * N * D, seed + w, -r, r));
    [inputs.q, inputs.k, inputs.v] = qkv;
    at = (w, b, t, h, d) => qkv[w][((b * N + t) * H + h) * hd + d];
  }
  const ref = attention64(B, N, H, hd, scale, at);
  const outputs: Record<string, number> = { out: B * N * D };
  if (desc.probs) outputs.probs = B * H * N * N;
  const out = await runKernel(kernel, { N, batch: B }, inputs, outputs);
  expectClose(out.out, ref.out, kernel.name);
  if (desc.probs) {
    expectClose(out.probs, ref.probs, `${kernel.name} probs`);
    // Each probability row sums to 1.
    for (let row = 0; row < B * H * N; row++) {
      const s = out.probs.subarray(row * N, (row + 1) * N).reduce((a, v) => a + v, 0);
      expect(Math.abs(s - 1)).toBeLessThan(1e-5);
    }
  }
}

describe('attention kernel on WebGPU vs float64', () => {
  const cases: Case[] = [
    {
      what: 'fused qkv [B, N, 3, H, hd], vec4 head dim, with probabilities',
      desc: { layout: 'qkv', heads: 3, headDim: 8, probs: true },
      B: 2,
      N: 5,
    },
    {
      what: 'separate q, k, v, head dim 6 (scalar), with probabilities',
      desc: { layout: 'separate', heads: 2, headDim: 6, probs: true },
      B: 1,
      N: 17,
    },
    {
      what: 'N=70 spans two workgroups, batch 3',
      desc: { layout: 'qkv', heads: 2, headDim: 4 },
      B: 3,
      N: 70,
    },
    {
      what: 'scores up to ±300: stable softmax (raw exp would overflow)',
      desc: { layout: 'separate', heads: 1, headDim: 8, scale: 12 },
      B: 1,
      N: 9,
      range: 2,
    },
    {
      what: 'single token (N=1) and head dim 1',
      desc: { layout: 'qkv', heads: 4, headDim: 1, probs: true },
      B: 2,
      N: 1,
    },
  ];
  cases.forEach((c, k) => {
    it(c.what, async () => check(c, 500 + 10 * k));
  });
});
