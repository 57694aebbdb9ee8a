// The op set of vitc's graph IR. Every later stage (autodiff, fusion, scheduling, WGSL codegen)
// is written against exactly these ops, so each one's semantics is pinned down here, and
// executable in interp.ts (the CPU reference, float64). docs/IR.md says the same in prose.
//
// Conventions shared by all ops:
// - Tensors are dense, row-major (last axis fastest). A shape is a list of sizes; [] is a scalar.
// - `axis` attributes are non-negative and already normalized (the builder accepts -1 and
//   normalizes it), so passes never have to think about negative axes.
// - Arithmetic ops take and produce f32; i32 is only for leaves (labels, the RNG seed) and the
//   integer inputs of one_hot / cross_entropy / dropout / drop_path.
// - "numpy broadcasting": shapes are right-aligned, each pair of sizes must be equal or one of
//   them 1; the result has the larger rank and the larger size on every axis.

export type DType = 'f32' | 'i32';

/** How a `const` node gets its values. Constants stay small or procedurally generated. */
export type ConstInit =
  /** Explicit values, row-major, length = numel(shape). */
  | { kind: 'values'; values: readonly number[] }
  /** Every element equals `value` (any shape; zeros, ones, a scalar). */
  | { kind: 'fill'; value: number }
  /**
   * big_vision's posemb_sincos_2d table, shape [rows*cols, dim], dim % 4 == 0. For patch
   * p = r*cols + c and band k < dim/4, ω_k = temperature^-(k / (dim/4 - 1)) and the row is
   * [sin(c·ω), cos(c·ω), sin(r·ω), cos(r·ω)] (each block dim/4 wide). See consts.ts.
   */
  | { kind: 'sincos2d'; rows: number; cols: number; dim: number; temperature: number };

/**
 * Attributes of each op, keyed by op name. `OpKind` is the set of keys; `Node` (graph.ts) is
 * a discriminated union over them, so `node.op === 'matmul'` narrows `node.attrs`.
 */
export interface OpAttrs {
  // ---- leaves (no inputs) ----
  /** A value fed at run time (`image`, `labels`, `rng_seed`); shape and dtype are on the node. */
  input: { name: string };
  /** A trainable parameter, named exactly as timm's state_dict names it. Always f32. */
  param: { name: string };
  /** A compile-time constant; `name` is descriptive (e.g. "pos_embed.sincos2d"). */
  const: { name: string; init: ConstInit };

  // ---- matmul ----
  /**
   * Batched matrix product. A is [...a, M, K] (transA: [...a, K, M]), B is [...b, K, N]
   * (transB: [...b, N, K]); both rank ≥ 2. The batch dims a and b broadcast numpy-style.
   * Result [...broadcast(a, b), M, N], C[m,n] = Σ_k A[m,k]·B[k,n].
   */
  matmul: { transA: boolean; transB: boolean };

  // ---- elementwise unary (f32 → f32, same shape) ----
  neg: Record<string, never>; // -x
  exp: Record<string, never>; // e^x
  log: Record<string, never>; // natural log
  sqrt: Record<string, never>; // √x
  rsqrt: Record<string, never>; // 1/√x
  recip: Record<string, never>; // 1/x
  square: Record<string, never>; // x²
  tanh: Record<string, never>;
  erf: Record<string, never>; // error function, accurate to ~1e-16 in the interpreter
  gelu: Record<string, never>; // exact: 0.5·x·(1 + erf(x/√2)) — torch GELU(approximate='none')
  gelu_tanh: Record<string, never>; // 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
  relu: Record<string, never>; // max(x, 0)
  silu: Record<string, never>; // x·sigmoid(x)
  sigmoid: Record<string, never>; // 1/(1 + e^-x)
  step: Record<string, never>; // Heaviside: 1 if x > 0 else 0 (relu' and max' for autodiff)
  scale: { factor: number }; // factor·x (constant multiplier, avoids a const node)

  // ---- elementwise binary (f32 × f32 → f32, numpy broadcasting) ----
  add: Record<string, never>;
  sub: Record<string, never>;
  mul: Record<string, never>;
  div: Record<string, never>;
  max: Record<string, never>; // elementwise maximum

