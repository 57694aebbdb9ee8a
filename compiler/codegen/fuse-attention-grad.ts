// The backward pass of attention ops (IR attention_grad: 'lse', 'delta', then 'q', 'k', 'v')
// becomes two flash kernels (wgsl/flash-attention-grad.ts), emitted where the delta node is:
//
//   stage 'q':  delta + dq        stage 'kv':  dk + dv
//
// The logsumexp comes from the forward kernel (fuse-attention.ts writes it). Operands are read
// in place where their views allow it: q, k, v from the fused qkv projection's buffer
// [B, N, 3, H, hd] (as the forward kernel does), dO from the gradient of the heads-merged output
// [B, N, H·hd] and o from the forward kernel's merged output. When dq, dk, dv are only assembled into the gradient of that
// qkv buffer (slices' gradients: reshape → concat → transpose → reshape, compiler/autodiff/slices.ts),
// the kernels write them there directly and the assembly's copies disappear.
import { type Graph, type Node, shapeEquals, soleReader } from '../ir/graph.js';
import { qkvLayout } from './fuse-attention.js';
import { type View, hasLayout, isContiguous, stridedViews } from './views.js';

export interface AttentionGradFusion {
  /** The attention_grad 'delta' node: the group's key and where its kernels run. */
  delta: number;
  /** The 'lse' node (written by the forward attention kernel). */
  lse: number;
  /** The attention op's output, read [B, N, H·hd] from its fused kernel's merged output. */
  o: number;
  oBase?: number;
  /** The 'q', 'k', 'v' part nodes (undefined where no gradient is needed). */
  parts: [number | undefined, number | undefined, number | undefined];
  q: number;
  k: number;
  v: number;
  dout: number;
  scale: number;
  heads: number;
  headDim: number;
  batch: number;
  tokens: number;
  /** Where q, k, v are read from (set once the views are known). */
  input: 'qkv' | 'heads';
  qkvBase?: number;
  /** Where dO is read from: its own [B, H, N, hd] buffer, or the merged [B, N, D] gradient. */
  doutLayout: 'merged' | 'heads';
  doutBase?: number;
  /** 'qkv': dq, dk, dv are written into the buffer of `dqkv` ([B, N, 3·D], their assembly). */
  output: 'qkv' | 'heads';
  dqkv?: number;
  /** Assembly nodes (reshapes, concat, transpose) that the in-place output makes unnecessary. */
  assembly: number[];
}

/** Every attention_grad group of the graph, keyed by its delta node; with their reasons. */
export function matchAttentionGrads(
  g: Graph,
  readers: readonly number[][],
  outputs: ReadonlySet<number>,
  tag: (n: Node) => string,
): { groups: Map<number, AttentionGradFusion>; reasons: string[] } {
  const groups = new Map<number, AttentionGradFusion>();
  const reasons: string[] = [];
  for (const n of g.nodes) {
    if (n.op !== 'attention_grad' || n.attrs.part !== 'delta') continue;
    const parts: AttentionGradFusion['parts'] = [undefined, undefined, undefined];
    for (const r of readers[n.id]) {
      const p = g.nodes[r];
      if (p.op !== 'attention_grad' || p.inputs[5] !== n.id) continue;
      parts[['q', 'k', 'v'].indexOf(p.attrs.part)] = r;
    }
    const first = parts.find((p) => p !== undefined);
    if (first === undefined) continue;
    const [q, k, v, dout, lse] = g.nodes[first].inputs;
    const o = n.inputs[0];
    const [B, H, N, hd] = g.nodes[q].shape;
    const grp: AttentionGradFusion = {
      delta: n.id,
      lse,
      o,
      parts,
      q,
      k,
      v,
      dout,
      scale: n.attrs.scale,
      heads: H,
      headDim: hd,
      batch: B,
      tokens: N,
      input: 'heads',
      doutLayout: 'heads',
      output: 'heads',
      assembly: [],
    };
    const inPlace = assemblyOf(g, readers, outputs, parts);
    if (inPlace) {
      grp.output = 'qkv';
      grp.dqkv = inPlace.dqkv;
      grp.assembly = inPlace.nodes;
    }
    groups.set(n.id, grp);
    reasons.push(
      `${tag(n)}: attention backward as two flash kernels (delta + dq, then dk + dv): ` +
        `probabilities recomputed from the logsumexp ${tag(g.nodes[lse])}, no N×N matrix` +
        (inPlace
          ? `; dq, dk, dv written into ${tag(g.nodes[inPlace.dqkv])} [B, N, 3·D] in place (no assembly copies)`
          : '; dq, dk, dv written as [B, H, N, hd] buffers'),
    );
  }
  return { groups, reasons };
}

