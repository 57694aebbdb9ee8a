// Attention and its gradients in float64 (ops.ts attention, attention_grad): the executable
// definition the flash kernels (codegen/wgsl/flash-attention*.ts) are tested against.

/** Per (b, h): a view of the rows of one head of a [B, H, N, hd] array. */
function heads(shape: readonly number[]): { BH: number; N: number; hd: number } {
  const [B, H, N, hd] = shape;
  return { BH: B * H, N, hd };
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
    let m = -Infinity;
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let d = 0; d < hd; d++) s += scale * q[base + i * hd + d] * k[base + j * hd + d];
      p[i * N + j] = s;
      m = Math.max(m, s);
    }
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

export function attentionGrad(
  q: Float64Array,
  k: Float64Array,
  v: Float64Array,
  dO: Float64Array,
  shape: readonly number[],
  scale: number,
  part: 'stats' | 'q' | 'k' | 'v',
): Float64Array {
  const { BH, N, hd } = heads(shape);
  const out = new Float64Array(part === 'stats' ? BH * N * 2 : q.length);
  for (let h = 0; h < BH; h++) {
    const base = h * N * hd;
    const p = probabilities(q, k, base, N, hd, scale);
    // dp[i, j] = dO_i·v_j; D_i = Σ_j p·dp; ds = p·(dp − D).
    const ds = new Float64Array(N * N);
    for (let i = 0; i < N; i++) {
      let D = 0;
      let m = -Infinity;
      for (let j = 0; j < N; j++) {
        let dp = 0;
        let s = 0;
        for (let d = 0; d < hd; d++) {
          dp += dO[base + i * hd + d] * v[base + j * hd + d];
          s += scale * q[base + i * hd + d] * k[base + j * hd + d];
        }
        ds[i * N + j] = dp;
        D += p[i * N + j] * dp;
        m = Math.max(m, s);
      }
      for (let j = 0; j < N; j++) ds[i * N + j] = p[i * N + j] * (ds[i * N + j] - D);
      if (part === 'stats') {
        let l = 0;
        for (let j = 0; j < N; j++) {
          let s = 0;
          for (let d = 0; d < hd; d++) s += scale * q[base + i * hd + d] * k[base + j * hd + d];
          l += Math.exp(s - m);
        }
        out[(h * N + i) * 2] = m + Math.log(l);
        out[(h * N + i) * 2 + 1] = D;
      }
    }
    if (part === 'stats') continue;
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
