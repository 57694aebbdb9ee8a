// One training step as one graph: the forward pass in train mode (dropout sites active), the
// cross-entropy loss, the backward pass, optional global-norm clipping and the optimizer update.
// The runtime compiles it once and runs it every step, feeding the batch, the step's scalars
// (schedule.ts, optim.ts) and the optimizer state, and swapping in the new params and states.
import type { Value } from '../ir/builder.js';
import { type Graph, graphParams, outputNode } from '../ir/graph.js';
import { assertValidGraph } from '../ir/verify.js';
import { lowerVit } from '../lower/vit.js';
import { modelParams } from '../spec/params.js';
import type { Spec } from '../spec/types.js';
import { attentionOps } from './attention-op.js';
import { appendBackward, builderFrom } from './grad.js';
import { addCrossEntropyLoss } from './loss.js';
import { type OptimizerConfig, appendOptimizerUpdate, clipGradNorm } from './optim.js';

export interface TrainGraphOptions {
  batch: number;
  /** Label smoothing; default spec.train.smoothing. */
  smoothing?: number;
  /** Global gradient-norm clip; null = none; default spec.train.clip. */
  clip?: number | null;
  /** Default spec.train.optimizer. */
  optimizer?: OptimizerConfig;
  /** Also output `grad.{name}`: the gradients the optimizer consumed (after clipping). */
  outputGrads?: boolean;
  /**
   * 'op' (default): attention chains become attention ops (attention-op.ts), whose backward
   * recomputes the probabilities; 'explicit': keep the lowering's matmul / softmax chain and
   * differentiate it op by op (the probabilities are kept for the backward pass).
   */
  attention?: AttentionForm;
}

export type AttentionForm = 'op' | 'explicit';

/**
 * The forward pass in train mode, the loss and the backward pass, without clipping or the
 * optimizer: outputs `loss` [], `logits` [B, K] and `grad.{param}` (the raw gradients) for every
 * parameter in timm order. The GPU training plan applies the optimizer to these gradients as one
 * packed kernel (compiler/codegen/pack-optimizer.ts) instead of per-parameter graph ops.
 */
export function buildBackwardGraph(
  spec: Spec,
  opts: { batch: number; smoothing?: number; attention?: AttentionForm },
): Graph {
  const { b, grads, infos } = forwardAndBackward(spec, opts.batch, opts.smoothing, opts.attention);
  infos.forEach((p, k) => b.output(`grad.${p.name}`, grads[k]));
  const g = b.build();
  assertValidGraph(g, `backward graph of ${spec.name}`);
  return g;
}

function forwardAndBackward(
  spec: Spec,
  batch: number,
  smoothingOpt?: number,
  attention: AttentionForm = 'op',
) {
  if (spec.head.classes === 0) throw new Error('buildTrainGraph: training needs a classifier head');
  const smoothing = smoothingOpt ?? spec.train.smoothing;
  const lowered = lowerVit(spec, { batch, mode: 'train' });
  const forward = attention === 'op' ? attentionOps(lowered) : lowered;
  const b = builderFrom(forward);
  const logits = outputNode(forward, 'logits').id;
  const { loss } = addCrossEntropyLoss(b, logits, { smoothing });

  const infos = modelParams(spec);
  const ids = new Map(graphParams(forward).map((p) => [p.attrs.name, p.id]));
  const missing = infos.filter((p) => !ids.has(p.name)).map((p) => p.name);
  if (missing.length > 0 || ids.size !== infos.length)
    throw new Error(
      `buildTrainGraph: the graph's parameters differ from modelParams (missing: ${missing.join(', ')})`,
    );
  const paramIds = infos.map((p) => ids.get(p.name)!);
  const raw = appendBackward(b, b.build(), loss, paramIds);
  const grads: Value[] = paramIds.map((id) => raw.get(id)!);
  b.output('loss', loss);
  b.output('logits', logits);
  return { b, grads, infos, paramIds };
}

/**
 * Inputs: `image` f32 [B, C, H, W], `labels` i32 [B], `rng_seed` i32 [] (only when a dropout
 * site is active), `lr` f32 [] (+ `bc1`, `bc2` for Adam/AdamW), the optimizer state
 * `{state}.{param}` (optim.ts optimizerStates), and every parameter.
 * Outputs: `loss` [], `logits` [B, K], `grad_norm` [] (with clipping: the norm before
 * clipping, as clip_grad_norm_ returns it), `new.{param}` for every parameter, then
 * `new_{state}.{param}` per state, parameters in timm order (modelParams), then `grad.{param}`
 * if asked for.
 */
export function buildTrainGraph(spec: Spec, opts: TrainGraphOptions): Graph {
  const clip = opts.clip === undefined ? spec.train.clip : opts.clip;
  const opt = opts.optimizer ?? spec.train.optimizer;
  const {
    b,
    grads: raw,
    infos,
    paramIds,
  } = forwardAndBackward(spec, opts.batch, opts.smoothing, opts.attention);
  let grads = raw;
  let total: Value | null = null;
  if (clip !== null) ({ grads, total } = clipGradNorm(b, grads, clip));
  const updated = appendOptimizerUpdate(
    b,
    opt,
    infos.map((info, k) => ({ info, value: paramIds[k], grad: grads[k] })),
  );

  if (total !== null) b.output('grad_norm', total);
  for (const u of updated) b.output(`new.${u.name}`, u.value);
  for (const state of updated[0]?.states.keys() ?? [])
    for (const u of updated) b.output(`new_${state}.${u.name}`, u.states.get(state)!);
  if (opts.outputGrads) infos.forEach((p, k) => b.output(`grad.${p.name}`, grads[k]));
  const g = b.build();
  assertValidGraph(g, `training graph of ${spec.name}`);
  return g;
}