  // ---- reductions over one axis ----
  /** Σ over `axis`; keepdims keeps it as size 1, else it is removed. */
  reduce_sum: { axis: number; keepdims: boolean };
  /** Σ/n over `axis`. */
  reduce_mean: { axis: number; keepdims: boolean };
  /** max over `axis`. */
  reduce_max: { axis: number; keepdims: boolean };
  /** exp(x - max) / Σ exp(x - max) along `axis`; same shape. */
  softmax: { axis: number };
  /** x - max - log Σ exp(x - max) along `axis`; same shape. */
  logsoftmax: { axis: number };

  // ---- normalization over the last axis (biased variance, as torch) ----
  /**
   * inputs [x, weight?, bias?] (weight, bias: [C] where C = last dim of x, present iff the
   * flag is set, in that order). y = (x - mean)/√(var + eps)·weight + bias,
   * var = mean((x - mean)²).
   */
  layernorm: { eps: number; weight: boolean; bias: boolean };
  /** inputs [x, weight?]. y = x/√(mean(x²) + eps)·weight. */
  rmsnorm: { eps: number; weight: boolean };
  /**
   * Gradients of layernorm (center) or rmsnorm (!center), recomputing the statistics: inputs
   * [x, g, weight?] (g: the output's gradient, shaped as x; weight only for part 'input'),
   * output shaped as x. With d = g·weight, x̂ and r = 1/√(var + eps) (rmsnorm: x̂ = x·r,
   * r = 1/√(mean(x²) + eps)):
   *   part 'input':  dx = r·(d − mean(d) − x̂·mean(d·x̂))   (rmsnorm: without the mean(d) term)
   *   part 'weight': g·x̂, whose sum over the rows is the weight's gradient
   * The backward pass of a norm as row kernels instead of ~15 primitive ops (compiler/autodiff).
   */
  norm_grad: { eps: number; center: boolean; weight: boolean; part: 'input' | 'weight' };

  // ---- attention (training graphs: compiler/autodiff/attention-op.ts) ----
  /**
   * inputs [q, k, v], each [B, H, N, hd] → [B, H, N, hd]:
   * softmax((scale·q)·kᵀ, last axis)·v — timm's attention with q scaled before the product. The
   * training graph's form of the explicit chain, so that its gradient is attention_grad.
   */
  attention: { scale: number };
  /**
   * Gradients of attention (FlashAttention-2's backward). With s = (scale·q)·kᵀ, p = softmax(s),
   * o = p·v, dO the output's gradient and dp = dO·vᵀ:
   *   part 'lse':   inputs [q, k] → [B, H, N]: L = logsumexp_j(s) (the forward kernel writes it)
   *   part 'delta': inputs [o, dO] → [B, H, N]: D = Σ_d o·dO (= Σ_j p·dp)
   *   part 'q':     inputs [q, k, v, dO, lse, delta] → scale·Σ_j p·(dp − D)·k_j   [B, H, N, hd]
   *   part 'k':     the same inputs → Σ_i p·(dp − D)·scale·q_i                    [B, H, N, hd]
   *   part 'v':     the same inputs → Σ_i p·dO_i                                  [B, H, N, hd]
   * p is recomputed as exp(s − L): no N×N matrix is kept or written.
   */
  attention_grad: { scale: number; part: AttentionGradPart };

  // ---- layout ----
  /** Same elements, same row-major order, new shape (same numel; fully specified, no -1). */
  reshape: { shape: readonly number[] };
  /** out.shape[i] = in.shape[perm[i]]; out[idx] = in[idx permuted back]. */
  transpose: { perm: readonly number[] };
  /** Elements start ≤ i < end along `axis` (0 ≤ start < end ≤ size). */
  slice: { axis: number; start: number; end: number };
  /** ≥ 1 inputs of equal rank, equal sizes except on `axis`; joined in input order. */
  concat: { axis: number };
  /** Numpy broadcast of the input to `shape` (input broadcastable to it). */
  broadcast_to: { shape: readonly number[] };
  /**
   * x [B, C, H, W] → [B, (H/ph)·(W/pw), C·ph·pw]: patch p = r·(W/pw) + c (row-major), its vector
   * ordered (channel, i, j) with value x[b, ch, r·ph + i, c·pw + j] — i.e. the layout that a
   * Conv2d weight [D, C, ph, pw] reshaped to [D, C·ph·pw] multiplies (stride = kernel).
   */
  im2col: { ph: number; pw: number };

