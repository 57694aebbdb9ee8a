// Small helpers for op-level tests: build a one-output graph and run it on the interpreter.
import { GraphBuilder, type Value } from '../../compiler/ir/builder.js';
import type { Graph } from '../../compiler/ir/graph.js';
import { interpret } from '../../compiler/ir/interp.js';

export type Feed = Float64Array | Int32Array;

/** Builds a graph whose inputs are `inputs` (name → [shape, values]) and whose output is fn(...). */
export function buildOne(
  inputs: Record<string, [readonly number[], Feed]>,
  fn: (b: GraphBuilder, x: Record<string, Value>) => Value,
): { graph: Graph; feeds: Map<string, Feed> } {
  const b = new GraphBuilder();
  const vals: Record<string, Value> = {};
  const feeds = new Map<string, Feed>();
  for (const [name, [shape, data]] of Object.entries(inputs)) {
    vals[name] = b.input(name, shape, data instanceof Int32Array ? 'i32' : 'f32');
    feeds.set(name, data);
  }
  b.output('y', fn(b, vals));
  return { graph: b.build(), feeds };
}

/** Runs a one-output graph and returns the output and its shape. */
export function runOne(
  inputs: Record<string, [readonly number[], Feed]>,
  fn: (b: GraphBuilder, x: Record<string, Value>) => Value,
): { y: Float64Array; shape: readonly number[] } {
  const { graph, feeds } = buildOne(inputs, fn);
  const y = interpret(graph, feeds, new Map()).get('y')!;
  return { y, shape: graph.nodes[graph.outputs[0].node].shape };
}

export const f = (xs: readonly number[]) => Float64Array.from(xs);

/** Max |a - b| over two equal-length arrays (throws on a length mismatch). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Deterministic values in [-1, 1). */
export function rand(n: number, seed: number): Float64Array {
  const out = new Float64Array(n);
  let s = (seed * 2654435761 + 1) >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}
