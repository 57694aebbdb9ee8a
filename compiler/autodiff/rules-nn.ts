// VJPs of reductions, softmax, the norms, the loss and the random masks. Each is the textbook
// formula written with primitive ops; a fused kernel for any of them is codegen's business.
import type { NodeOf } from '../ir/graph.js';
import type { ReduceOp } from '../ir/ops.js';
import { type VjpArgs, type VjpResult, keptShape, scalar, sumToShape } from './vjp.js';

/**
 * reduce_sum: every input element gets the gradient of its sum; reduce_mean: that over n;
 * reduce_max: the maximal elements share it equally (as torch.amax; a unique max takes all).
 */
export function reduceVjp({ b, node, g, need }: VjpArgs<NodeOf<ReduceOp>>): VjpResult {
  if (!need[0]) return [null];
  const x = node.inputs[0];
  const xs = b.shape(x);
  const { axis, keepdims } = node.attrs;
  const kept = keptShape(xs, axis);
  const gk = keepdims ? g : b.reshape(g, kept);
  if (node.op === 'reduce_sum') return [b.broadcastTo(gk, xs)];
  if (node.op === 'reduce_mean') return [b.broadcastTo(b.scale(gk, 1 / xs[axis]), xs)];
  // x ≤ max everywhere, so 1 - step(max - x) is exactly the indicator of x == max.
  const yk = keepdims ? node.id : b.reshape(node.id, kept);
  const isMax = b.binary('sub', scalar(b, 1), b.unary('step', b.binary('sub', yk, x)));
  const share = b.binary('div', isMax, b.reduce('reduce_sum', isMax, axis, true));
  return [b.mul(gk, share)];
}

/** softmax: dx = y·(g - Σ g·y); logsoftmax: dx = g - softmax(x)·Σ g (sums along the axis). */
export function softmaxVjp({
  b,
  node,
  g,
  need,
}: VjpArgs<NodeOf<'softmax' | 'logsoftmax'>>): VjpResult {
  if (!need[0]) return [null];
  const { axis } = node.attrs;
  const y = node.id;
  if (node.op === 'softmax') {
    const dot = b.reduce('reduce_sum', b.mul(g, y), axis, true);
    return [b.mul(y, b.binary('sub', g, dot))];
  }
  const total = b.reduce('reduce_sum', g, axis, true);
  return [b.binary('sub', g, b.mul(b.unary('exp', y), total))];
}

/**
 * attention(q, k, v): the per-query logsumexp and D = Σ o·dO, then dq, dk, dv, as attention_grad
 * ops that recompute the probabilities instead of keeping them (flash kernels, no N×N matrix),
 * rather than the chain's matmul and softmax VJPs.
 */
export function attentionVjp({ b, node, g, need }: VjpArgs<NodeOf<'attention'>>): VjpResult {
  if (!need.some(Boolean)) return [null, null, null];
  const [q, k, v] = node.inputs;
  return b.attentionGrad(q, k, v, node.id, g, node.attrs.scale, need);
}

/**
 * layernorm (inputs x, weight?, bias?) and rmsnorm (x, weight?). With d = g·weight (or g):
 *   layernorm dx = r·(d - mean(d) - x̂·mean(d·x̂))      rmsnorm dx = r·(d - x̂·mean(d·x̂))
 *   dweight = Σ g·x̂,  dbias = Σ g   (sums over every axis but the last)
 * dx and g·x̂ are norm_grad ops (row kernels recomputing the statistics, instead of ~15 kernels
 * of reductions and elementwise ops); dweight then sums g·x̂ over the rows.
 */
export function normVjp({ b, node, g, need }: VjpArgs<NodeOf<'layernorm' | 'rmsnorm'>>): VjpResult {
  const [x, ...affine] = node.inputs;
  const hasW = node.attrs.weight;
  const w = hasW ? affine[0] : null;
  const iBias = node.op === 'layernorm' && node.attrs.bias ? (hasW ? 2 : 1) : -1;
  const C = b.shape(x)[b.shape(x).length - 1];
  const { eps } = node.attrs;
  const center = node.op === 'layernorm';
  const out: VjpResult = node.inputs.map(() => null);
  if (iBias >= 0 && need[iBias]) out[iBias] = sumToShape(b, g, [C]);
  if (hasW && need[1]) out[1] = sumToShape(b, b.normWeightGrad(x, g, eps, center), [C]);
  if (need[0]) out[0] = b.normGrad(x, g, w, eps, center);
  return out;
}

/**
 * cross_entropy (mean over B, smoothing s): d/dlogits = g/B·(softmax(logits) - t) with the
 * smoothed target t = (1 - s)·one_hot(labels) + s/K. Labels are integers: no gradient.
 */
export function crossEntropyVjp({ b, node, g, need }: VjpArgs<NodeOf<'cross_entropy'>>): VjpResult {
  if (!need[0]) return [null, null];
  const [logits, labels] = node.inputs;
  const [B, K] = b.shape(logits);
  const s = node.attrs.smoothing;
  const hot = b.oneHot(labels, K);
  const target = s === 0 ? hot : b.addv(b.scale(hot, 1 - s), scalar(b, s / K));
  const diff = b.binary('sub', b.softmax(logits, 1), target);
  return [b.mul(diff, b.scale(g, 1 / B)), null];
}

/**
 * dropout / drop_path: the mask is a pure function of (seed, stream, index), so applying the
 * same op (same rate, stream and seed) to the gradient drops exactly what the forward dropped
 * and scales the rest by the same 1/(1 - rate).
 */
export function dropoutVjp({
  b,
  node,
  g,
  need,
}: VjpArgs<NodeOf<'dropout' | 'drop_path'>>): VjpResult {
  if (!need[0]) return [null, null];
  const seed = node.inputs[1];
  const { rate, stream } = node.attrs;
  return [
    node.op === 'dropout' ? b.dropout(g, seed, rate, stream) : b.dropPath(g, seed, rate, stream),
    null,
  ];
}
