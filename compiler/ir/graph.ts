// The graph: immutable nodes in topological order (a node's inputs always have smaller ids,
// and `nodes[i].id === i`), plus named outputs. Values are referred to by node id.
import type { DType, OpAttrs, OpKind } from './ops.js';

interface NodeBase {
  /** Index of the node in `Graph.nodes`. */
  readonly id: number;
  /** Ids of the input nodes, in the op's documented order. */
  readonly inputs: readonly number[];
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** The timm module the node belongs to (e.g. "blocks.3.attn.qkv"); for reading dumps only. */
  readonly name?: string;
}

/** A node; `op` discriminates the union, so checking `op` narrows `attrs`. */
export type Node = {
  [K in OpKind]: NodeBase & { readonly op: K; readonly attrs: Readonly<OpAttrs[K]> };
}[OpKind];

/** The node type for one op kind. */
export type NodeOf<K extends OpKind> = Extract<Node, { op: K }>;

export interface GraphOutput {
  readonly name: string;
  readonly node: number;
}

export interface Graph {
  readonly nodes: readonly Node[];
  readonly outputs: readonly GraphOutput[];
}

/** Number of elements of a shape ([] → 1). */
export function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function shapeEquals(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function formatShape(dtype: DType, shape: readonly number[]): string {
  return `${dtype}[${shape.join(',')}]`;
}

/** Row-major strides of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function isNodeOf<K extends OpKind>(node: Node, op: K): node is NodeOf<K> {
  return node.op === op;
}

/** The graph's input leaves in graph order. */
export function graphInputs(g: Graph): NodeOf<'input'>[] {
  return g.nodes.filter((n): n is NodeOf<'input'> => n.op === 'input');
}

/** The graph's parameter leaves in graph order. */
export function graphParams(g: Graph): NodeOf<'param'>[] {
  return g.nodes.filter((n): n is NodeOf<'param'> => n.op === 'param');
}

/** The node of a named output; throws if there is none. */
export function outputNode(g: Graph, name: string): Node {
  const o = g.outputs.find((x) => x.name === name);
  if (!o)
    throw new Error(
      `graph has no output "${name}" (outputs: ${g.outputs.map((x) => x.name).join(', ')})`,
    );
  return g.nodes[o.node];
}

/** For every node, the ids of the nodes that read it (in increasing order). */
export function consumers(g: Graph): number[][] {
  const out: number[][] = g.nodes.map(() => []);
  for (const n of g.nodes) for (const i of new Set(n.inputs)) out[i]?.push(n.id);
  return out;
}

/**
 * `sole(id)`: the only node that reads `id`, when it has exactly one reader and is not a graph
 * output (so a pattern may fold it away); undefined otherwise.
 */
export function soleReader(
  g: Graph,
  readers: readonly number[][],
  outputs: ReadonlySet<number>,
): (id: number) => Node | undefined {
  return (id) =>
    !outputs.has(id) && readers[id].length === 1 ? g.nodes[readers[id][0]] : undefined;
}
