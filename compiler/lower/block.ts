// One transformer block, as timm's Block (pre-norm) or the original Transformer's post-norm
// layer, with timm's Attention, Mlp and SwiGLU written out as explicit ops.
import type { Value } from '../ir/builder.js';
import { headDim } from '../spec/types.js';
import type { LowerContext } from './context.js';

/** Per-block stochastic depth: timm's linspace(0, rate, depth). */
export function dropPathRate(rate: number, depth: number, i: number): number {
  return depth > 1 ? (rate * i) / (depth - 1) : 0;
}

/**
 * blocks.{i}. Returns the block output and the attention probabilities [B, heads, N, N].
 * pre:  x = x + drop_path(ls1(attn(norm1(x)))); x = x + drop_path(ls2(mlp(norm2(x))))
 * post: x = norm1(x + drop_path(ls1(attn(x)))); x = norm2(x + drop_path(ls2(mlp(x))))
 */
export function lowerBlock(ctx: LowerContext, x: Value, i: number): { out: Value; probs: Value } {
  const { b, spec } = ctx;
  const rate = dropPathRate(spec.dropout.path, spec.depth, i);
  return b.scope(`blocks.${i}`, () => {
    const pre = spec.norm.placement === 'pre';
    const a = attention(ctx, pre ? ctx.norm('norm1', x) : x);
    let h = ctx.dropPath('drop_path1', layerScale(ctx, 'ls1', a.out), rate);
    x = b.addv(x, h);
    if (!pre) x = ctx.norm('norm1', x);
    h = mlp(ctx, pre ? ctx.norm('norm2', x) : x);
    h = ctx.dropPath('drop_path2', layerScale(ctx, 'ls2', h), rate);
    x = b.addv(x, h);
    if (!pre) x = ctx.norm('norm2', x);
    return { out: x, probs: a.probs };
  });
}

/** timm LayerScale: x · gamma (per channel); identity when the spec has none. */
function layerScale(ctx: LowerContext, name: string, x: Value): Value {
  if (ctx.spec.layerScale === null) return x;
  return ctx.b.scope(name, () => ctx.b.mul(x, ctx.param('gamma', [ctx.spec.width])));
}

/** timm Attention (explicit, unfused). */
function attention(ctx: LowerContext, x: Value): { out: Value; probs: Value } {
  const { b, spec } = ctx;
  const [B, N, D] = b.shape(x);
  const H = spec.heads;
  const hd = headDim(spec);
  return b.scope('attn', () => {
    const qkv = ctx.linear('qkv', x, 3 * D, spec.qkvBias);
    // Rows of the fused weight are [q; k; v], heads contiguous inside each (timm layout):
    // reshape(B, N, 3, H, hd).permute(2, 0, 3, 1, 4) then unbind(0).
    const split = b.transpose(b.reshape(qkv, [B, N, 3, H, hd]), [2, 0, 3, 1, 4]);
    const part = (j: number) => b.reshape(b.slice(split, 0, j, j + 1), [B, H, N, hd]);
    let q = part(0);
    let k = part(1);
    const v = part(2);
    if (spec.qkNorm) {
      q = ctx.norm('q_norm', q);
      k = ctx.norm('k_norm', k);
    }
    // timm scales q before the product (q = q * scale).
    const scores = b.matmul(b.scale(q, hd ** -0.5), k, { transB: true });
    const probs = b.softmax(scores, -1);
    const dropped = ctx.dropout('attn_drop', probs, spec.dropout.attn);
    const o = b.reshape(b.transpose(b.matmul(dropped, v), [0, 2, 1, 3]), [B, N, D]);
    const out = ctx.dropout('proj_drop', ctx.linear('proj', o, D), spec.dropout.proj);
    return { out, probs };
  });
}

/** timm Mlp (fc1 → act → drop1 → fc2 → drop2) or SwiGLU (silu(fc1_g) · fc1_x → drop1 → fc2 → drop2). */
function mlp(ctx: LowerContext, x: Value): Value {
  const { b, spec } = ctx;
  const D = spec.width;
  const Hd = spec.mlp.hidden;
  const act = spec.mlp.activation;
  return b.scope('mlp', () => {
    let h: Value;
    if (act === 'swiglu') {
      const g = ctx.linear('fc1_g', x, Hd);
      const v = ctx.linear('fc1_x', x, Hd);
      h = b.scope('act', () => b.mul(b.unary('silu', g), v));
    } else {
      const f = ctx.linear('fc1', x, Hd);
      h = b.scope('act', () => b.unary(act, f));
    }
    h = ctx.dropout('drop1', h, spec.dropout.proj);
    return ctx.dropout('drop2', ctx.linear('fc2', h, D), spec.dropout.proj);
  });
}
