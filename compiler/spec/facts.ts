// Static facts about a resolved Spec: sizes, parameter counts, compute and memory per image.
// These are what `vitc explain` prints and what benchmarks divide by, so every number follows
// a convention stated here and matches the published one where there is one (timm/fvcore).
//
// MACs (multiply-accumulates), per image, forward, counted as fvcore's FlopCountAnalysis does
// and as timm's model cards report "GMACs": only matrix products are counted —
//   patch embedding conv (patches × D × C·ph·pw), every Linear (tokens × in × out),
//   the two attention products q·kᵀ (N² · D) and P·v (N² · D), and the classifier head(s).
// Bias adds, norms, softmax, activations, residuals, pooling are not MACs; they are estimated
// separately in `otherFlops`. `flops` = 2 × macs (one multiply + one add per MAC).
// ViT-B/16 @224: 17,563,828,224 MACs (timm: 17.56 GMACs).
//
// `timmActivations` is fvcore's ActivationCountAnalysis (timm model cards' "Activations (M)"):
// the number of output elements of every conv/linear/matmul in the forward pass.
//
// Activation memory (bytes per image at f32) has two models:
//   train: the sum of the tensors a training forward keeps for the backward pass: every matmul
//     input, norm inputs and their statistics (mean and rstd per row; rstd only for RMSNorm),
//     the attention probabilities (unfused attention, h × N² per block), activation inputs and
//     outputs where the backward reads them, layer-scale inputs, the image itself and the logits.
//     Residual adds, slices and pooling keep nothing; dropout masks are not counted (they can be
//     regenerated from the seed).
//   inferencePeak: the largest set of simultaneously live tensors in an op-by-op forward that
//     frees each tensor after its last use and does elementwise ops in place (no fusion).
// Parameters, gradients and optimizer state are not activations and are not included.
import { modelParams, type ParamInfo } from './params.js';
import { type Spec, headDim, numPatches, numTokens, patchGrid, prefixTokens } from './types.js';

export interface ParamBreakdown {
  total: number;
  /** cls/dist/register tokens, position embedding, patch embedding. */
  embedding: number;
  /** All transformer blocks. */
  blocks: number;
  /** One block (all blocks are the same size). */
  perBlock: number;
  /** Norms outside the blocks: norm_pre, the final norm / fc_norm. */
  norms: number;
  /** Classifier head(s), including head_dist. */
  head: number;
}

export interface MacBreakdown {
  patchEmbed: number;
  /** qkv projection, all blocks. */
  qkv: number;
  /** q·kᵀ, all blocks. */
  attnScores: number;
  /** P·v, all blocks. */
  attnValues: number;
  /** Attention output projection, all blocks. */
  attnProj: number;
  /** MLP (fc1 or fc1_g + fc1_x, and fc2), all blocks. */
  mlp: number;
  head: number;
}

export interface SpecFacts {
  tokens: { total: number; prefix: number; patches: number };
  grid: { rows: number; cols: number };
  headDim: number;
  params: ParamBreakdown;
  /** Forward multiply-accumulates per image (fvcore convention, see the file comment). */
  macs: number;
  macsBreakdown: MacBreakdown;
  /** 2 × macs. */
  flops: number;
  /** Approximate non-matmul forward FLOPs per image (bias, norms, softmax, activations, residuals). */
  otherFlops: number;
  /** fvcore activation count: output elements of all conv/linear/matmul ops per image. */
  timmActivations: number;
  /** Activation memory per image at f32 (4 bytes per element); see the file comment. */
  activationBytes: { train: number; inferencePeak: number };
}

const F32 = 4;

function numel(p: ParamInfo): number {
  return p.shape.reduce((a, b) => a * b, 1);
}

/** Which group of the breakdown a timm parameter name belongs to. */
export function paramGroup(name: string): 'embedding' | 'blocks' | 'norms' | 'head' {
  if (name.startsWith('blocks.')) return 'blocks';
  if (name.startsWith('head')) return 'head';
  if (name.startsWith('norm') || name.startsWith('fc_norm')) return 'norms';
  return 'embedding';
}

function paramBreakdown(s: Spec): ParamBreakdown {
  const b: ParamBreakdown = { total: 0, embedding: 0, blocks: 0, perBlock: 0, norms: 0, head: 0 };
  for (const p of modelParams(s)) {
    const n = numel(p);
    b.total += n;
    b[paramGroup(p.name)] += n;
    if (p.name.startsWith('blocks.0.')) b.perBlock += n;
  }
  return b;
}

function macBreakdown(s: Spec): MacBreakdown {
  const N = numTokens(s);
  const D = s.width;
  const H = s.mlp.hidden;
  const L = s.depth;
  const fc1Count = s.mlp.activation === 'swiglu' ? 2 : 1;
  const heads = s.head.classes > 0 ? (s.tokens.distill ? 2 : 1) : 0;
  return {
    patchEmbed: numPatches(s) * D * s.image.channels * s.patch.height * s.patch.width,
    qkv: L * N * D * 3 * D,
    attnScores: L * N * N * D,
    attnValues: L * N * N * D,
    attnProj: L * N * D * D,
    mlp: L * N * D * H * (fc1Count + 1),
    head: heads * D * s.head.classes,
  };
}

/** Per-element FLOP costs used by the non-matmul estimate (documented, approximate). */
const COST = { layernorm: 8, rmsnorm: 5, softmax: 5, gelu: 8, relu: 1, swiglu: 5 };

