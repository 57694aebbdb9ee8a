// Spec → Graph: timm's VisionTransformer forward (vision_transformer.py), op by op.
// Parameters are exactly modelParams(spec) (compiler/spec/params.ts), named as timm names them,
// and every node is named after the timm module it belongs to.
import type { Value } from '../ir/builder.js';
import type { Graph } from '../ir/graph.js';
import { printGraph } from '../ir/print.js';
import { assertValidGraph } from '../ir/verify.js';
import { type Spec, numPatches, numTokens, patchGrid, prefixTokens } from '../spec/types.js';
import { lowerBlock } from './block.js';
import { LowerContext } from './context.js';

export { printGraph };

export interface LowerOptions {
  batch: number;
  /** 'train' adds dropout / drop_path nodes (and the `rng_seed` input) where rates are > 0. */
  mode?: 'eval' | 'train';
  /** Adds input `labels` i32 [B] and output `loss` = cross_entropy(logits, labels, smoothing). */
  loss?: { smoothing: number };
  /** Also output `attn.{i}`: the softmax probabilities [B, heads, N, N] of block i. */
  attention?: boolean;
}

/**
 * Inputs: `image` f32 [B, C, H, W] (+ `labels` i32 [B] with loss, + `rng_seed` i32 [] when a
 * dropout site is active). Outputs: `logits` [B, classes] (or `features` [B, width] when the
 * head has 0 classes), then `loss` [], then `attn.0` … `attn.{depth-1}`.
 */
export function lowerVit(spec: Spec, opts: LowerOptions): Graph {
  if (!(Number.isInteger(opts.batch) && opts.batch > 0))
    throw new Error(`lowerVit: batch must be a positive integer, got ${opts.batch}`);
  if (opts.loss && spec.head.classes === 0)
    throw new Error('lowerVit: a loss needs a classifier head (head > 0)');
  const ctx = new LowerContext(spec, opts.mode === 'train');
  const { b } = ctx;

  let x = embed(ctx, opts.batch);
  if (spec.preNorm) x = ctx.norm('norm_pre', x);
  const probs: Value[] = [];
  for (let i = 0; i < spec.depth; i++) {
    const blk = lowerBlock(ctx, x, i);
    x = blk.out;
    probs.push(blk.probs);
  }
  if (spec.finalNorm && !spec.fcNorm) x = ctx.norm('norm', x);
  const out = head(ctx, x);

  b.output(spec.head.classes > 0 ? 'logits' : 'features', out);
  if (opts.loss) {
    const smoothing = opts.loss.smoothing;
    const labels = b.input('labels', [opts.batch], 'i32');
    b.output(
      'loss',
      b.scope('loss', () => b.crossEntropy(out, labels, smoothing)),
    );
  }
  if (opts.attention) probs.forEach((p, i) => b.output(`attn.${i}`, p));
  const g = b.build();
  assertValidGraph(g, `lowered graph of ${spec.name}`);
  return g;
}

/**
 * patch_embed (Conv2d with stride = kernel, as im2col + matmul), prefix tokens, position
 * embedding (timm _pos_embed) and pos_drop. Token order: [cls, distill, registers…, patches].
 */
function embed(ctx: LowerContext, B: number): Value {
  const { b, spec } = ctx;
  const D = spec.width;
  const { height: ph, width: pw } = spec.patch;
  const C = spec.image.channels;
  const P = numPatches(spec);
  const image = b.input('image', [B, C, spec.image.height, spec.image.width]);

  let patches = b.scope('patch_embed.proj', () => {
    const cols = b.im2col(image, ph, pw);
    const w = b.reshape(ctx.param('weight', [D, C, ph, pw]), [D, C * ph * pw]);
    return b.addv(b.matmul(cols, w, { transB: true }), ctx.param('bias', [D]));
  });

  const prefix: Value[] = [];
  const token = (name: string, n: number) => b.broadcastTo(b.param(name, [1, n, D]), [B, n, D]);
  if (spec.tokens.cls) prefix.push(b.scope('cls_token', () => token('cls_token', 1)));
  if (spec.tokens.distill) prefix.push(b.scope('dist_token', () => token('dist_token', 1)));
  if (spec.tokens.registers > 0)
    prefix.push(b.scope('reg_token', () => token('reg_token', spec.tokens.registers)));
  const withPrefix = (p: Value) => (prefix.length > 0 ? b.concat([...prefix, p], 1) : p);

  let x: Value;
  if (spec.pos.kind === 'learned') {
    // timm: pos_embed covers the prefix tokens (concat then add) unless no_embed_class
    // (add to the patches, then concat).
    const len = spec.pos.prefix ? numTokens(spec) : P;
    x = b.scope('pos_embed', () => {
      const pos = b.param('pos_embed', [1, len, D]);
      return spec.pos.prefix ? b.addv(withPrefix(patches), pos) : withPrefix(b.addv(patches, pos));
    });
  } else if (spec.pos.kind === 'sincos2d') {
    const { rows, cols } = patchGrid(spec);
    x = b.scope('pos_embed', () => {
      const table = b.constant('pos_embed.sincos2d', [P, D], {
        kind: 'sincos2d',
        rows,
        cols,
        dim: D,
        temperature: 10000,
      });
      patches = b.addv(patches, table);
      return withPrefix(patches);
    });
  } else {
    x = withPrefix(patches);
  }
  // timm skips pos_drop when there is no position embedding; vitc applies the embedding
  // dropout the spec asks for in every case (docs/IR.md).
  return ctx.dropout('pos_drop', x, spec.dropout.embed);
}

/**
 * Pooling, fc_norm, head_drop and the classifier. Distilled models average the two heads as
 * timm's VisionTransformerDistilled does at inference: (head(pooled) + head_dist(x[:, dist])) / 2.
 */
function head(ctx: LowerContext, x: Value): Value {
  const { b, spec } = ctx;
  const [B, N, D] = b.shape(x);
  const np = prefixTokens(spec);
  const tokenAt = (i: number) => b.reshape(b.slice(x, 1, i, i + 1), [B, D]);
  const finish = (name: string, v: Value) => {
    if (spec.finalNorm && spec.fcNorm) v = ctx.norm('fc_norm', v);
    return ctx.dropout(name, v, spec.dropout.head);
  };

  // timm global_pool 'token' takes x[:, 0]; 'avg' averages the tokens after the prefix.
  let pooled = b.scope('pool', () =>
    spec.pool === 'cls' ? tokenAt(0) : b.reduce('reduce_mean', b.slice(x, 1, np, N), 1),
  );
  pooled = finish('head_drop', pooled);
  const K = spec.head.classes;
  if (!spec.tokens.distill) return K > 0 ? ctx.linear('head', pooled, K) : pooled;

  let dist = b.scope('pool_dist', () => tokenAt(spec.tokens.cls ? 1 : 0));
  dist = finish('head_drop', dist);
  if (K > 0) {
    pooled = ctx.linear('head', pooled, K);
    dist = ctx.linear('head_dist', dist, K);
  }
  return b.scope('head_avg', () => b.scale(b.addv(pooled, dist), 0.5));
}
