// GraphBuilder: appends nodes in topological order, inferring each node's shape and dtype
// (infer.ts) so a bad application fails where it is written, naming the op and the shapes.
// Node names come from a scope stack that mirrors timm's module tree ("blocks.0" → "attn" →
// "qkv" gives "blocks.0.attn.qkv").
import type { Graph, GraphOutput, Node } from './graph.js';
import { type TypeInfo, inferType } from './infer.js';
import type { BinaryOp, ConstInit, DType, OpAttrs, OpKind, ReduceOp, UnaryOp } from './ops.js';

/** A value in the graph under construction (a node id). */
export type Value = number;

export class GraphBuilder {
  private readonly nodes: Node[] = [];
  private readonly outs: GraphOutput[] = [];
  private readonly scopes: string[] = [];
  private readonly leafNames = new Map<string, Value>();

  /**
   * Appends a node of any op; the typed helpers below are thin wrappers around this. The node
   * is named `name`, or after the open scopes when `name` is undefined, or not at all for null.
   */
  add<K extends OpKind>(
    op: K,
    inputs: readonly Value[],
    attrs: OpAttrs[K],
    leaf?: TypeInfo,
    name?: string | null,
  ): Value {
    for (const i of inputs)
      if (!Number.isInteger(i) || i < 0 || i >= this.nodes.length)
        throw new Error(`${op}: input %${i} does not exist (graph has ${this.nodes.length} nodes)`);
    const t = inferType(
      op,
      attrs,
      inputs.map((i) => this.nodes[i]),
      leaf,
    );
    const id = this.nodes.length;
    const nodeName =
      name === null
        ? undefined
        : (name ?? (this.scopes.length ? this.scopes.join('.') : undefined));
    const node = {
      id,
      op,
      inputs: [...inputs],
      shape: t.shape,
      dtype: t.dtype,
      attrs,
      ...(nodeName !== undefined ? { name: nodeName } : {}),
    } as unknown as Node;
    this.nodes.push(node);
    return id;
  }

  /** Runs `fn` with `name` pushed on the scope stack (nodes created inside are named after it). */
  scope<T>(name: string, fn: () => T): T {
    this.scopes.push(name);
    try {
      return fn();
    } finally {
      this.scopes.pop();
    }
  }

  /** The dotted path of the open scopes ("" at top level). */
  currentScope(): string {
    return this.scopes.join('.');
  }

  shape(v: Value): readonly number[] {
    return this.nodes[v].shape;
  }

  dtype(v: Value): DType {
    return this.nodes[v].dtype;
  }

  // ---- leaves ----
  input(name: string, shape: readonly number[], dtype: DType = 'f32'): Value {
    return this.leaf('input', name, { name }, { shape, dtype });
  }

  /** A parameter named as in timm's state_dict; declaring the same name twice is an error. */
  param(name: string, shape: readonly number[]): Value {
    return this.leaf('param', name, { name }, { shape, dtype: 'f32' });
  }

  constant(name: string, shape: readonly number[], init: ConstInit, dtype: DType = 'f32'): Value {
    return this.add('const', [], { name, init }, { shape, dtype });
  }

  /** A scalar f32 constant. */
  scalar(value: number): Value {
    return this.constant(String(value), [], { kind: 'fill', value });
  }

  private leaf(op: 'input' | 'param', key: string, attrs: { name: string }, t: TypeInfo): Value {
    const k = `${op}:${key}`;
    if (this.leafNames.has(k)) throw new Error(`${op} "${key}" is declared twice`);
    // Graph inputs belong to no module, whatever scope first asks for them.
    const id = this.add(op, [], attrs, t, op === 'param' ? key : null);
    this.leafNames.set(k, id);
    return id;
  }

  // ---- compute ----
  matmul(a: Value, b: Value, opts: { transA?: boolean; transB?: boolean } = {}): Value {
    return this.add('matmul', [a, b], {
      transA: opts.transA ?? false,
      transB: opts.transB ?? false,
    });
  }

  unary(op: Exclude<UnaryOp, 'scale'>, x: Value): Value {
    return this.add(op, [x], {});
  }

  scale(x: Value, factor: number): Value {
    return this.add('scale', [x], { factor });
  }

  binary(op: BinaryOp, a: Value, b: Value): Value {
    return this.add(op, [a, b], {});
  }

  addv(a: Value, b: Value): Value {
    return this.binary('add', a, b);
  }

  mul(a: Value, b: Value): Value {
    return this.binary('mul', a, b);
  }

  reduce(op: ReduceOp, x: Value, axis: number, keepdims = false): Value {
    return this.add(op, [x], { axis: this.axis(x, axis), keepdims });
  }

  softmax(x: Value, axis = -1): Value {
    return this.add('softmax', [x], { axis: this.axis(x, axis) });
  }

