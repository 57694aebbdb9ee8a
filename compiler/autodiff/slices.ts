// Gradients of a value that is cut into pieces. When several slices read disjoint ranges of one
// value along one axis (attention's q, k, v split of the fused qkv projection), their gradients
// are assembled with a single concat, zeros only in the gaps, instead of each slice's VJP
// padding its piece to the full size and the pieces then being added up: 1× the memory traffic
// instead of ~2·k×, and no adds.
import type { GraphBuilder, Value } from '../ir/builder.js';
import { type Graph, consumers } from '../ir/graph.js';
import { zeros } from './vjp.js';

/** For each slice node that joins such a group: the id of the value it slices. */
export function groupedSlices(g: Graph): Map<number, number> {
  const grouped = new Map<number, number>();
  consumers(g).forEach((readers, src) => {
    const byAxis = new Map<number, { id: number; start: number; end: number }[]>();
    for (const r of readers) {
      const n = g.nodes[r];
      if (n.op !== 'slice') continue;
      const list = byAxis.get(n.attrs.axis) ?? [];
      list.push({ id: r, start: n.attrs.start, end: n.attrs.end });
      byAxis.set(n.attrs.axis, list);
    }
    // One group per value (its first qualifying axis), so slabs of a value share one axis.
    for (const list of byAxis.values()) {
      if (list.length < 2) continue;
      const sorted = [...list].sort((x, y) => x.start - y.start);
      if (sorted.some((s, i) => i > 0 && s.start < sorted[i - 1].end)) continue;
      for (const s of sorted) grouped.set(s.id, src);
      break;
    }
  });
  return grouped;
}

export interface Slab {
  start: number;
  end: number;
  grad: Value;
}

/** The gradient of a value of `shape` from disjoint slabs along `axis`: concat with zero gaps. */
export function assembleSlabs(
  b: GraphBuilder,
  shape: readonly number[],
  axis: number,
  slabs: readonly Slab[],
): Value {
  const sorted = [...slabs].sort((x, y) => x.start - y.start);
  const parts: Value[] = [];
  const gap = (n: number) =>
    zeros(
      b,
      shape.map((d, i) => (i === axis ? n : d)),
    );
  let at = 0;
  for (const s of sorted) {
    if (s.start > at) parts.push(gap(s.start - at));
    parts.push(s.grad);
    at = s.end;
  }
  if (at < shape[axis]) parts.push(gap(shape[axis] - at));
  return parts.length === 1 ? parts[0] : b.concat(parts, axis);
}