  // ---- loss ----
  /**
   * inputs [logits f32 [B, K], labels i32 [B]] → f32 []: torch.nn.functional.cross_entropy with
   * label_smoothing = s and reduction 'mean':
   * mean_b[ (1 - s)·(-logp[b, y_b]) + s·mean_k(-logp[b, k]) ], logp = logsoftmax(logits).
   */
  cross_entropy: { smoothing: number };
  /** labels i32 [...] → f32 [..., classes]: 1 at the label, 0 elsewhere (labels in range). */
  one_hot: { classes: number };

  // ---- randomness (training graphs) ----
  /**
   * inputs [x f32, seed i32 []]. Element e (row-major index) is kept iff
   * !isDropped(seed, stream, e, rate) (rng.ts) and then scaled by 1/(1 - rate); dropped → 0.
   * Deterministic in (seed, stream, index): the VJP is the same op applied to the gradient.
   */
  dropout: { rate: number; stream: number };
  /**
   * inputs [x f32 [B, ...], seed i32 []]. timm DropPath: sample b (index along axis 0) is kept
   * iff !isDropped(seed, stream, b, rate), then scaled by 1/(1 - rate); dropped samples → 0.
   */
  drop_path: { rate: number; stream: number };
}

export type OpKind = keyof OpAttrs;

export type AttentionGradPart = 'lse' | 'delta' | 'q' | 'k' | 'v';

export const UNARY_OPS = [
  'neg',
  'exp',
  'log',
  'sqrt',
  'rsqrt',
  'recip',
  'square',
  'tanh',
  'erf',
  'gelu',
  'gelu_tanh',
  'relu',
  'silu',
  'sigmoid',
  'step',
  'scale',
] as const satisfies readonly OpKind[];
export type UnaryOp = (typeof UNARY_OPS)[number];

export const BINARY_OPS = ['add', 'sub', 'mul', 'div', 'max'] as const satisfies readonly OpKind[];
export type BinaryOp = (typeof BINARY_OPS)[number];

export const REDUCE_OPS = [
  'reduce_sum',
  'reduce_mean',
  'reduce_max',
] as const satisfies readonly OpKind[];
export type ReduceOp = (typeof REDUCE_OPS)[number];

export const LEAF_OPS = ['input', 'param', 'const'] as const satisfies readonly OpKind[];
export type LeafOp = (typeof LEAF_OPS)[number];

export const ALL_OPS: readonly OpKind[] = [
  ...LEAF_OPS,
  'matmul',
  ...UNARY_OPS,
  ...BINARY_OPS,
  ...REDUCE_OPS,
  'softmax',
  'logsoftmax',
  'layernorm',
  'rmsnorm',
  'norm_grad',
  'attention',
  'attention_grad',
  'reshape',
  'transpose',
  'slice',
  'concat',
  'broadcast_to',
  'im2col',
  'cross_entropy',
  'one_hot',
  'dropout',
  'drop_path',
];

const unarySet: ReadonlySet<string> = new Set(UNARY_OPS);
const binarySet: ReadonlySet<string> = new Set(BINARY_OPS);
const reduceSet: ReadonlySet<string> = new Set(REDUCE_OPS);
const leafSet: ReadonlySet<string> = new Set(LEAF_OPS);

export const isUnaryOp = (op: OpKind): op is UnaryOp => unarySet.has(op);
export const isBinaryOp = (op: OpKind): op is BinaryOp => binarySet.has(op);
export const isReduceOp = (op: OpKind): op is ReduceOp => reduceSet.has(op);
export const isLeafOp = (op: OpKind): op is LeafOp => leafSet.has(op);
