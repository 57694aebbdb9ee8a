/**
 * Hugging Face transformers names for timm parameters, and the detection of which naming a
 * checkpoint uses. timm names are vitc's own; HF ViT (`ViTForImageClassification`, `ViTModel`)
 * and HF DeiT (`DeiTForImageClassification[WithTeacher]`, `DeiTModel`) name the same tensors
 * differently and split timm's fused qkv projection into separate query, key and value linears
 * (timm's qkv rows are [q; k; v], so query = rows 0..D-1, key = D..2D-1, value = 2D..3D-1).
 */
import { modelParams } from '../compiler/spec/params.js';
import type { Spec } from '../compiler/spec/types.js';

export type Naming = 'timm' | 'hf-vit' | 'hf-deit';
export type HfFlavor = 'vit' | 'deit';

/** One HF tensor that holds rows [row, row + shape[0]) of a timm parameter. */
export interface HfPart {
  name: string;
  shape: number[];
  row: number;
}

/** Wrapper prefixes added by training frameworks (DDP, Lightning/EMA wrappers, torch.compile). */
export const WRAPPER_PREFIXES = ['module.', 'model.', '_orig_mod.'] as const;

/**
 * The HF name of one timm parameter, or null where HF's ViT/DeiT has no such tensor
 * (registers, layer scale, qk norm, pre-norm, fc_norm, SwiGLU, a distillation token in plain ViT).
 * `base` is the backbone prefix: 'vit.' / 'deit.' in the *ForImageClassification models,
 * '' in a bare ViTModel/DeiTModel.
 */
export function hfName(timm: string, flavor: HfFlavor, base: string, spec: Spec): string | null {
  const emb = `${base}embeddings.`;
  switch (timm) {
    case 'cls_token':
      return `${emb}cls_token`;
    case 'dist_token':
      return flavor === 'deit' ? `${emb}distillation_token` : null;
    case 'pos_embed':
      return `${emb}position_embeddings`;
    case 'patch_embed.proj.weight':
    case 'patch_embed.proj.bias':
      return `${emb}patch_embeddings.projection.${timm.slice(-4) === 'bias' ? 'bias' : 'weight'}`;
    case 'norm.weight':
    case 'norm.bias':
      return `${base}layernorm.${timm.slice(5)}`;
  }
  const head = /^(head|head_dist)\.(weight|bias)$/.exec(timm);
  if (head) {
    if (head[1] === 'head_dist')
      return flavor === 'deit' ? `distillation_classifier.${head[2]}` : null;
    return flavor === 'deit' && spec.tokens.distill
      ? `cls_classifier.${head[2]}`
      : `classifier.${head[2]}`;
  }
  const m = /^blocks\.(\d+)\.(norm1|norm2|attn\.proj|mlp\.fc1|mlp\.fc2)\.(weight|bias)$/.exec(timm);
  if (!m) return null;
  const layer = `${base}encoder.layer.${m[1]}.`;
  const part = {
    norm1: 'layernorm_before',
    norm2: 'layernorm_after',
    'attn.proj': 'attention.output.dense',
    'mlp.fc1': 'intermediate.dense',
    'mlp.fc2': 'output.dense',
  }[m[2]];
  return `${layer}${part}.${m[3]}`;
}

/**
 * For every parameter of the model (timm name), the HF tensors it is assembled from:
 * one tensor, three for a fused qkv weight or bias, or null when HF has no equivalent.
 */
export function hfSources(
  spec: Spec,
  flavor: HfFlavor,
  base: string,
): Map<string, HfPart[] | null> {
  const out = new Map<string, HfPart[] | null>();
  const D = spec.width;
  for (const p of modelParams(spec)) {
    const qkv = /^blocks\.(\d+)\.attn\.qkv\.(weight|bias)$/.exec(p.name);
    if (qkv) {
      const prefix = `${base}encoder.layer.${qkv[1]}.attention.attention.`;
      out.set(
        p.name,
        ['query', 'key', 'value'].map((w, i) => ({
          name: `${prefix}${w}.${qkv[2]}`,
          shape: [D, ...p.shape.slice(1)],
          row: i * D,
        })),
      );
      continue;
    }
    const name = hfName(p.name, flavor, base, spec);
    out.set(p.name, name === null ? null : [{ name, shape: [...p.shape], row: 0 }]);
  }
  return out;
}

/**
 * timm-named parameters → HF-named tensors (qkv split into query/key/value), e.g. to write a
 * checkpoint HF's `from_pretrained` can read or to test the HF loader. Throws when a parameter
 * has no HF equivalent. Flavor defaults to DeiT for distilled specs, ViT otherwise.
 */
export function toHfNames(
  params: ReadonlyMap<string, Float32Array>,
  spec: Spec,
  flavor: HfFlavor = spec.tokens.distill ? 'deit' : 'vit',
  base: string = `${flavor}.`,
): Array<{ name: string; shape: number[]; data: Float32Array }> {
  const out: Array<{ name: string; shape: number[]; data: Float32Array }> = [];
  for (const [timm, parts] of hfSources(spec, flavor, base)) {
    if (parts === null) {
      throw new Error(
        `parameter ${timm} has no Hugging Face ${flavor === 'vit' ? 'ViT' : 'DeiT'} equivalent`,
      );
    }
    const data = params.get(timm);
    if (!data) throw new Error(`parameter ${timm} is missing from the map`);
    for (const part of parts) {
      const rowSize = part.shape.slice(1).reduce((a, b) => a * b, 1);
      const len = part.shape.reduce((a, b) => a * b, 1);
      out.push({
        name: part.name,
        shape: part.shape,
        data: data.slice(part.row * rowSize, part.row * rowSize + len),
      });
    }
  }
  return out;
}

/** The wrapper prefix shared by every name ('module.model.' etc.), or ''. */
export function wrapperPrefix(names: readonly string[]): string {
  let prefix = '';
  for (;;) {
    const rest = names.map((n) => n.slice(prefix.length));
    const next = WRAPPER_PREFIXES.find(
      (p) => rest.length > 0 && rest.every((n) => n.startsWith(p)),
    );
    if (!next) return prefix;
    prefix += next;
  }
}

export interface DetectedNaming {
  naming: Naming;
  /** HF backbone prefix ('vit.', 'deit.' or '' for a bare ViTModel/DeiTModel); '' for timm. */
  base: string;
}

/** Decides the naming from the names (wrapper prefix already removed). */
export function detectNaming(names: readonly string[]): DetectedNaming {
  const has = (p: string) => names.some((n) => n.startsWith(p));
  if (has('vit.embeddings.') || has('vit.encoder.')) return { naming: 'hf-vit', base: 'vit.' };
  if (has('deit.embeddings.') || has('deit.encoder.')) return { naming: 'hf-deit', base: 'deit.' };
  if (has('embeddings.') || has('encoder.layer.')) {
    const deit = names.includes('embeddings.distillation_token');
    return { naming: deit ? 'hf-deit' : 'hf-vit', base: '' };
  }
  return { naming: 'timm', base: '' };
}
