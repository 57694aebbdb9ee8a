// The CPU reference interpreter: the executable definition of every op in ops.ts, in float64.
// Other backends (the WGSL kernels) are correct when they agree with this, and this is correct
// when it agrees with PyTorch (test/lower/fixtures.test.ts).
import { type Graph, type Node, numel } from './graph.js';
import { constValues } from './consts.js';
import { broadcastTo, binary, unary } from './cpu/elementwise.js';
import { concat, im2col, slice, transpose } from './cpu/layout.js';
import { matmul } from './cpu/matmul.js';
import { attention, attentionDelta, attentionGrad, attentionLse } from './cpu/attention.js';
import {
  crossEntropy,
  layernorm,
  normGrad,
  oneHot,
  reduce,
  rmsnorm,
  softmax,
} from './cpu/reduce.js';
import { isBinaryOp, isReduceOp, isUnaryOp } from './ops.js';
import { dropThreshold, keyedBits, streamKey } from './rng.js';

/** A value: f32 nodes hold Float64Array, i32 nodes Int32Array. */
export type Tensor = Float64Array | Int32Array;

export type Feeds = ReadonlyMap<string, Float64Array | Float32Array | Int32Array>;
export type Params = ReadonlyMap<string, Float64Array | Float32Array>;

export interface EvalOptions {
  /**
   * Node ids whose values must survive to the end ('all' keeps everything). Values no later
   * node reads are dropped as soon as possible otherwise, so a big model fits in memory.
   * Graph outputs are always kept.
   */
  keep?: 'all' | Iterable<number>;
}

/**
 * Evaluates the graph; returns every node's value indexed by node id (undefined for values
 * not kept, see EvalOptions.keep; default: all kept).
 */
export function evaluate(
  graph: Graph,
  feeds: Feeds,
  params: Params,
  opts: EvalOptions = {},
): (Tensor | undefined)[] {
  const keepAll = opts.keep === undefined || opts.keep === 'all';
  const keep = new Set<number>(keepAll ? [] : (opts.keep as Iterable<number>));
  for (const o of graph.outputs) keep.add(o.node);
  const lastUse = new Array<number>(graph.nodes.length).fill(-1);
  for (const n of graph.nodes) for (const i of n.inputs) lastUse[i] = n.id;

  const values: (Tensor | undefined)[] = new Array(graph.nodes.length);
  for (const node of graph.nodes) {
    const ins = node.inputs.map((i) => {
      const v = values[i];
      if (!v) throw new Error(`interp: %${node.id} ${node.op} reads %${i}, which has no value`);
      return v;
    });
    const v = evalNode(graph, node, ins, feeds, params);
    if (v.length !== numel(node.shape))
      throw new Error(
        `interp: %${node.id} ${node.op} produced ${v.length} values for [${node.shape.join(',')}]`,
      );
    values[node.id] = v;
    if (!keepAll)
      for (const i of node.inputs)
        if (lastUse[i] === node.id && !keep.has(i)) values[i] = undefined;
  }
  return values;
}

/** Runs the graph and returns its named outputs (as Float64Array, i32 outputs converted). */
export function interpret(
  graph: Graph,
  feeds: Feeds,
  params: Params,
  opts: EvalOptions = {},
): Map<string, Float64Array> {
  const values = evaluate(graph, feeds, params, { keep: opts.keep ?? [] });
  const out = new Map<string, Float64Array>();
  for (const o of graph.outputs) {
    const v = values[o.node]!;
    out.set(o.name, v instanceof Float64Array ? v : Float64Array.from(v));
  }
  return out;
}

function f64(v: Tensor, what: string): Float64Array {
  if (!(v instanceof Float64Array)) throw new Error(`interp: ${what} must be f32`);
  return v;
}

function i32(v: Tensor, what: string): Int32Array {
  if (!(v instanceof Int32Array)) throw new Error(`interp: ${what} must be i32`);
  return v;
}