/**
 * The nodes assembling dq, dk, dv into the qkv projection's gradient, when that is all that
 * reads them: part → reshape [1, B, H, N, hd] → concat(axis 0) [3, B, H, N, hd] →
 * transpose(1, 3, 0, 2, 4) [B, N, 3, H, hd] → reshape [B, N, 3·H·hd].
 */
function assemblyOf(
  g: Graph,
  readers: readonly number[][],
  outputs: ReadonlySet<number>,
  parts: AttentionGradFusion['parts'],
): { dqkv: number; nodes: number[] } | undefined {
  if (parts.some((p) => p === undefined)) return undefined;
  const sole = soleReader(g, readers, outputs);
  const [B, H, N, hd] = g.nodes[parts[0]!].shape;
  const rs = parts.map((p) => sole(p!));
  if (!rs.every((r) => r?.op === 'reshape' && shapeEquals(r.shape, [1, B, H, N, hd])))
    return undefined;
  const cat = sole(rs[0]!.id);
  if (
    !cat ||
    cat.op !== 'concat' ||
    cat.attrs.axis !== 0 ||
    cat.inputs.join() !== rs.map((r) => r!.id).join() ||
    rs.some((r) => sole(r!.id) !== cat)
  )
    return undefined;
  const tr = sole(cat.id);
  if (!tr || tr.op !== 'transpose' || tr.attrs.perm.join() !== '1,3,0,2,4') return undefined;
  const flat = sole(tr.id);
  if (!flat || flat.op !== 'reshape' || !shapeEquals(flat.shape, [B, N, 3 * H * hd]))
    return undefined;
  return { dqkv: flat.id, nodes: [...rs.map((r) => r!.id), cat.id, tr.id] };
}

/** Decides where q, k, v, dO and o are read from once the views are known; returns the reasons. */
export function attentionGradLayouts(
  g: Graph,
  grp: AttentionGradFusion,
  views: ReadonlyMap<number, View>,
  /** Attention op node → the node holding its fused kernel's merged output [B, N, H·hd]. */
  mergedOutputs: ReadonlyMap<number, number>,
  tag: (n: Node) => string,
): string[] {
  const reasons: string[] = [];
  const key = tag(g.nodes[grp.delta]);
  const base = qkvLayout(grp, views);
  if (base !== undefined) {
    grp.input = 'qkv';
    grp.qkvBase = base;
    reasons.push(`${key}: attention backward reads q, k, v in place from ${tag(g.nodes[base])}`);
  }
  const v = views.get(grp.dout);
  const D = grp.heads * grp.headDim;
  if (v && !isContiguous(v) && hasLayout(v, 0, [grp.tokens * D, grp.headDim, D, 1])) {
    grp.doutLayout = 'merged';
    grp.doutBase = v.base;
    reasons.push(
      `${key}: attention backward reads dO in place from ${tag(g.nodes[v.base])} [B, N, H·hd]`,
    );
  }
  grp.oBase = mergedOutputs.get(grp.o);
  return reasons;
}

/** The operands a group reads as contiguous [B, H, N, hd] buffers, whose views need copies. */
export function attentionGradCopies(
  grp: AttentionGradFusion,
  views: ReadonlyMap<number, View>,
): number[] {
  return stridedViews(
    [
      ...(grp.input === 'heads' ? [grp.q, grp.k, grp.v] : []),
      ...(grp.doutLayout === 'heads' ? [grp.dout] : []),
    ],
    views,
  );
}
