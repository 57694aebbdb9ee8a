// One VJP rule per op (ops.ts): given ∂loss/∂output, the gradient with respect to each input,
// built as new graph nodes. The layout rules live here; elementwise and matmul in
// rules-elementwise.ts, reductions, norms, loss and dropout in rules-nn.ts.
import type { Node, NodeOf } from '../ir/graph.js';
import type { OpKind } from '../ir/ops.js';
import { binaryVjp, matmulVjp, unaryVjp } from './rules-elementwise.js';
import {
  attentionVjp,
  crossEntropyVjp,
  dropoutVjp,
  normVjp,
  reduceVjp,
  softmaxVjp,
} from './rules-nn.js';
import { type VjpArgs, type VjpResult, type VjpRule, sumToShape, zeros } from './vjp.js';

export type { VjpArgs, VjpResult, VjpRule } from './vjp.js';
export { sumToShape } from './vjp.js';

const reshapeVjp = ({ b, node, g, need }: VjpArgs<NodeOf<'reshape'>>): VjpResult => [
  need[0] ? b.reshape(g, b.shape(node.inputs[0])) : null,
];

/** The inverse permutation: out axis i came from input axis perm[i]. */
const transposeVjp = ({ b, node, g, need }: VjpArgs<NodeOf<'transpose'>>): VjpResult => {
  if (!need[0]) return [null];
  const inv = new Array<number>(node.attrs.perm.length);
  node.attrs.perm.forEach((p, i) => (inv[p] = i));
  return [b.transpose(g, inv)];
};

/** The gradient back in place, zeros around it: a concat with constant zero fills. */
const sliceVjp = ({ b, node, g, need }: VjpArgs<NodeOf<'slice'>>): VjpResult => {
  if (!need[0]) return [null];
  const { axis, start, end } = node.attrs;
  const xs = b.shape(node.inputs[0]);
  const fill = (n: number) =>
    zeros(
      b,
      xs.map((d, i) => (i === axis ? n : d)),
    );
  const parts = [
    ...(start > 0 ? [fill(start)] : []),
    g,
    ...(end < xs[axis] ? [fill(xs[axis] - end)] : []),
  ];
  return [parts.length === 1 ? g : b.concat(parts, axis)];
};

/** Each input's gradient is its own slab of g. */
const concatVjp = ({ b, node, g, need }: VjpArgs<NodeOf<'concat'>>): VjpResult => {
  const { axis } = node.attrs;
  let at = 0;
  return node.inputs.map((x, i) => {
    const len = b.shape(x)[axis];
    at += len;
    if (!need[i]) return null;
    return len === node.shape[axis] ? g : b.slice(g, axis, at - len, at);
  });
};

const broadcastVjp = ({ b, node, g, need }: VjpArgs<NodeOf<'broadcast_to'>>): VjpResult => [
  need[0] ? sumToShape(b, g, b.shape(node.inputs[0])) : null,
];

/**
 * With stride = kernel, im2col is a pure permutation of the image:
 *   x [B, C, R·ph, Q·pw] = [B, C, R, ph, Q, pw] → transpose(0, 2, 4, 1, 3, 5) → [B, R·Q, C·ph·pw]
 * so its VJP (col2im) is the inverse permutation, and no element is summed.
 */
const im2colVjp = ({ b, node, g, need }: VjpArgs<NodeOf<'im2col'>>): VjpResult => {
  if (!need[0]) return [null];
  const [B, C, H, W] = b.shape(node.inputs[0]);
  const { ph, pw } = node.attrs;
  const six = b.reshape(g, [B, H / ph, W / pw, C, ph, pw]);
  return [b.reshape(b.transpose(six, [0, 3, 1, 4, 2, 5]), [B, C, H, W])];
};

/** Leaves and integer-valued ops pass no gradient. */
const none = ({ node }: VjpArgs): VjpResult => node.inputs.map(() => null);

/** Ops that only gradients use (norm_grad, attention_grad): no second derivatives. */
const firstOrderOnly = ({ node, need }: VjpArgs): VjpResult => {
  if (need.some(Boolean))
    throw new Error(
      `autodiff: %${node.id} ${node.op} is a gradient op; second derivatives are not supported`,
    );
  return node.inputs.map(() => null);
};

type RuleTable = { [K in OpKind]: VjpRule<NodeOf<K>> };

const RULES: RuleTable = {
  input: none,
  param: none,
  const: none,
  matmul: matmulVjp,
  neg: unaryVjp,
  exp: unaryVjp,
  log: unaryVjp,
  sqrt: unaryVjp,
  rsqrt: unaryVjp,
  recip: unaryVjp,
  square: unaryVjp,
  tanh: unaryVjp,
  erf: unaryVjp,
  gelu: unaryVjp,
  gelu_tanh: unaryVjp,
  relu: unaryVjp,
  silu: unaryVjp,
  sigmoid: unaryVjp,
  step: unaryVjp,
  scale: unaryVjp,
  add: binaryVjp,
  sub: binaryVjp,
  mul: binaryVjp,
  div: binaryVjp,
  max: binaryVjp,
  reduce_sum: reduceVjp,
  reduce_mean: reduceVjp,
  reduce_max: reduceVjp,
  softmax: softmaxVjp,
  logsoftmax: softmaxVjp,
  layernorm: normVjp,
  rmsnorm: normVjp,
  norm_grad: firstOrderOnly,
  attention: attentionVjp,
  attention_grad: firstOrderOnly,
  reshape: reshapeVjp,
  transpose: transposeVjp,
  slice: sliceVjp,
  concat: concatVjp,
  broadcast_to: broadcastVjp,
  im2col: im2colVjp,
  cross_entropy: crossEntropyVjp,
  one_hot: none,
  dropout: dropoutVjp,
  drop_path: dropoutVjp,
};

/**
 * Ops through which no gradient flows: their output is piecewise constant (step) or a function
 * of integers only (one_hot). grad.ts prunes paths through them.
 */
export const NON_DIFFERENTIABLE: ReadonlySet<OpKind> = new Set<OpKind>([
  'input',
  'param',
  'const',
  'step',
  'one_hot',
]);

/** Applies the rule of `a.node.op`. */
export function vjp(a: VjpArgs): VjpResult {
  const rule = RULES[a.node.op] as VjpRule<Node>;
  return rule(a);
}