function evalNode(graph: Graph, node: Node, ins: Tensor[], feeds: Feeds, params: Params): Tensor {
  const shapeOf = (k: number) => graph.nodes[node.inputs[k]].shape;
  const x = () => f64(ins[0], `input 0 of %${node.id} ${node.op}`);
  if (isUnaryOp(node.op))
    return unary(node.op, x(), node.op === 'scale' ? (node.attrs as { factor: number }).factor : 1);
  if (isBinaryOp(node.op))
    return binary(
      node.op,
      x(),
      shapeOf(0),
      f64(ins[1], `input 1 of %${node.id}`),
      shapeOf(1),
      node.shape,
    );
  if (isReduceOp(node.op))
    return reduce(node.op, x(), shapeOf(0), (node.attrs as { axis: number }).axis);

  switch (node.op) {
    case 'input': {
      const v = feeds.get(node.attrs.name);
      if (!v) throw new Error(`interp: no feed for input "${node.attrs.name}"`);
      if (v.length !== numel(node.shape))
        throw new Error(
          `interp: feed "${node.attrs.name}" has ${v.length} values, input is [${node.shape.join(',')}]`,
        );
      if (node.dtype === 'i32') return i32(v as Tensor, `feed "${node.attrs.name}"`);
      if (v instanceof Int32Array)
        throw new Error(`interp: feed "${node.attrs.name}" must be float, input is f32`);
      return v instanceof Float64Array ? v : Float64Array.from(v);
    }
    case 'param': {
      const v = params.get(node.attrs.name);
      if (!v) throw new Error(`interp: no value for parameter "${node.attrs.name}"`);
      if (v.length !== numel(node.shape))
        throw new Error(
          `interp: parameter "${node.attrs.name}" has ${v.length} values, expected [${node.shape.join(',')}]`,
        );
      return v instanceof Float64Array ? v : Float64Array.from(v);
    }
    case 'const': {
      const v = constValues(node.attrs.init, node.shape);
      return node.dtype === 'i32' ? Int32Array.from(v) : v;
    }
    case 'matmul':
      return matmul(
        x(),
        shapeOf(0),
        f64(ins[1], 'matmul B'),
        shapeOf(1),
        node.attrs.transA,
        node.attrs.transB,
        node.shape,
      );
    case 'softmax':
    case 'logsoftmax':
      return softmax(x(), node.shape, node.attrs.axis, node.op === 'logsoftmax');
    case 'layernorm': {
      const w = node.attrs.weight ? f64(ins[1], 'layernorm weight') : null;
      const b = node.attrs.bias ? f64(ins[node.attrs.weight ? 2 : 1], 'layernorm bias') : null;
      return layernorm(x(), node.shape[node.shape.length - 1], w, b, node.attrs.eps);
    }
    case 'rmsnorm':
      return rmsnorm(
        x(),
        node.shape[node.shape.length - 1],
        node.attrs.weight ? f64(ins[1], 'rmsnorm weight') : null,
        node.attrs.eps,
      );
    case 'norm_grad':
      return normGrad(
        x(),
        f64(ins[1], 'norm_grad gradient'),
        node.attrs.weight ? f64(ins[2], 'norm_grad weight') : null,
        node.shape[node.shape.length - 1],
        node.attrs.eps,
        node.attrs.center,
        node.attrs.part,
      );
    case 'attention':
      return attention(
        x(),
        f64(ins[1], 'attention k'),
        f64(ins[2], 'attention v'),
        node.shape,
        node.attrs.scale,
      );
    case 'attention_grad': {
      const { part, scale } = node.attrs;
      if (part === 'lse')
        return attentionLse(x(), f64(ins[1], 'attention_grad k'), shapeOf(0), scale);
      if (part === 'delta')
        return attentionDelta(x(), f64(ins[1], 'attention_grad dO'), shapeOf(0)[3]);
      // The probabilities are computed exactly; the lse and delta inputs are not needed.
      return attentionGrad(
        x(),
        f64(ins[1], 'attention_grad k'),
        f64(ins[2], 'attention_grad v'),
        f64(ins[3], 'attention_grad dO'),
        shapeOf(0),
        scale,
        part,
      );
    }
    case 'reshape':
      return ins[0];
    case 'transpose':
      return transpose(ins[0], shapeOf(0), node.attrs.perm);
    case 'slice':
      return slice(ins[0], shapeOf(0), node.attrs.axis, node.attrs.start, node.attrs.end);
    case 'concat':
      return concat(
        ins,
        node.inputs.map((i) => graph.nodes[i].shape),
        node.attrs.axis,
      );
    case 'broadcast_to':
      return broadcastTo(ins[0], shapeOf(0), node.shape);
    case 'im2col':
      return im2col(x(), shapeOf(0), node.attrs.ph, node.attrs.pw);
    case 'cross_entropy': {
      const [B, K] = shapeOf(0);
      return Float64Array.of(crossEntropy(x(), i32(ins[1], 'labels'), B, K, node.attrs.smoothing));
    }
    case 'one_hot':
      return oneHot(i32(ins[0], 'one_hot labels'), node.attrs.classes);
    case 'dropout':
    case 'drop_path': {
      const xs = x();
      const seed = i32(ins[1], 'seed')[0] >>> 0;
      const key = streamKey(seed, node.attrs.stream);
      const thr = dropThreshold(node.attrs.rate);
      const scale = 1 / (1 - node.attrs.rate);
      const out = new Float64Array(xs.length);
      // dropout draws per element; drop_path per sample (index along axis 0).
      const per = node.op === 'dropout' ? 1 : numel(node.shape.slice(1));
      for (let e = 0; e < xs.length; e++) {
        const unit = per === 1 ? e : Math.floor(e / per);
        out[e] = keyedBits(key, unit) < thr ? 0 : xs[e] * scale;
      }
      return out;
    }
  }
  throw new Error(`interp: no rule for op ${node.op}`);
}
