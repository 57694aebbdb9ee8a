// Attention and its gradients in float64 (ops.ts attention, attention_grad): the executable
// definition the flash kernels (codegen/wgsl/flash-attention*.ts) are tested against.

/** Per (b, h): a view of the rows of one head of a [B, H, N, hd] array. */
function heads(shape: readonly number[]): { BH: number; N: number; hd: number } {
  const [B, H, N, hd] = shape;
  return { BH: B * H, N, hd };
}

/** s[j] = (scale·q_i)·k_j for query i of the head at `base`; returns max_j s[j]. */
function scoreRow(
  q: Float64Array,
  k: Float64Array,
  base: number,
  i: number,
  N: number,
  hd: number,
  scale: number,
  s: Float64Array,
): number {
  let m = -Infinity;
  for (let j = 0; j < N; j++) {
    let dot = 0;
    for (let d = 0; d < hd; d++) dot += scale * q[base + i * hd + d] * k[base + j * hd + d];
    s[j] = dot;
    m = Math.max(m, dot);
  }
  return m;
}

/** The probabilities of one head: p[i·N + j] = softmax_j((scale·q_i)·k_j). */
function probabilities(
  q: Float64Array,
  k: Float64Array,
  base: number,
  N: number,
  hd: number,
  scale: number,
): Float64Array {
  const p = new Float64Array(N * N);
  for (let i = 0; i < N; i++) {
    const m = scoreRow(q, k, base, i, N, hd, scale, p.subarray(i * N, (i + 1) * N));
    let l = 0;
    for (let j = 0; j < N; j++) l += p[i * N + j] = Math.exp(p[i * N + j] - m);
    for (let j = 0; j < N; j++) p[i * N + j] /= l;
  }
  return p;
}

export function attention(
  q: Float64Array,
  k: Float64Array,
  v: Float64Array,
  shape: readonly number[],
  scale: number,
): Float64Array {
  const { BH, N, hd } = heads(shape);
  const out = new Float64Array(q.length);
  for (let h = 0; h < BH; h++) {
    const base = h * N * hd;
    const p = probabilities(q, k, base, N, hd, scale);
    for (let i = 0; i < N; i++)
      for (let j = 0; j < N; j++)
        for (let d = 0; d < hd; d++) out[base + i * hd + d] += p[i * N + j] * v[base + j * hd + d];
  }
  return out;
}

/** Per query row: logsumexp_j((scale·q_i)·k_j), [B, H, N]. */
export function attentionLse(
  q: Float64Array,
  k: Float64Array,
  shape: readonly number[],
  scale: number,
): Float64Array {
  const { BH, N, hd } = heads(shape);
  const out = new Float64Array(BH * N);
  const s = new Float64Array(N);
  for (let h = 0; h < BH; h++)
    for (let i = 0; i < N; i++) {
      const m = scoreRow(q, k, h * N * hd, i, N, hd, scale, s);
      let l = 0;
      for (let j = 0; j < N; j++) l += Math.exp(s[j] - m);
      out[h * N + i] = m + Math.log(l);
    }
  return out;
}

/** Per row: Σ_d o·dO over the last axis, [B, H, N]. */
export function attentionDelta(o: Float64Array, dO: Float64Array, hd: number): Float64Array {
  const out = new Float64Array(hd === 0 ? 0 : o.length / hd);
  for (let r = 0; r < out.length; r++) {
    let acc = 0;
    for (let d = 0; d < hd; d++) acc += o[r * hd + d] * dO[r * hd + d];
    out[r] = acc;
  }
  return out;
}

/** dq, dk or dv of attention (ops.ts attention_grad), the probabilities computed exactly. */
export function attentionGrad(
  q: Float64Array,
  k: Float64Array,
  v: Float64Array,
  dO: Float64Array,
  shape: readonly number[],
  scale: number,
  part: 'q' | 'k' | 'v',
): Float64Array {
  const { BH, N, hd } = heads(shape);
  const out = new Float64Array(q.length);
  for (let h = 0; h < BH; h++) {
    const base = h * N * hd;
    const p = probabilities(q, k, base, N, hd, scale);
    // dp[i, j] = dO_i·v_j; D_i = Σ_j p·dp; ds = p·(dp − D).
    const ds = new Float64Array(N * N);
    for (let i = 0; i < N; i++) {
      let D = 0;
      for (let j = 0; j < N; j++) {
        let dp = 0;
        for (let d = 0; d < hd; d++) dp += dO[base + i * hd + d] * v[base + j * hd + d];
        ds[i * N + j] = dp;
        D += p[i * N + j] * dp;
      }
      for (let j = 0; j < N; j++) ds[i * N + j] = p[i * N + j] * (ds[i * N + j] - D);
    }
    for (let i = 0; i < N; i++)
      for (let j = 0; j < N; j++) {
        const [to, from, w] =
          part === 'q'
            ? [i, j, scale * ds[i * N + j]]
            : part === 'k'
              ? [j, i, scale * ds[i * N + j]]
              : [j, i, p[i * N + j]];
        const src = part === 'q' ? k : part === 'k' ? q : dO;
        for (let d = 0; d < hd; d++) out[base + to * hd + d] += w * src[base + from * hd + d];
      }
  }
  return out;
}
