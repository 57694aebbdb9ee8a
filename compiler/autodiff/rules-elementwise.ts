// VJPs of the elementwise ops (unary and broadcasting binary) and of matmul.
import type { GraphBuilder, Value } from '../ir/builder.js';
import type { NodeOf } from '../ir/graph.js';
import type { BinaryOp, UnaryOp } from '../ir/ops.js';
import { type VjpArgs, type VjpResult, scalar, sumToShape } from './vjp.js';

const SQRT1_2 = Math.SQRT1_2;
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const TWO_OVER_SQRT_PI = 2 / Math.sqrt(Math.PI);
const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_K = 0.044715;

/**
 * d op(x)/dx as a graph value, from the input x and the output y (whichever is cheaper: exp,
 * sqrt, sigmoid and tanh reuse their own output rather than recomputing it).
 */
function derivative(b: GraphBuilder, op: Exclude<UnaryOp, 'scale' | 'step'>, x: Value, y: Value) {
  const one = () => scalar(b, 1);
  switch (op) {
    case 'neg':
      return scalar(b, -1);
    case 'exp':
      return y;
    case 'log':
      return b.unary('recip', x);
    case 'sqrt': // 1/(2√x)
      return b.scale(b.unary('recip', y), 0.5);
    case 'rsqrt': // -x^(-3/2)/2 = -y³/2
      return b.scale(b.mul(y, b.unary('square', y)), -0.5);
    case 'recip': // -1/x² = -y²
      return b.unary('neg', b.unary('square', y));
    case 'square':
      return b.scale(x, 2);
    case 'tanh':
      return b.binary('sub', one(), b.unary('square', y));
    case 'erf': // 2/√π·e^(-x²)
      return b.scale(b.unary('exp', b.unary('neg', b.unary('square', x))), TWO_OVER_SQRT_PI);
    case 'gelu': {
      // Φ(x) + x·φ(x): the normal CDF plus x times the normal density.
      const cdf = b.scale(b.addv(b.unary('erf', b.scale(x, SQRT1_2)), one()), 0.5);
      const pdf = b.scale(b.unary('exp', b.scale(b.unary('square', x), -0.5)), INV_SQRT_2PI);
      return b.addv(cdf, b.mul(x, pdf));
    }
    case 'gelu_tanh': {
      // y = x/2·(1 + t), t = tanh(c(x + k x³)):
      // y' = (1 + t)/2 + x/2·(1 - t²)·c(1 + 3k x²).
      const x2 = b.unary('square', x);
      const t = b.unary('tanh', b.scale(b.addv(x, b.scale(b.mul(x2, x), GELU_K)), GELU_C));
      const sech2 = b.binary('sub', one(), b.unary('square', t));
      const inner = b.addv(b.scale(x2, 3 * GELU_K * GELU_C), scalar(b, GELU_C));
      return b.addv(b.scale(b.addv(t, one()), 0.5), b.mul(b.scale(x, 0.5), b.mul(sech2, inner)));
    }
    case 'relu':
      return b.unary('step', x);
    case 'silu': {
      // (x·σ)' = σ + x·σ(1 - σ) = σ + y(1 - σ)
      const s = b.unary('sigmoid', x);
      return b.addv(s, b.mul(y, b.binary('sub', one(), s)));
    }
    case 'sigmoid':
      return b.mul(y, b.binary('sub', one(), y));
  }
}

export function unaryVjp({ b, node, g, need }: VjpArgs<NodeOf<UnaryOp>>): VjpResult {
  if (!need[0]) return [null];
  const x = node.inputs[0];
  switch (node.op) {
    case 'scale':
      return [b.scale(g, node.attrs.factor)];
    case 'neg':
      return [b.unary('neg', g)];
    case 'step': // zero almost everywhere, undefined at 0: no gradient flows through a step.
      return [null];
    default:
      return [b.mul(g, derivative(b, node.op, x, node.id))];
  }
}

/**
 * Binary ops broadcast their inputs, so each input's gradient is the output-shaped gradient
 * summed back to that input's shape.
 */
export function binaryVjp({ b, node, g, need }: VjpArgs<NodeOf<BinaryOp>>): VjpResult {
  const [x, y] = node.inputs;
  const back = (v: Value | null, i: number) =>
    v === null ? null : sumToShape(b, v, b.shape(node.inputs[i]));
  let gx: Value | null = null;
  let gy: Value | null = null;
  switch (node.op) {
    case 'add':
      gx = need[0] ? g : null;
      gy = need[1] ? g : null;
      break;
    case 'sub':
      gx = need[0] ? g : null;
      gy = need[1] ? b.unary('neg', g) : null;
      break;
    case 'mul':
      gx = need[0] ? b.mul(g, y) : null;
      gy = need[1] ? b.mul(g, x) : null;
      break;
    case 'div': // d(x/y)/dy = -(x/y)/y: reuses the output.
      gx = need[0] ? b.binary('div', g, y) : null;
      gy = need[1] ? b.unary('neg', b.binary('div', b.mul(g, node.id), y)) : null;
      break;
    case 'max': {
      // The larger input takes the gradient; on a tie it goes to y (torch splits it in half;
      // ties have measure zero for real-valued data).
      const xWins = b.unary('step', b.binary('sub', x, y));
      gx = need[0] ? b.mul(g, xWins) : null;
      gy = need[1] ? b.mul(g, b.binary('sub', scalar(b, 1), xWins)) : null;
      break;
    }
  }
  return [back(gx, 0), back(gy, 1)];
}

/**
 * C = op(A)·op(B), op = identity or transpose per flag. With A' = op(A), B' = op(B):
 * dA' = g·B'ᵀ and dB' = A'ᵀ·g; a transposed operand gets the transpose of that, and every
 * product is again one matmul with flags (no explicit transposes). Broadcast batch dims are
 * summed back. When B is a plain matrix applied to a batched, untransposed A (every linear
 * layer), the batch folds into A's rows so dB is one 2-D product instead of a batched product
 * plus a reduction.
 */
export function matmulVjp({ b, node, g, need }: VjpArgs<NodeOf<'matmul'>>): VjpResult {
  const [A, B] = node.inputs;
  const { transA, transB } = node.attrs;
  const sa = b.shape(A);
  const sb = b.shape(B);
  let dA: Value | null = null;
  let dB: Value | null = null;
  if (need[0]) {
    dA = transA
      ? b.matmul(B, g, { transA: transB, transB: true })
      : b.matmul(g, B, { transB: !transB });
    dA = sumToShape(b, dA, sa);
  }
  if (need[1]) {
    if (sb.length === 2 && sa.length > 2 && !transA) {
      const A2 = b.reshape(A, [-1, sa[sa.length - 1]]);
      const g2 = b.reshape(g, [-1, node.shape[node.shape.length - 1]]);
      dB = transB ? b.matmul(g2, A2, { transA: true }) : b.matmul(A2, g2, { transA: true });
    } else {
      dB = transB
        ? b.matmul(g, A, { transA: true, transB: transA })
        : b.matmul(A, g, { transA: !transA });
      dB = sumToShape(b, dB, sb);
    }
  }
  return [dA, dB];
}
