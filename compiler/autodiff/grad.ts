// Reverse-mode accumulation over a Graph. The result is one graph holding the forward pass
// unchanged (same node ids), then the backward pass: for each node on a path from a parameter
// to the loss, in reverse order, the sum of its cotangent contributions is handed to the op's
// VJP rule (rules.ts), whose outputs become contributions to the node's inputs.
import { GraphBuilder, type Value } from '../ir/builder.js';
import { type Graph, type Node, graphParams, outputNode, shapeEquals } from '../ir/graph.js';
import { assertValidGraph } from '../ir/verify.js';
import { NON_DIFFERENTIABLE, vjp } from './rules.js';
import { type Slab, assembleSlabs, groupedSlices } from './slices.js';

/** A builder that already holds `g`'s nodes with the same ids (and none of its outputs). */
export function builderFrom(g: Graph): GraphBuilder {
  const b = new GraphBuilder();
  for (const n of g.nodes) {
    const leaf = n.inputs.length === 0 ? { shape: n.shape, dtype: n.dtype } : undefined;
    const id = b.add(n.op, n.inputs, n.attrs as never, leaf, n.name ?? null);
    if (id !== n.id) throw new Error(`builderFrom: node %${n.id} landed at %${id}`);
  }
  return b;
}

/**
 * Which nodes carry a gradient from `wrt` to `loss`: those reachable from a wrt node through
 * differentiable f32 ops (forward) that also reach the loss (backward). Everything else gets
 * no backward nodes at all.
 */
export function activeNodes(g: Graph, loss: number, wrt: ReadonlySet<number>): boolean[] {
  const fromWrt = g.nodes.map(() => false);
  for (const n of g.nodes)
    fromWrt[n.id] =
      wrt.has(n.id) ||
      (n.dtype === 'f32' && !NON_DIFFERENTIABLE.has(n.op) && n.inputs.some((i) => fromWrt[i]));
  const toLoss = g.nodes.map(() => false);
  toLoss[loss] = true;
  for (let id = loss; id >= 0; id--)
    if (toLoss[id] && fromWrt[id]) for (const i of g.nodes[id].inputs) toLoss[i] = true;
  return g.nodes.map((_, id) => fromWrt[id] && toLoss[id]);
}

/**
 * Appends the backward pass of `g` (whose nodes `b` holds with the same ids, see builderFrom)
 * to `b`: the gradient of the sum of node `loss`'s elements (the loss itself when it is a
 * scalar) with respect to each node in `wrt`. A wrt node with no path to the loss gets a zero
 * constant. Returns node id → gradient value, for every wrt node.
 */
export function appendBackward(
  b: GraphBuilder,
  g: Graph,
  loss: number,
  wrt: readonly number[],
): Map<number, Value> {
  const lossNode = g.nodes[loss];
  if (lossNode.dtype !== 'f32') throw new Error(`grad: the loss %${loss} must be f32`);
  const wrtSet = new Set(wrt);
  const active = activeNodes(g, loss, wrtSet);
  // Cotangent contributions per node, summed once all readers have contributed (all readers
  // have larger ids, so they are done by the time the reverse sweep reaches the node).
  const parts = new Map<number, Value[]>();
  const push = (id: number, v: Value) => {
    const list = parts.get(id);
    if (list) list.push(v);
    else parts.set(id, [v]);
  };
  push(loss, b.constant('grad.seed', lossNode.shape, { kind: 'fill', value: 1 }, 'f32'));
  // Gradients of grouped slices wait here, per sliced value, to be assembled (slices.ts).
  const grouped = groupedSlices(g);
  const slabs = new Map<number, { axis: number; list: Slab[] }>();

  const result = new Map<number, Value>();
  for (let id = loss; id >= 0; id--) {
    const node = g.nodes[id];
    const pending = slabs.get(id);
    if (pending)
      push(
        id,
        b.scope(`bwd.${label(node)}`, () =>
          assembleSlabs(b, node.shape, pending.axis, pending.list),
        ),
      );
    const list = parts.get(id);
    if (!active[id] || !list) continue;
    const total = b.scope(`bwd.${label(node)}`, () => list.reduce((acc, v) => b.addv(acc, v)));
    parts.delete(id);
    if (wrtSet.has(id)) result.set(id, total);
    if (node.inputs.length === 0) continue;
    if (node.op === 'slice' && grouped.has(id)) {
      if (!active[node.inputs[0]]) continue;
      const { axis, start, end } = node.attrs;
      const entry = slabs.get(node.inputs[0]) ?? { axis, list: [] };
      entry.list.push({ start, end, grad: total });
      slabs.set(node.inputs[0], entry);
      continue;
    }
    const need = node.inputs.map((i) => active[i]);
    const grads = b.scope(`bwd.${label(node)}`, () => vjp({ b, node, g: total, need }));
    grads.forEach((v, k) => {
      if (v === null || !need[k]) return;
      const inp = g.nodes[node.inputs[k]];
      if (!shapeEquals(b.shape(v), inp.shape))
        throw new Error(
          `grad: the ${node.op} rule gave input ${k} (%${inp.id}) a gradient of shape ` +
            `[${b.shape(v).join(',')}], expected [${inp.shape.join(',')}]`,
        );
      push(node.inputs[k], v);
    });
  }
  for (const id of wrt)
    if (!result.has(id))
      result.set(
        id,
        b.constant(`grad.zero.${label(g.nodes[id])}`, g.nodes[id].shape, {
          kind: 'fill',
          value: 0,
        }),
      );
  return result;
}

function label(n: Node): string {
  return n.op === 'param' || n.op === 'input' ? n.attrs.name : (n.name ?? n.op);
}

/**
 * forward + backward: the forward graph's nodes and outputs unchanged, plus one output
 * `grad.{name}` per parameter in `wrt` (default: every parameter, in graph order) holding
 * ∂loss/∂param, where `loss` names a forward output (summed if it is not a scalar).
 */
export function buildGradients(forward: Graph, loss: string, wrt?: readonly string[]): Graph {
  const lossId = outputNode(forward, loss).id;
  const params = new Map(graphParams(forward).map((p) => [p.attrs.name, p.id]));
  const names = wrt ?? [...params.keys()];
  const ids = names.map((name) => {
    const id = params.get(name);
    if (id === undefined) throw new Error(`buildGradients: the graph has no parameter "${name}"`);
    return id;
  });
  const b = builderFrom(forward);
  for (const o of forward.outputs) b.output(o.name, o.node);
  const grads = appendBackward(b, forward, lossId, ids);
  names.forEach((name, k) => b.output(`grad.${name}`, grads.get(ids[k])!));
  const g = b.build();
  assertValidGraph(g, 'gradient graph');
  return g;
}