function otherFlops(s: Spec): number {
  const N = numTokens(s);
  const P = numPatches(s);
  const D = s.width;
  const H = s.mlp.hidden;
  const h = s.heads;
  const normCost = COST[s.norm.kind];
  let perBlock = 0;
  perBlock += 2 * N * D * normCost; // norm1, norm2
  perBlock += (s.qkvBias ? 3 * N * D : 0) + N * D; // qkv bias, proj bias
  if (s.qkNorm) perBlock += 2 * N * D * normCost;
  perBlock += h * N * N * (1 + COST.softmax); // scale + softmax
  const fc1Out = s.mlp.activation === 'swiglu' ? 2 * N * H : N * H;
  perBlock += fc1Out + N * D; // fc1 bias(es), fc2 bias
  perBlock += N * H * COST[s.mlp.activation === 'gelu_tanh' ? 'gelu' : s.mlp.activation];
  perBlock += 2 * N * D; // residual adds
  if (s.layerScale !== null) perBlock += 2 * N * D;
  let total = s.depth * perBlock;
  total += P * D; // patch embedding bias
  if (s.pos.kind !== 'none') total += (s.pos.prefix && s.pos.kind === 'learned' ? N : P) * D;
  if (s.preNorm) total += N * D * normCost;
  if (s.pool === 'mean') total += P * D;
  if (s.finalNorm) total += (s.fcNorm ? D : N * D) * normCost;
  if (s.head.classes > 0) total += (s.tokens.distill ? 2 : 1) * s.head.classes;
  return total;
}

function timmActivations(s: Spec): number {
  const N = numTokens(s);
  const D = s.width;
  const H = s.mlp.hidden;
  const fc1Out = s.mlp.activation === 'swiglu' ? 2 * N * H : N * H;
  const perBlock = 3 * N * D + s.heads * N * N + N * D + N * D + fc1Out + N * D;
  const heads = s.head.classes > 0 ? (s.tokens.distill ? 2 : 1) : 0;
  return numPatches(s) * D + s.depth * perBlock + heads * s.head.classes;
}

/** Elements kept for backward, per image (see the file comment for the model). */
function trainElements(s: Spec): number {
  const N = numTokens(s);
  const D = s.width;
  const H = s.mlp.hidden;
  const h = s.heads;
  const statsPerRow = s.norm.kind === 'layernorm' ? 2 : 1;
  const norm = (rows: number, dim: number) => rows * dim + rows * statsPerRow; // input + stats
  let perBlock = 0;
  // Two norms: inputs + stats; their outputs (or, post-norm, the sublayer inputs) feed qkv and fc1.
  perBlock += 2 * norm(N, D);
  perBlock += 2 * N * D; // qkv input, fc1 input
  perBlock += 3 * N * D; // q, k, v
  if (s.qkNorm) perBlock += 2 * (h * N * statsPerRow) + 2 * N * D; // q/k norm stats + normed q, k
  perBlock += h * N * N; // attention probabilities
  perBlock += N * D; // attention output (proj input)
  if (s.layerScale !== null) perBlock += 2 * N * D; // ls1/ls2 inputs for the gamma gradients
  if (s.mlp.activation === 'relu')
    perBlock += N * H; // relu output serves relu' and fc2
  else if (s.mlp.activation === 'swiglu')
    perBlock += 3 * N * H; // gate, value, product
  else perBlock += 2 * N * H; // pre-activation for gelu', activation output for fc2
  // Post-norm: the block's last norm output is the next block's qkv input, counted there; the
  // pre-norm count (norm2 output = fc1 input) is the same number, so one formula serves both.
  let total = s.depth * perBlock;
  total += s.image.height * s.image.width * s.image.channels; // patch-embedding input
  if (s.preNorm) total += norm(N, D);
  if (s.finalNorm) total += s.fcNorm ? norm(1, D) : norm(N, D);
  if (s.head.classes > 0) {
    const heads = s.tokens.distill ? 2 : 1;
    total += heads * D; // head input(s)
    total += heads * s.head.classes; // logits / probabilities for the loss backward
  }
  return total;
}

/** Peak of simultaneously live elements in an unfused inference forward, per image. */
function inferencePeakElements(s: Spec): number {
  const N = numTokens(s);
  const P = numPatches(s);
  const D = s.width;
  const H = s.mlp.hidden;
  const image = s.image.height * s.image.width * s.image.channels;
  const embed = image + P * D + N * D; // image, patch tokens, assembled sequence
  // Residual x, q/k/v, probabilities and attention output are live together before v is freed.
  const attention = N * D + 3 * N * D + s.heads * N * N + N * D;
  const hiddenLive = s.mlp.activation === 'swiglu' ? 2 * N * H : N * H;
  const mlp = 2 * N * D + hiddenLive; // residual, normed input, hidden (activation in place)
  const headPeak = N * D + D + Math.max(s.head.classes, 0) * (s.tokens.distill ? 2 : 1);
  return Math.max(embed, attention, mlp, headPeak);
}

export function specFacts(s: Spec): SpecFacts {
  const macsBreakdown = macBreakdown(s);
  const macs = Object.values(macsBreakdown).reduce((a, b) => a + b, 0);
  return {
    tokens: { total: numTokens(s), prefix: prefixTokens(s), patches: numPatches(s) },
    grid: patchGrid(s),
    headDim: headDim(s),
    params: paramBreakdown(s),
    macs,
    macsBreakdown,
    flops: 2 * macs,
    otherFlops: otherFlops(s),
    timmActivations: timmActivations(s),
    activationBytes: {
      train: F32 * trainElements(s),
      inferencePeak: F32 * inferencePeakElements(s),
    },
  };
}
