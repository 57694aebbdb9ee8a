// Graph → Graph: the lowering writes attention as explicit ops (compiler/lower/block.ts)
//
//   scale(q) → s = ·kᵀ → p = softmax(s) → p·v
//
// which differentiate into batched matmuls over the N×N probabilities p, kept from the forward
// pass. Before differentiating a training graph, this pass replaces each such chain by one
// `attention` op, whose gradient is `attention_grad` (rules-nn.ts attentionVjp): the backward
// recomputes p from q, k and a per-query logsumexp, so no N×N matrix is kept or written, in the
// forward or the backward pass (codegen: flash kernels). A chain stays explicit when its scores
// or probabilities are read by anything else (an attention-map output, attention dropout
// between softmax and ·v, which the kernels cannot draw).
import { GraphBuilder } from '../ir/builder.js';
import { type Graph, type Node, consumers, shapeEquals, soleReader } from '../ir/graph.js';

export interface AttentionChain {
  /** The p·v matmul, replaced by the attention op. */
  out: number;
  q: number;
  k: number;
  v: number;
  scale: number;
  /** The folded scale, the scores and the softmax: dropped. */
  dropped: number[];
}

/** Every chain that can become one attention op. */
export function findAttentionChains(g: Graph): AttentionChain[] {
  const readers = consumers(g);
  const outputs = new Set(g.outputs.map((o) => o.node));
  const sole = soleReader(g, readers, outputs);
  const only = (id: number, reader: number) => sole(id)?.id === reader;
  const chains: AttentionChain[] = [];
  for (const pv of g.nodes) {
    if (pv.op !== 'matmul' || pv.attrs.transA || pv.attrs.transB || pv.shape.length !== 4) continue;
    const p = g.nodes[pv.inputs[0]];
    if (p.op !== 'softmax' || p.attrs.axis !== 3 || !only(p.id, pv.id)) continue;
    const s = g.nodes[p.inputs[0]];
    if (s.op !== 'matmul' || s.attrs.transA || !s.attrs.transB || !only(s.id, p.id)) continue;
    let q: Node = g.nodes[s.inputs[0]];
    let scale = 1;
    const dropped = [s.id, p.id];
    if (q.op === 'scale' && only(q.id, s.id)) {
      scale = q.attrs.factor;
      dropped.unshift(q.id);
      q = g.nodes[q.inputs[0]];
    }
    const k = g.nodes[s.inputs[1]];
    const v = g.nodes[pv.inputs[1]];
    if (![q, k, v].every((x) => x.shape.length === 4 && shapeEquals(x.shape, pv.shape))) continue;
    chains.push({ out: pv.id, q: q.id, k: k.id, v: v.id, scale, dropped });
  }
  return chains;
}

/** The graph with every attention chain replaced by an attention op (same names, outputs). */
export function attentionOps(g: Graph): Graph {
  const chains = findAttentionChains(g);
  if (chains.length === 0) return g;
  const byOut = new Map(chains.map((c) => [c.out, c]));
  const dropped = new Set(chains.flatMap((c) => c.dropped));
  const b = new GraphBuilder();
  const ids = new Map<number, number>();
  const at = (id: number) => {
    const v = ids.get(id);
    if (v === undefined) throw new Error(`attentionOps: %${id} was dropped but is read`);
    return v;
  };
  for (const n of g.nodes) {
    if (dropped.has(n.id)) continue;
    const c = byOut.get(n.id);
    const id = c
      ? b.add(
          'attention',
          [at(c.q), at(c.k), at(c.v)],
          { scale: c.scale },
          undefined,
          n.name ?? null,
        )
      : b.add(
          n.op,
          n.inputs.map(at),
          n.attrs as never,
          n.inputs.length === 0 ? { shape: n.shape, dtype: n.dtype } : undefined,
          n.name ?? null,
        );
    ids.set(n.id, id);
  }
  for (const o of g.outputs) b.output(o.name, at(o.node));
  return b.build();
}