  logsoftmax(x: Value, axis = -1): Value {
    return this.add('logsoftmax', [x], { axis: this.axis(x, axis) });
  }

  layernorm(x: Value, weight: Value | null, bias: Value | null, eps: number): Value {
    const inputs = [x, ...(weight !== null ? [weight] : []), ...(bias !== null ? [bias] : [])];
    return this.add('layernorm', inputs, { eps, weight: weight !== null, bias: bias !== null });
  }

  rmsnorm(x: Value, weight: Value | null, eps: number): Value {
    return this.add('rmsnorm', weight !== null ? [x, weight] : [x], {
      eps,
      weight: weight !== null,
    });
  }

  /** The input gradient of layernorm (center) / rmsnorm given the output gradient g (ops.ts). */
  normGrad(x: Value, g: Value, weight: Value | null, eps: number, center: boolean): Value {
    return this.add('norm_grad', weight !== null ? [x, g, weight] : [x, g], {
      eps,
      center,
      weight: weight !== null,
      part: 'input',
    });
  }

  /** g·x̂ for a norm over the last axis: summed over the rows, its weight's gradient (ops.ts). */
  normWeightGrad(x: Value, g: Value, eps: number, center: boolean): Value {
    return this.add('norm_grad', [x, g], { eps, center, weight: false, part: 'weight' });
  }

  /**
   * The gradients of o = attention(q, k, v, scale) given the output's gradient dO: the
   * per-query logsumexp and D = Σ o·dO, then dq, dk, dv from them (ops.ts attention_grad), only
   * the parts `need` asks for.
   */
  attentionGrad(
    q: Value,
    k: Value,
    v: Value,
    o: Value,
    dO: Value,
    scale: number,
    need: readonly boolean[] = [true, true, true],
  ): (Value | null)[] {
    const lse = this.add('attention_grad', [q, k], { scale, part: 'lse' });
    const delta = this.add('attention_grad', [o, dO], { scale, part: 'delta' });
    const parts = ['q', 'k', 'v'] as const;
    return parts.map((part, i) =>
      need[i] ? this.add('attention_grad', [q, k, v, dO, lse, delta], { scale, part }) : null,
    );
  }

  // ---- layout ----
  /** Reshape; one entry may be -1 (inferred). */
  reshape(x: Value, shape: readonly number[]): Value {
    const s = [...shape];
    const free = s.indexOf(-1);
    if (free >= 0) {
      const known = s.reduce((p, d, i) => (i === free ? p : p * d), 1);
      const total = this.shape(x).reduce((p, d) => p * d, 1);
      s[free] = known > 0 && total % known === 0 ? total / known : NaN;
    }
    return this.add('reshape', [x], { shape: s });
  }

  transpose(x: Value, perm: readonly number[]): Value {
    return this.add('transpose', [x], { perm: [...perm] });
  }

  slice(x: Value, axis: number, start: number, end: number): Value {
    return this.add('slice', [x], { axis: this.axis(x, axis), start, end });
  }

  concat(xs: readonly Value[], axis: number): Value {
    if (xs.length === 0) throw new Error('concat: needs at least one input');
    return this.add('concat', xs, { axis: this.axis(xs[0], axis) });
  }

  broadcastTo(x: Value, shape: readonly number[]): Value {
    return this.add('broadcast_to', [x], { shape: [...shape] });
  }

  im2col(x: Value, ph: number, pw: number): Value {
    return this.add('im2col', [x], { ph, pw });
  }

  // ---- loss and randomness ----
  crossEntropy(logits: Value, labels: Value, smoothing: number): Value {
    return this.add('cross_entropy', [logits, labels], { smoothing });
  }

  oneHot(labels: Value, classes: number): Value {
    return this.add('one_hot', [labels], { classes });
  }

  dropout(x: Value, seed: Value, rate: number, stream: number): Value {
    return this.add('dropout', [x, seed], { rate, stream });
  }

  dropPath(x: Value, seed: Value, rate: number, stream: number): Value {
    return this.add('drop_path', [x, seed], { rate, stream });
  }

  // ---- outputs ----
  output(name: string, v: Value): void {
    if (this.outs.some((o) => o.name === name))
      throw new Error(`output "${name}" is declared twice`);
    if (!(v >= 0 && v < this.nodes.length))
      throw new Error(`output "${name}": node %${v} does not exist`);
    this.outs.push({ name, node: v });
  }

  build(): Graph {
    return Object.freeze({
      nodes: Object.freeze(this.nodes.map((n) => Object.freeze(n))),
      outputs: Object.freeze(this.outs.map((o) => Object.freeze({ ...o }))),
    });
  }

  /** Normalizes a possibly negative axis against the rank of x. */
  private axis(x: Value, axis: number): number {
    const r = this.shape(x).length;
    return axis < 0 ? axis + r : axis;
  }
}
