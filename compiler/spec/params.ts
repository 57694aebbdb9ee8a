// The parameters of a model, named as timm's VisionTransformer state_dict names them.
// timm names are vitc's native naming: weights files, the graph's parameter nodes, the
// optimizer and the reference fixtures all use exactly these names and shapes.
import { type Spec, headDim, numPatches, prefixTokens } from './types.js';

/** How a parameter is initialized (timm's init_weights_vit_timm unless the spec says otherwise). */
export type ParamInit =
  | { kind: 'trunc_normal'; std: number } // truncated at ±2 std, like timm's trunc_normal_(std=.02)
  | { kind: 'normal'; std: number }
  | { kind: 'uniform'; bound: number } // PyTorch's default Conv2d init (kaiming_uniform a=√5): ±1/√fan_in
  | { kind: 'zeros' }
  | { kind: 'ones' }
  | { kind: 'const'; value: number };

export interface ParamInfo {
  /** timm state_dict name, e.g. "blocks.3.attn.qkv.weight". */
  name: string;
  shape: number[];
  init: ParamInit;
  /** Whether AdamW applies weight decay (timm: not on 1-D params, tokens and position embeddings). */
  decay: boolean;
}

/** Every parameter of the model in timm's state_dict order. */
export function modelParams(s: Spec): ParamInfo[] {
  const D = s.width;
  const out: ParamInfo[] = [];
  const linearInit = (): ParamInit =>
    s.init.scheme === 'normal'
      ? { kind: 'normal', std: s.init.std }
      : { kind: 'trunc_normal', std: s.init.std };
  const add = (name: string, shape: number[], init: ParamInit, decay = shape.length > 1) =>
    out.push({ name, shape, init, decay });
  const norm = (prefix: string, dim: number) => {
    add(`${prefix}.weight`, [dim], { kind: 'ones' });
    if (s.norm.kind === 'layernorm') add(`${prefix}.bias`, [dim], { kind: 'zeros' });
  };
  const linear = (prefix: string, outF: number, inF: number, bias = true) => {
    add(`${prefix}.weight`, [outF, inF], linearInit());
    if (bias) add(`${prefix}.bias`, [outF], { kind: 'zeros' });
  };

  if (s.tokens.cls) add('cls_token', [1, 1, D], { kind: 'normal', std: 1e-6 }, false);
  if (s.tokens.registers > 0)
    add('reg_token', [1, s.tokens.registers, D], { kind: 'normal', std: 1e-6 }, false);
  if (s.tokens.distill)
    add('dist_token', [1, 1, D], { kind: 'trunc_normal', std: s.init.std }, false);
  if (s.pos.kind === 'learned') {
    const len = numPatches(s) + (s.pos.prefix ? prefixTokens(s) : 0);
    add('pos_embed', [1, len, D], { kind: 'trunc_normal', std: s.init.std }, false);
  }
  const fanIn = s.image.channels * s.patch.height * s.patch.width;
  const convBound = 1 / Math.sqrt(fanIn);
  add('patch_embed.proj.weight', [D, s.image.channels, s.patch.height, s.patch.width], {
    kind: 'uniform',
    bound: convBound,
  });
  add('patch_embed.proj.bias', [D], { kind: 'uniform', bound: convBound });
  if (s.preNorm) norm('norm_pre', D);

  const hd = headDim(s);
  const H = s.mlp.hidden;
  for (let i = 0; i < s.depth; i++) {
    const b = `blocks.${i}`;
    norm(`${b}.norm1`, D);
    linear(`${b}.attn.qkv`, 3 * D, D, s.qkvBias);
    if (s.qkNorm) {
      norm(`${b}.attn.q_norm`, hd);
      norm(`${b}.attn.k_norm`, hd);
    }
    linear(`${b}.attn.proj`, D, D);
    if (s.layerScale !== null) add(`${b}.ls1.gamma`, [D], { kind: 'const', value: s.layerScale });
    norm(`${b}.norm2`, D);
    if (s.mlp.activation === 'swiglu') {
      linear(`${b}.mlp.fc1_g`, H, D);
      linear(`${b}.mlp.fc1_x`, H, D);
    } else {
      linear(`${b}.mlp.fc1`, H, D);
    }
    linear(`${b}.mlp.fc2`, D, H);
    if (s.layerScale !== null) add(`${b}.ls2.gamma`, [D], { kind: 'const', value: s.layerScale });
  }
  if (s.finalNorm && !s.fcNorm) norm('norm', D);
  if (s.finalNorm && s.fcNorm) norm('fc_norm', D);
  if (s.head.classes > 0) {
    linear('head', s.head.classes, D);
    if (s.tokens.distill) linear('head_dist', s.head.classes, D);
  }
  return out;
}

/** Total number of scalar parameters. */
export function paramCount(s: Spec): number {
  return modelParams(s).reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
}
