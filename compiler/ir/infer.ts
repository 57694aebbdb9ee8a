// Shape and dtype inference: the single place that decides what each op accepts and produces.
// The builder calls it for every new node and the verifier re-runs it over a whole graph, so a
// hand-built or pass-rewritten graph is held to exactly the same rules.
import { formatShape, numel } from './graph.js';
import { type DType, type OpAttrs, type OpKind, isBinaryOp, isReduceOp, isUnaryOp } from './ops.js';

export interface TypeInfo {
  readonly shape: readonly number[];
  readonly dtype: DType;
}

/** A bad op application; the message names the op and the offending shapes. */
export class ShapeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ShapeError';
  }
}

const fmt = (t: TypeInfo) => formatShape(t.dtype, t.shape);

/** Numpy broadcast of two shapes, or null if they are incompatible. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] | null {
  const r = Math.max(a.length, b.length);
  const out = new Array<number>(r);
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1;
    const db = b[b.length - r + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return null;
    out[i] = da === 1 ? db : da;
  }
  return out;
}

const isDim = (d: number) => Number.isInteger(d) && d >= 0;

/**
 * The type of `op` applied to `inputs` with `attrs`, or a ShapeError. Leaves take their type
 * from `leaf` (the builder passes the declared shape and dtype).
 */
