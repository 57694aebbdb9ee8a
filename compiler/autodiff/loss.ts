// The training objective, attached to a forward graph that outputs logits. Kept apart from the
// lowering so that what is optimized (the loss and its options) is decided here, next to the
// backward pass that differentiates it.
import type { GraphBuilder, Value } from '../ir/builder.js';

export interface LossOptions {
  /** Label smoothing in [0, 1): torch's F.cross_entropy(label_smoothing=…). */
  smoothing: number;
}

/**
 * Adds the `labels` input (i32 [B]) and loss = mean cross-entropy of `logits` [B, K] against it
 * with label smoothing, as module "loss" (the lowering names it the same way). For a distilled
 * model the logits are already the average of the two heads, which is what timm's
 * VisionTransformerDistilled trains on without a teacher.
 */
export function addCrossEntropyLoss(
  b: GraphBuilder,
  logits: Value,
  opts: LossOptions,
): { labels: Value; loss: Value } {
  const s = b.shape(logits);
  if (s.length !== 2) throw new Error(`addCrossEntropyLoss: logits must be [B, K], got [${s}]`);
  if (!(opts.smoothing >= 0 && opts.smoothing < 1))
    throw new Error(`addCrossEntropyLoss: smoothing ${opts.smoothing} outside [0, 1)`);
  const labels = b.input('labels', [s[0]], 'i32');
  const loss = b.scope('loss', () => b.crossEntropy(logits, labels, opts.smoothing));
  return { labels, loss };
}
