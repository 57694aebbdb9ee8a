// The resolved Spec: plain JSON, the only thing the compiler sees after the front end.
// Every field is explicit (defaults applied, `extends` resolved, ratios turned into sizes),
// so lowering, facts and weights never need to know about the surface syntax.
// The JSON Schema in schema.ts validates exactly this shape; keep the two in step.

export type Activation = 'gelu' | 'gelu_tanh' | 'relu' | 'swiglu';
export type NormKind = 'layernorm' | 'rmsnorm';
export type NormPlacement = 'pre' | 'post';
export type PosKind = 'learned' | 'sincos2d' | 'none';
export type Pool = 'cls' | 'mean';
export type InitScheme = 'trunc_normal' | 'normal' | 'jax';
export type Interpolation = 'nearest' | 'bilinear' | 'bicubic';
export type Optimizer = 'adamw' | 'adam' | 'sgd';
export type ScheduleKind = 'cosine' | 'linear' | 'constant';
export type Precision = 'f32' | 'f16' | 'mixed';

export interface Spec {
  /** Model name as written after `model`. */
  name: string;
  /** The leading comment of the model (what it reproduces), if any. */
  description: string;
  /** Inheritance chain, the model itself first: ["deit_small_distilled", "deit_small", "vit_small"]. */
  chain: string[];
  /** Input image. Height and width may differ; channels 1 (grayscale) or 3 (RGB) or any positive count. */
  image: { height: number; width: number; channels: number };
  /** Patch size; image.height % patch.height == 0 and image.width % patch.width == 0. */
  patch: { height: number; width: number };
  /** Embedding dimension (timm embed_dim). */
  width: number;
  /** Number of transformer blocks. */
  depth: number;
  /** Attention heads; width % heads == 0. */
  heads: number;
  /** MLP hidden size (ratio already applied, timm: int(width * mlp_ratio)) and activation. */
  mlp: { hidden: number; activation: Activation };
  /** Norm placement inside blocks: pre = x + f(LN(x)) (timm); post = LN(x + f(x)) (Vaswani et al.). */
  norm: { placement: NormPlacement; kind: NormKind; eps: number };
  /** Bias on the fused qkv projection (timm qkv_bias). */
  qkvBias: boolean;
  /** Per-head norm of q and k after the projection (timm qk_norm), same kind and eps as `norm`. */
  qkNorm: boolean;
  /** LayerScale: null = off, else the init value of the per-channel gammas (timm init_values). */
  layerScale: number | null;
  /** Prefix tokens, in this order: [cls?, distill?, registers…], then patches row-major. */
  tokens: { cls: boolean; distill: boolean; registers: number };
  /**
   * Position embedding. `prefix` = true: the embedding also covers the prefix tokens (timm default,
   * concatenate then add); false: patches only (timm no_embed_class, add then concatenate).
   * sincos2d is a fixed 2-D sin-cos table over patches (big_vision order sin(x), cos(x), sin(y), cos(y));
   * it never covers prefix tokens and is not a parameter.
   */
  pos: { kind: PosKind; prefix: boolean };
  /** A norm right after the embedding, before the blocks (timm pre_norm / norm_pre). */
  preNorm: boolean;
  /** Final norm. Applied to all tokens before pooling, or after pooling when fcNorm is set. */
  finalNorm: boolean;
  /** Pooling of the token sequence into one vector: cls token or mean over the patch tokens. */
  pool: Pool;
  /** Final norm after pooling (timm fc_norm); timm's default is true exactly when pool is mean. */
  fcNorm: boolean;
  /** Classifier head; classes 0 = features only (the pooled vector is the output). */
  head: { classes: number };
  /** Dropout rates in [0, 1): embedding (timm pos_drop), attention probs, projections (attn proj, mlp), head, drop path. */
  dropout: { embed: number; attn: number; proj: number; head: number; path: number };
  /** Parameter initialization. trunc_normal: timm default (std 0.02 truncated at ±2 std). */
  init: { scheme: InitScheme; std: number; seed: number };
  /** Image preprocessing: resize shorter side to size/crop, center crop, then (x/255 - mean)/std per channel. */
  preprocess: {
    mean: number[];
    std: number[];
    interpolation: Interpolation;
    /** timm crop_pct: resize to image/crop then center-crop to image. 1 = no crop. */
    crop: number;
  };
  /** Training defaults for `vitc train`; flags override them. */
  train: TrainSpec;
}

export interface TrainSpec {
  batch: number;
  epochs: number;
  optimizer: {
    kind: Optimizer;
    lr: number;
    weightDecay: number;
    betas: [number, number];
    eps: number;
    momentum: number;
  };
  /** Learning-rate schedule: linear warmup over `warmup` epochs, then decay to minLr. */
  schedule: { warmup: number; kind: ScheduleKind; minLr: number };
  /** Cross-entropy label smoothing in [0, 1). */
  smoothing: number;
  /** Clip gradients to this global L2 norm; null = no clipping. */
  clip: number | null;
  precision: Precision;
  seed: number;
  /** Data augmentation used by `vitc train`. */
  augment: { flip: boolean; cropPadding: number };
}

/** Where a thing came from in a .vit file (1-based line and column). */
export interface SourcePos {
  file: string;
  line: number;
  col: number;
}

/** Number of prefix tokens (cls + distill + registers). */
export function prefixTokens(s: Spec): number {
  return (s.tokens.cls ? 1 : 0) + (s.tokens.distill ? 1 : 0) + s.tokens.registers;
}

/** Patch grid (rows, cols). */
export function patchGrid(s: Spec): { rows: number; cols: number } {
  return { rows: s.image.height / s.patch.height, cols: s.image.width / s.patch.width };
}

/** Number of patches. */
export function numPatches(s: Spec): number {
  const g = patchGrid(s);
  return g.rows * g.cols;
}

/** Sequence length seen by the blocks. */
export function numTokens(s: Spec): number {
  return prefixTokens(s) + numPatches(s);
}

/** Head dimension. */
export function headDim(s: Spec): number {
  return s.width / s.heads;
}
