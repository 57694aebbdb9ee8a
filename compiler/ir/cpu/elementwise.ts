// Elementwise ops and numpy broadcasting for the reference interpreter.
import { stridesOf } from '../graph.js';
import type { BinaryOp, UnaryOp } from '../ops.js';
import { erf, gelu, geluTanh, sigmoid } from './scalar.js';

const UNARY: Record<Exclude<UnaryOp, 'scale'>, (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  recip: (x) => 1 / x,
  square: (x) => x * x,
  tanh: Math.tanh,
  erf,
  gelu,
  gelu_tanh: geluTanh,
  relu: (x) => (x > 0 ? x : 0),
  silu: (x) => x * sigmoid(x),
  sigmoid,
  step: (x) => (x > 0 ? 1 : 0),
};

export function unary(op: UnaryOp, x: Float64Array, factor = 1): Float64Array {
  const out = new Float64Array(x.length);
  if (op === 'scale') {
    for (let i = 0; i < x.length; i++) out[i] = factor * x[i];
    return out;
  }
  const f = UNARY[op];
  for (let i = 0; i < x.length; i++) out[i] = f(x[i]);
  return out;
}

/**
 * Strides for reading `shape` as if broadcast to `target` (0 on broadcast axes), one per
 * target axis.
 */
export function broadcastStrides(shape: readonly number[], target: readonly number[]): number[] {
  const own = stridesOf(shape);
  const r = target.length;
  const out = new Array<number>(r).fill(0);
  for (let i = 0; i < shape.length; i++) {
    const d = r - shape.length + i;
    out[d] = shape[i] === 1 && target[d] !== 1 ? 0 : own[i];
  }
  return out;
}

/**
 * Calls visit(outIndex, offsetA, offsetB) for every element of `target` in row-major order,
 * with offsets computed from per-axis strides: the innermost axis is a tight loop so the hot
 * case (a bias broadcast along rows) costs one add per element.
 */
function forEachBroadcast(
  target: readonly number[],
  sa: readonly number[],
  sb: readonly number[],
  visit: (o: number, ia: number, ib: number, n: number, da: number, db: number) => void,
): void {
  const r = target.length;
  if (r === 0) {
    visit(0, 0, 0, 1, 0, 0);
    return;
  }
  const inner = target[r - 1];
  const outer = target.slice(0, -1).reduce((p, d) => p * d, 1);
  if (inner === 0 || outer === 0) return;
  const idx = new Array<number>(r - 1).fill(0);
  let ia = 0;
  let ib = 0;
  for (let o = 0; o < outer; o++) {
    visit(o * inner, ia, ib, inner, sa[r - 1], sb[r - 1]);
    // Odometer increment of the outer index, keeping the offsets in step.
    for (let d = r - 2; d >= 0; d--) {
      idx[d]++;
      ia += sa[d];
      ib += sb[d];
      if (idx[d] < target[d]) break;
      ia -= sa[d] * target[d];
      ib -= sb[d] * target[d];
      idx[d] = 0;
    }
  }
}

export function binary(
  op: BinaryOp,
  a: Float64Array,
  aShape: readonly number[],
  b: Float64Array,
  bShape: readonly number[],
  outShape: readonly number[],
): Float64Array {
  const n = outShape.reduce((p, d) => p * d, 1);
  const out = new Float64Array(n);
  if (a.length === n && b.length === n) {
    binaryLoop(op, out, 0, a, 0, 1, b, 0, 1, n);
    return out;
  }
  const sa = broadcastStrides(aShape, outShape);
  const sb = broadcastStrides(bShape, outShape);
  forEachBroadcast(outShape, sa, sb, (o, ia, ib, len, da, db) =>
    binaryLoop(op, out, o, a, ia, da, b, ib, db, len),
  );
  return out;
}

function binaryLoop(
  op: BinaryOp,
  out: Float64Array,
  o: number,
  a: Float64Array,
  ia: number,
  da: number,
  b: Float64Array,
  ib: number,
  db: number,
  n: number,
): void {
  switch (op) {
    case 'add':
      for (let j = 0; j < n; j++) out[o + j] = a[ia + j * da] + b[ib + j * db];
      return;
    case 'sub':
      for (let j = 0; j < n; j++) out[o + j] = a[ia + j * da] - b[ib + j * db];
      return;
    case 'mul':
      for (let j = 0; j < n; j++) out[o + j] = a[ia + j * da] * b[ib + j * db];
      return;
    case 'div':
      for (let j = 0; j < n; j++) out[o + j] = a[ia + j * da] / b[ib + j * db];
      return;
    case 'max':
      for (let j = 0; j < n; j++) {
        const x = a[ia + j * da];
        const y = b[ib + j * db];
        // NaN propagates, as torch.maximum.
        out[o + j] = x > y || Number.isNaN(x) ? x : y;
      }
      return;
  }
}

/** broadcast_to: numpy broadcast of x to `shape`. */
export function broadcastTo<T extends Float64Array | Int32Array>(
  x: T,
  xShape: readonly number[],
  shape: readonly number[],
): T {
  const n = shape.reduce((p, d) => p * d, 1);
  const out = (x instanceof Int32Array ? new Int32Array(n) : new Float64Array(n)) as T;
  const sx = broadcastStrides(xShape, shape);
  const zero = new Array<number>(shape.length).fill(0);
  forEachBroadcast(shape, sx, zero, (o, ix, _ib, len, dx) => {
    for (let j = 0; j < len; j++) out[o + j] = x[ix + j * dx];
  });
  return out;
}
