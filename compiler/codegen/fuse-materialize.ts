// Which strided views get a contiguous copy (fuse.ts's last decision): a view is read in place
// by every reader that takes strides, and copied once, at its position, for the others.
import type { Graph, Node } from '../ir/graph.js';
import { type AttentionFusion, headsCopies } from './fuse-attention.js';
import { type AttentionGradFusion, attentionGradCopies } from './fuse-attention-grad.js';
import type { ElementwiseGroup } from './fuse-elementwise.js';
import type { MatmulFusion } from './fuse.js';
import { type View, isContiguous, rowView } from './views.js';

/**
 * Which views need a contiguous copy: graph outputs, inputs of reshapes that cannot be views,
 * and views read by a kernel that takes only contiguous memory. Readers that take views: other
 * views, concat (strided copies), elementwise kernels (strided inputs), attention in the 'qkv'
 * layout, and a matmul's A rows when the rows are evenly strided.
 */
export function planMaterialize(
  g: Graph,
  readers: readonly number[][],
  outputs: ReadonlySet<number>,
  views: Map<number, View>,
  needsCopy: ReadonlySet<number>,
  matmuls: ReadonlyMap<number, MatmulFusion>,
  attention: ReadonlyMap<number, AttentionFusion>,
  attentionGrads: ReadonlyMap<number, AttentionGradFusion>,
  elementwise: ReadonlyMap<number, ElementwiseGroup>,
  reasons: string[],
  tag: (n: Node) => string,
): Set<number> {
  const materialize = new Set<number>();
  const inEw = new Set<number>();
  for (const grp of elementwise.values()) for (const m of grp.members) inEw.add(m);
  const attOperand = new Map<number, AttentionFusion>();
  for (const a of attention.values()) {
    for (const id of [a.q, a.k, a.v]) attOperand.set(id, a);
    if (a.layout === 'heads') for (const id of headsCopies(a, views)) materialize.add(id);
  }
  // Attention backward reads its operands in place or, in the 'heads' layouts, from copies.
  const gradReaders = new Set<number>();
  for (const grp of attentionGrads.values()) {
    for (const id of attentionGradCopies(grp, views)) materialize.add(id);
    for (const p of [grp.delta, ...grp.parts]) if (p !== undefined) gradReaders.add(p);
  }
  // Matmul A operands (directly, or through a folded norm) that may be row-strided views.
  const aReaders = new Map<number, number>();
  for (const [id, f] of matmuls) {
    const m = g.nodes[id];
    if (m.op !== 'matmul' || m.attrs.transA || f.im2col !== undefined) continue;
    aReaders.set(
      f.norm !== undefined && !f.normVia ? g.nodes[f.norm].inputs[0] : m.inputs[0],
      f.norm !== undefined && !f.normVia ? f.norm : id,
    );
  }
  for (const [id, v] of views) {
    const n = g.nodes[id];
    if (isContiguous(v)) {
      reasons.push(`${tag(n)}: no copy: the same memory as ${tag(g.nodes[v.base])} (contiguous)`);
      continue;
    }
    const why: string[] = [];
    if (outputs.has(id)) why.push('a graph output');
    if (needsCopy.has(id)) why.push('reshaped in a way strides cannot express');
    if (materialize.has(id)) why.push('attention reads it as a [B, H, N, hd] buffer');
    for (const r of readers[id]) {
      const rn = g.nodes[r];
      if (views.has(r) || rn.op === 'concat' || inEw.has(r)) continue;
      // Attention in the 'qkv' layout reads it in place; in 'heads' it was copied just above.
      const att = attOperand.get(id);
      if (att && (att.internal.includes(r) || att.lse === r)) continue;
      if (gradReaders.has(r)) continue;
      if (aReaders.get(id) === r && rowView(v) !== undefined) continue;
      why.push(`read by ${tag(rn)}`);
    }
    if (why.length) {
      materialize.add(id);
      reasons.push(`${tag(n)}: view copied to contiguous memory: ${why.join(', ')}`);
    } else {
      reasons.push(
        `${tag(n)}: no copy: read in place as a strided view of ${tag(g.nodes[v.base])}`,
      );
    }
  }
  return materialize;
}
