/**
 * WGSL kernel renderers, one per kernel family, and the KernelSource contract they share.
 * See docs/KERNELS.md for layouts, bindings and numerics of each family.
 */

export * from './builder.js';
export {
  ACTIVATIONS,
  activationExpr,
  mathPrelude,
  type Activation,
  type MathFn,
} from './activations.js';
export { erfWgsl } from './erf.js';
export {
  renderMatmul,
  DEFAULT_MATMUL_TILING,
  type MatmulDesc,
  type MatmulTiling,
  type Im2colLayout,
} from './matmul.js';
export { renderNorm, type NormDesc } from './norm.js';
export { renderAttention, type AttentionDesc } from './attention.js';
export {
  renderElementwise,
  broadcastIndex,
  ew,
  DYNAMIC,
  UNARY_OPS,
  BINARY_OPS,
  type ElementwiseDesc,
  type Expr,
  type UnaryOp,
  type BinaryOp,
} from './elementwise.js';
export { renderReduce, type ReduceDesc, type ReduceOp } from './reduce.js';
export { renderSoftmax, type SoftmaxDesc } from './softmax.js';
