// What a VJP rule receives and the small graph helpers every rule shares. Rules build their
// gradients from the ordinary op set (ops.ts), so the backward pass is interpreted, verified,
// fused and code-generated exactly like the forward pass; no op exists only for autodiff.
import type { GraphBuilder, Value } from '../ir/builder.js';
import { type Node, numel, shapeEquals } from '../ir/graph.js';

/** The arguments of one rule application. */
export interface VjpArgs<N extends Node = Node> {
  readonly b: GraphBuilder;
  /** The forward node; its id and input ids are valid values in `b` (grad.ts copies ids 1:1). */
  readonly node: N;
  /** The cotangent ∂loss/∂node, exactly node.shape. */
  readonly g: Value;
  /** need[i]: whether input i lies on a path from a parameter to the loss (else skip it). */
  readonly need: readonly boolean[];
}

/** One gradient per input (exactly that input's shape), null where none is needed or defined. */
export type VjpResult = (Value | null)[];

export type VjpRule<N extends Node = Node> = (a: VjpArgs<N>) => VjpResult;

// Fill constants already made in a builder, by value and shape: the backward pass of a ViT
// asks for the same few (1, 0.5, eps, zero slabs) hundreds of times, and one node each is enough.
const fills = new WeakMap<GraphBuilder, Map<string, Value>>();

function fill(b: GraphBuilder, value: number, shape: readonly number[], name: string): Value {
  let cache = fills.get(b);
  if (!cache) fills.set(b, (cache = new Map()));
  const key = `${Object.is(value, -0) ? '-0' : value}@${shape.join(',')}`;
  let v = cache.get(key);
  if (v === undefined) {
    v = b.constant(name, shape, { kind: 'fill', value }, 'f32');
    cache.set(key, v);
  }
  return v;
}

/** A scalar f32 constant. Scalars broadcast against any shape. */
export function scalar(b: GraphBuilder, value: number): Value {
  return fill(b, value, [], String(value));
}

/** A constant tensor of zeros (the parts of a slice's input that the slice did not read). */
export function zeros(b: GraphBuilder, shape: readonly number[]): Value {
  return fill(b, 0, shape, 'zeros');
}

/**
 * Sums `v` down to `target`, undoing numpy broadcasting: extra leading axes are summed away
 * (as one reduction over their product, which is what a kernel wants), then every axis that is
 * 1 in `target` but not in `v` is summed with keepdims.
 */
export function sumToShape(b: GraphBuilder, v: Value, target: readonly number[]): Value {
  let s = b.shape(v);
  if (shapeEquals(s, target)) return v;
  const lead = s.length - target.length;
  if (lead < 0) throw new Error(`sumToShape: [${s.join(',')}] is smaller than [${target}]`);
  if (lead > 0) {
    const n = numel(s.slice(0, lead));
    v = b.reshape(v, n === 1 ? s.slice(lead) : [n, ...s.slice(lead)]);
    if (n !== 1) v = b.reduce('reduce_sum', v, 0, false);
    s = b.shape(v);
  }
  for (let i = 0; i < target.length; i++)
    if (target[i] === 1 && s[i] !== 1) v = b.reduce('reduce_sum', v, i, true);
  if (!shapeEquals(b.shape(v), target))
    throw new Error(`sumToShape: cannot reduce [${s.join(',')}] to [${target.join(',')}]`);
  return v;
}

/** `shape` with `axis` set to 1: where a reduction's result sits when kept. */
export function keptShape(shape: readonly number[], axis: number): number[] {
  return shape.map((d, i) => (i === axis ? 1 : d));
}