export function inferType<K extends OpKind>(
  op: K,
  attrs: OpAttrs[K],
  inputs: readonly TypeInfo[],
  leaf?: TypeInfo,
): TypeInfo {
  const fail = (msg: string): never => {
    throw new ShapeError(`${op}: ${msg} (inputs: ${inputs.map(fmt).join(', ') || 'none'})`);
  };
  const arity = (n: number) => {
    if (inputs.length !== n) fail(`expects ${n} input(s), got ${inputs.length}`);
  };
  const f32 = (i: number) => {
    if (inputs[i].dtype !== 'f32') fail(`input ${i} must be f32`);
  };
  const axisIn = (axis: number, rank: number) => {
    if (!Number.isInteger(axis) || axis < 0 || axis >= rank)
      fail(`axis ${axis} out of range for rank ${rank}`);
  };
  const a = attrs as Record<string, unknown>;

  if (op === 'input' || op === 'param' || op === 'const') {
    arity(0);
    if (!leaf) return fail('a leaf needs a declared shape and dtype');
    if (!leaf.shape.every(isDim)) fail(`bad shape [${leaf.shape.join(',')}]`);
    if (op === 'param' && leaf.dtype !== 'f32') fail('parameters are f32');
    if (op === 'const') {
      const init = (attrs as OpAttrs['const']).init;
      if (init.kind === 'values' && init.values.length !== numel(leaf.shape))
        fail(`${init.values.length} values for shape [${leaf.shape.join(',')}]`);
      if (init.kind === 'sincos2d') {
        if (init.dim % 4 !== 0) fail(`sincos2d dim ${init.dim} is not a multiple of 4`);
        const want = [init.rows * init.cols, init.dim];
        if (leaf.shape.length !== 2 || leaf.shape[0] !== want[0] || leaf.shape[1] !== want[1])
          fail(`sincos2d table is [${want.join(',')}], declared [${leaf.shape.join(',')}]`);
      }
    }
    return { shape: [...leaf.shape], dtype: leaf.dtype };
  }

  if (isUnaryOp(op)) {
    arity(1);
    f32(0);
    return { shape: [...inputs[0].shape], dtype: 'f32' };
  }
  if (isBinaryOp(op)) {
    arity(2);
    f32(0);
    f32(1);
    const s = broadcastShapes(inputs[0].shape, inputs[1].shape);
    if (!s) return fail('shapes do not broadcast');
    return { shape: s, dtype: 'f32' };
  }
  if (isReduceOp(op)) {
    arity(1);
    f32(0);
    const { axis, keepdims } = attrs as OpAttrs['reduce_sum'];
    const s = inputs[0].shape;
    axisIn(axis, s.length);
    return {
      shape: keepdims ? s.map((d, i) => (i === axis ? 1 : d)) : s.filter((_, i) => i !== axis),
      dtype: 'f32',
    };
  }

  switch (op) {
    case 'matmul': {
      arity(2);
      f32(0);
      f32(1);
      const { transA, transB } = a as OpAttrs['matmul'];
      const [A, B] = [inputs[0].shape, inputs[1].shape];
      if (A.length < 2 || B.length < 2) fail('both operands need rank ≥ 2');
      const M = transA ? A[A.length - 1] : A[A.length - 2];
      const KA = transA ? A[A.length - 2] : A[A.length - 1];
      const KB = transB ? B[B.length - 1] : B[B.length - 2];
      const N = transB ? B[B.length - 2] : B[B.length - 1];
      if (KA !== KB) fail(`contraction sizes differ (${KA} vs ${KB})`);
      const batch = broadcastShapes(A.slice(0, -2), B.slice(0, -2));
      if (!batch) return fail('batch dimensions do not broadcast');
      return { shape: [...batch, M, N], dtype: 'f32' };
    }
    case 'softmax':
    case 'logsoftmax': {
      arity(1);
      f32(0);
      axisIn((a as OpAttrs['softmax']).axis, inputs[0].shape.length);
      return { shape: [...inputs[0].shape], dtype: 'f32' };
    }
    case 'layernorm':
    case 'rmsnorm': {
      const n = a as { eps: number; weight: boolean; bias?: boolean };
      arity(1 + (n.weight ? 1 : 0) + (n.bias ? 1 : 0));
      inputs.forEach((_, i) => f32(i));
      const s = inputs[0].shape;
      if (s.length < 1) fail('needs rank ≥ 1');
      if (!(n.eps >= 0)) fail(`eps must be ≥ 0, got ${n.eps}`);
      const C = s[s.length - 1];
      for (let i = 1; i < inputs.length; i++)
        if (inputs[i].shape.length !== 1 || inputs[i].shape[0] !== C)
          fail(`affine input ${i} must be [${C}]`);
      return { shape: [...s], dtype: 'f32' };
    }
    case 'norm_grad': {
      const n = a as OpAttrs['norm_grad'];
      if (n.part !== 'input' && n.part !== 'weight') fail(`unknown part '${String(n.part)}'`);
      if (n.part === 'weight' && n.weight) fail("part 'weight' takes no weight input");
      arity(2 + (n.weight ? 1 : 0));
      inputs.forEach((_, i) => f32(i));
      const s = inputs[0].shape;
      if (s.length < 1) fail('needs rank ≥ 1');
      if (!(n.eps >= 0)) fail(`eps must be ≥ 0, got ${n.eps}`);
      if (inputs[1].shape.join() !== s.join()) fail(`the gradient must be shaped as x [${s}]`);
      const C = s[s.length - 1];
      if (n.weight && (inputs[2].shape.length !== 1 || inputs[2].shape[0] !== C))
        fail(`weight must be [${C}]`);
      return { shape: [...s], dtype: 'f32' };
    }
    case 'attention':
    case 'attention_grad': {
      const part = op === 'attention' ? 'out' : (a as OpAttrs['attention_grad']).part;
      const arityOf: Record<string, number> = { out: 3, lse: 2, delta: 2, q: 6, k: 6, v: 6 };
      if (!(part in arityOf)) fail(`unknown part '${String(part)}'`);
      if (!Number.isFinite((a as OpAttrs['attention']).scale)) fail('scale must be finite');
      arity(arityOf[part]);
      inputs.forEach((_, i) => f32(i));
      const s = inputs[0].shape;
      if (s.length !== 4) fail(`the first input must be [B, H, N, hd], got [${s}]`);
      for (let i = 1; i < Math.min(inputs.length, 4); i++)
        if (inputs[i].shape.join() !== s.join())
          fail(`input ${i} must be shaped as the first [${s}], got [${inputs[i].shape}]`);
      const rows = s.slice(0, 3);
      for (let i = 4; i < inputs.length; i++)
        if (inputs[i].shape.join() !== rows.join())
          fail(
            `input ${i} (${i === 4 ? 'lse' : 'delta'}) must be [${rows}], got [${inputs[i].shape}]`,
          );
      return { shape: part === 'lse' || part === 'delta' ? rows : [...s], dtype: 'f32' };
    }
    case 'reshape': {
      arity(1);
      const shape = (a as OpAttrs['reshape']).shape;
      if (!shape.every(isDim)) fail(`bad target shape [${shape.join(',')}]`);
      if (numel(shape) !== numel(inputs[0].shape))
        fail(`cannot reshape ${numel(inputs[0].shape)} elements to [${shape.join(',')}]`);
      return { shape: [...shape], dtype: inputs[0].dtype };
    }
    case 'transpose': {
      arity(1);
      const perm = (a as OpAttrs['transpose']).perm;
      const s = inputs[0].shape;
      const seen = new Set(perm);
      if (
        perm.length !== s.length ||
        seen.size !== s.length ||
        !perm.every((p) => isDim(p) && p < s.length)
      )
        fail(`perm [${perm.join(',')}] is not a permutation of rank ${s.length}`);
      return { shape: perm.map((p) => s[p]), dtype: inputs[0].dtype };
    }
    case 'slice': {
      arity(1);
      const { axis, start, end } = a as OpAttrs['slice'];
      const s = inputs[0].shape;
      axisIn(axis, s.length);
      if (
        !Number.isInteger(start) ||
        !Number.isInteger(end) ||
        start < 0 ||
        end <= start ||
        end > s[axis]
      )
        fail(`slice [${start}, ${end}) out of range for axis ${axis} of size ${s[axis]}`);
      return { shape: s.map((d, i) => (i === axis ? end - start : d)), dtype: inputs[0].dtype };
    }
    case 'concat': {
      if (inputs.length < 1) fail('needs at least one input');
      const axis = (a as OpAttrs['concat']).axis;
      const s0 = inputs[0].shape;
      axisIn(axis, s0.length);
      let total = 0;
      for (const t of inputs) {
        if (t.dtype !== inputs[0].dtype) fail('inputs differ in dtype');
        if (t.shape.length !== s0.length || t.shape.some((d, i) => i !== axis && d !== s0[i]))
          fail(`inputs differ outside axis ${axis}`);
        total += t.shape[axis];
      }
      return { shape: s0.map((d, i) => (i === axis ? total : d)), dtype: inputs[0].dtype };
    }
    case 'broadcast_to': {
      arity(1);
      const shape = (a as OpAttrs['broadcast_to']).shape;
      const b = broadcastShapes(inputs[0].shape, shape);
      if (
        !shape.every(isDim) ||
        !b ||
        b.length !== shape.length ||
        b.some((d, i) => d !== shape[i])
      )
        fail(`cannot broadcast to [${shape.join(',')}]`);
      return { shape: [...shape], dtype: inputs[0].dtype };
    }
    case 'im2col': {
      arity(1);
      f32(0);
      const { ph, pw } = a as OpAttrs['im2col'];
      const s = inputs[0].shape;
      if (s.length !== 4) fail('expects [B, C, H, W]');
      if (!(ph > 0 && pw > 0 && s[2] % ph === 0 && s[3] % pw === 0))
        fail(`patch ${ph}x${pw} does not tile ${s[2]}x${s[3]}`);
      return { shape: [s[0], (s[2] / ph) * (s[3] / pw), s[1] * ph * pw], dtype: 'f32' };
    }
    case 'cross_entropy': {
      arity(2);
      f32(0);
      const [L, Y] = inputs;
      if (L.shape.length !== 2) fail('logits must be [B, K]');
      if (Y.dtype !== 'i32' || Y.shape.length !== 1 || Y.shape[0] !== L.shape[0])
        fail(`labels must be i32[${L.shape[0]}]`);
      const s = (a as OpAttrs['cross_entropy']).smoothing;
      if (!(s >= 0 && s <= 1)) fail(`smoothing ${s} outside [0, 1]`);
      return { shape: [], dtype: 'f32' };
    }
    case 'one_hot': {
      arity(1);
      if (inputs[0].dtype !== 'i32') fail('labels must be i32');
      const k = (a as OpAttrs['one_hot']).classes;
      if (!(Number.isInteger(k) && k > 0)) fail(`classes must be a positive integer, got ${k}`);
      return { shape: [...inputs[0].shape, k], dtype: 'f32' };
    }
    case 'dropout':
    case 'drop_path': {
      arity(2);
      f32(0);
      if (inputs[1].dtype !== 'i32' || inputs[1].shape.length !== 0)
        fail('seed must be an i32 scalar');
      const { rate, stream } = a as OpAttrs['dropout'];
      if (!(rate >= 0 && rate < 1)) fail(`rate ${rate} outside [0, 1)`);
      if (!(Number.isInteger(stream) && stream >= 0 && stream < 2 ** 32))
        fail(`stream ${stream} is not a u32`);
      if (op === 'drop_path' && inputs[0].shape.length < 1)
        fail('needs rank ≥ 1 (samples on axis 0)');
      return { shape: [...inputs[0].shape], dtype: 'f32' };
    }
  }
  return fail('unknown op');
}
