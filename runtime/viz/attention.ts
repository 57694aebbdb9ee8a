/**
 * Reading attention probabilities as pictures: the CLS token's attention over the patches, per
 * head or averaged over heads, and attention rollout (Abnar & Zuidema 2020, "Quantifying
 * Attention Flow in Transformers"). Inputs are the runtime's `attn.{i}` tensors, [n, heads, N, N]
 * softmax probabilities with token order [cls, distill?, registers…, patches row-major]. Pure
 * (no GPU, no Node APIs) so the maths is testable on hand-written tensors.
 */
import { type Spec, numTokens, patchGrid, prefixTokens } from '../../compiler/spec/types.js';

/** What is needed to index an attention tensor and map patch columns to the patch grid. */
export interface AttnGeometry {
  heads: number;
  /** Sequence length N = prefix + rows · cols. */
  tokens: number;
  /** Prefix tokens before the patches (cls, distill, registers). */
  prefix: number;
  /** Whether token 0 is a cls token (else maps average over every query token). */
  cls: boolean;
  rows: number;
  cols: number;
}

export function attnGeometry(spec: Spec): AttnGeometry {
  const { rows, cols } = patchGrid(spec);
  return {
    heads: spec.heads,
    tokens: numTokens(spec),
    prefix: prefixTokens(spec),
    cls: spec.tokens.cls,
    rows,
    cols,
  };
}

function checkLayer(attn: ArrayLike<number>, g: AttnGeometry, image: number): number {
  const per = g.heads * g.tokens * g.tokens;
  if (g.prefix + g.rows * g.cols !== g.tokens) {
    throw new Error(
      `attention geometry: ${g.prefix} prefix + ${g.rows}×${g.cols} patches ≠ ${g.tokens} tokens`,
    );
  }
  if (attn.length % per !== 0) {
    throw new Error(
      `attention tensor has ${attn.length} values, not a multiple of [${g.heads}, ${g.tokens}, ${g.tokens}]`,
    );
  }
  const n = attn.length / per;
  if (!Number.isInteger(image) || image < 0 || image >= n) {
    throw new Error(`image index ${image} out of range: the attention tensor holds ${n} image(s)`);
  }
  return image * per;
}

/**
 * One layer's attention for one image as an [N, N] matrix: one head's, or the mean over heads.
 */
export function layerMatrix(
  attn: ArrayLike<number>,
  g: AttnGeometry,
  head: number | 'mean',
  image = 0,
): Float64Array {
  const base = checkLayer(attn, g, image);
  const NN = g.tokens * g.tokens;
  const out = new Float64Array(NN);
  if (head !== 'mean') {
    if (!Number.isInteger(head) || head < 0 || head >= g.heads) {
      throw new Error(
        `head ${head} out of range: the model has ${g.heads} heads (0..${g.heads - 1})`,
      );
    }
    for (let i = 0; i < NN; i++) out[i] = attn[base + head * NN + i]!;
    return out;
  }
  for (let h = 0; h < g.heads; h++)
    for (let i = 0; i < NN; i++) out[i]! += attn[base + h * NN + i]!;
  for (let i = 0; i < NN; i++) out[i]! /= g.heads;
  return out;
}

/**
 * The patch columns of the query row that stands for the image: the cls token's row (row 0),
 * or, for models without a cls token, the mean of all N query rows. Result: rows · cols values
 * in patch order (row-major), i.e. a map over the patch grid.
 */
export function queryRowOverPatches(m: ArrayLike<number>, g: AttnGeometry): Float64Array {
  const N = g.tokens;
  const P = g.rows * g.cols;
  const out = new Float64Array(P);
  const queries = g.cls ? [0] : Array.from({ length: N }, (_, i) => i);
  for (const q of queries) for (let p = 0; p < P; p++) out[p]! += m[q * N + g.prefix + p]!;
  if (!g.cls) for (let p = 0; p < P; p++) out[p]! /= N;
  return out;
}

/** CLS attention over the patches of one layer: one head or the head mean. */
export function clsAttention(
  attn: ArrayLike<number>,
  g: AttnGeometry,
  head: number | 'mean' = 'mean',
  image = 0,
): Float64Array {
  return queryRowOverPatches(layerMatrix(attn, g, head, image), g);
}

/** C = A · B for N × N row-major matrices. */
function matmul(a: Float64Array, b: Float64Array, N: number): Float64Array {
  const c = new Float64Array(N * N);
  for (let i = 0; i < N; i++)
    for (let k = 0; k < N; k++) {
      const aik = a[i * N + k]!;
      if (aik === 0) continue;
      for (let j = 0; j < N; j++) c[i * N + j]! += aik * b[k * N + j]!;
    }
  return c;
}

/**
 * Attention rollout over all layers, as an [N, N] matrix: for each layer A = mean over heads,
 * A' = 0.5·A + 0.5·I (the residual connection carries half the signal), rows renormalized to
 * sum 1; then R = A'_{L-1} · … · A'_1 · A'_0 (the first layer applied first, as in the paper's
 * code, joint[n] = aug[n] · joint[n-1]). Row q of R says how much each input token flows into
 * token q after the last layer.
 */
export function rolloutMatrix(
  layers: readonly ArrayLike<number>[],
  g: AttnGeometry,
  image = 0,
): Float64Array {
  if (layers.length === 0) throw new Error('attention rollout needs at least one layer');
  const N = g.tokens;
  let joint: Float64Array | undefined;
  for (const attn of layers) {
    const a = layerMatrix(attn, g, 'mean', image);
    for (let i = 0; i < N; i++) {
      let sum = 0;
      for (let j = 0; j < N; j++) {
        const v = 0.5 * a[i * N + j]! + (i === j ? 0.5 : 0);
        a[i * N + j] = v;
        sum += v;
      }
      // Softmax rows already sum to 1, so this only removes float drift; it matters for inputs
      // that are not probabilities.
      if (sum > 0) for (let j = 0; j < N; j++) a[i * N + j]! /= sum;
    }
    joint = joint ? matmul(a, joint, N) : a;
  }
  return joint!;
}

/** Rollout's CLS row over the patches (mean over query rows without a cls token). */
export function attentionRollout(
  layers: readonly ArrayLike<number>[],
  g: AttnGeometry,
  image = 0,
): Float64Array {
  return queryRowOverPatches(rolloutMatrix(layers, g, image), g);
}
