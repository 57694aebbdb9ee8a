// Attention fusion: the lowering writes attention as explicit ops (compiler/lower/block.ts)
//
//   q, k, v [B, H, N, hd] → scale(q) → s = q·kᵀ → p = softmax(s) → o = p·v → transpose(0,2,1,3) → reshape [B, N, D]
//
// and this pass recognises the chain from the scale to the merged output, so that it becomes ONE
// attention kernel. Where q, k, v are views of the fused qkv projection (reshape → transpose →
// slice, nothing else reading them) the kernel reads that buffer directly (layout 'qkv', decided
// in fuse.ts once the views are known). The probabilities are written only when something else
// reads them (an `attn.i` output, or the backward pass), by a second sweep over the keys.
import { type Graph, type Node, shapeEquals, soleReader } from '../ir/graph.js';
import { type View, hasLayout, stridedViews } from './views.js';

export interface AttentionFusion {
  /** 'flash': online softmax (a second sweep writes probabilities); 'exact': the two-pass kernel. */
  kernel: 'flash' | 'exact';
  /** Operand nodes [B, H, N, hd]; q is before the folded scale (if any). */
  q: number;
  k: number;
  v: number;
  /** Multiplies q inside the kernel (the folded scale node's factor, or 1). */
  scale: number;
  /** The softmax node, when its value is written (probabilities [B, H, N, N]). */
  probs?: number;
  /** An attention_grad 'lse' node of the same q, k (a training graph's): written too, [B, H, N]. */
  lse?: number;
  /** Where q, k, v are read from; set by fuse.ts from the views. */
  layout: 'qkv' | 'heads';
  /** With layout 'qkv': the node whose buffer holds [B, N, 3, H, hd]. */
  qkvBase?: number;
  heads: number;
  headDim: number;
  batch: number;
  tokens: number;
  /** Nodes computed inside the kernel (no buffer), including the folded scale. */
  internal: number[];
}

export interface AttentionMatch {
  groups: Map<number, AttentionFusion>;
  reasons: string[];
}

/** Recognises every attention chain; keys are the merged-output reshape nodes. */
export function matchAttention(
  g: Graph,
  readers: readonly number[][],
  outputs: ReadonlySet<number>,
  kernel: 'flash' | 'exact',
  tag: (n: Node) => string,
  chains = true,
): AttentionMatch {
  const groups = new Map<number, AttentionFusion>();
  const reasons: string[] = [];
  const sole = soleReader(g, readers, outputs);
  for (const op of g.nodes) {
    if (op.op !== 'attention') continue;
    const m = attentionOpGroup(g, op, readers, outputs, sole, kernel);
    if (typeof m === 'string') {
      reasons.push(`${tag(op)}: attention op not fused: ${m}`);
      continue;
    }
    groups.set(m.key, m.fusion);
    reasons.push(
      `${tag(g.nodes[m.key])}: attention op ${tag(op)} as one ${m.fusion.kernel} kernel with the head merge; no N×N matrix in memory` +
        (m.fusion.lse !== undefined ? `; writes the logsumexp ${tag(g.nodes[m.fusion.lse])}` : ''),
    );
  }
  for (const pv of g.nodes) {
    if (!chains) break;
    if (pv.op !== 'matmul' || pv.attrs.transA || pv.attrs.transB || pv.shape.length !== 4) continue;
    const pIn = g.nodes[pv.inputs[0]];
    if (pIn.op === 'dropout' && g.nodes[pIn.inputs[0]].op === 'softmax') {
      reasons.push(
        `${tag(pv)}: attention not fused: attention dropout ${tag(pIn)} sits between softmax and P·V ` +
          '(the kernels have no RNG); scores, softmax, dropout and P·V stay separate kernels',
      );
      continue;
    }
    if (pIn.op !== 'softmax' || pIn.attrs.axis !== 3) continue;
    const p = pIn;
    const s = g.nodes[p.inputs[0]];
    if (s.op !== 'matmul' || s.attrs.transA || !s.attrs.transB) continue;
    const [B, H, N, hd] = pv.shape;
    const why = (text: string) => reasons.push(`${tag(pv)}: attention not fused: ${text}`);
    const tr = sole(pv.id);
    if (!tr || tr.op !== 'transpose' || tr.attrs.perm.join() !== '0,2,1,3') {
      why('P·V is not only read by the head merge transpose(0, 2, 1, 3)');
      continue;
    }
    const out = sole(tr.id);
    if (!out || out.op !== 'reshape' || !shapeEquals(out.shape, [B, N, H * hd])) {
      why('the head merge is not reshaped to [B, N, H·hd]');
      continue;
    }
    if (outputs.has(s.id) || readers[s.id].length !== 1) {
      why(`the scores ${tag(s)} have other readers`);
      continue;
    }
    // Probabilities leave the kernel when anything but P·V reads them, and only after it.
    const pOthers = readers[p.id].filter((r) => r !== pv.id);
    const probs = pOthers.length > 0 || outputs.has(p.id);
    if (pOthers.some((r) => r < out.id)) {
      why(`the probabilities ${tag(p)} are read before the attention output is complete`);
      continue;
    }
    let q = g.nodes[s.inputs[0]];
    let scale = 1;
    const internal = [s.id, pv.id, tr.id];
    if (!probs) internal.push(p.id);
    const chain = [s.id, p.id, pv.id, tr.id, out.id];
    if (q.op === 'scale' && sole(q.id) === s) {
      scale = q.attrs.factor;
      internal.push(q.id);
      chain.unshift(q.id);
      q = g.nodes[q.inputs[0]];
    }
    const k = g.nodes[s.inputs[1]];
    const v = g.nodes[pv.inputs[1]];
    const want = [B, H, N, hd];
    if (![q, k, v].every((x) => shapeEquals(x.shape, want))) {
      why('q, k, v are not all [B, H, N, hd] (broadcast batch dims)');
      continue;
    }
    const chosen = kernel;
    groups.set(out.id, {
      kernel: chosen,
      q: q.id,
      k: k.id,
      v: v.id,
      scale,
      ...(probs ? { probs: p.id } : {}),
      layout: 'heads',
      heads: H,
      headDim: hd,
      batch: B,
      tokens: N,
      internal,
    });
    const readersOfP = pOthers.length ? pOthers.map((r) => `%${r}`).join(', ') : 'graph output';
    reasons.push(
      `${tag(out)}: attention fused into one ${chosen} kernel (${chain.map((i) => `%${i}`).join(' → ')})` +
        (probs
          ? `; probabilities written: read by ${outputs.has(p.id) && !pOthers.length ? 'a graph output' : readersOfP}`
          : '; no N×N matrix in memory'),
    );
  }
  return { groups, reasons };
}

/**
 * An attention op (a training graph's, compiler/autodiff/attention-op.ts) and its head merge
 * transpose(0, 2, 1, 3) → reshape [B, N, H·hd]: the kernel computes the op and writes the merged
 * output. A reason string when the merge is not there (the op has no kernel of its own).
 */
function attentionOpGroup(
  g: Graph,
  op: Extract<Node, { op: 'attention' }>,
  readers: readonly number[][],
  outputs: ReadonlySet<number>,
  sole: (id: number) => Node | undefined,
  kernel: 'flash' | 'exact',
): { key: number; fusion: AttentionFusion } | string {
  const [B, H, N, hd] = op.shape;
  // Besides the head merge, the backward's D = Σ o·dO reads o (from the merged output).
  const others = readers[op.id].map((r) => g.nodes[r]);
  const trs = others.filter((r) => r.op === 'transpose');
  const rest = others.filter((r) => r.op !== 'transpose');
  const tr = trs.length === 1 ? trs[0] : undefined;
  if (
    outputs.has(op.id) ||
    !tr ||
    tr.attrs.perm.join() !== '0,2,1,3' ||
    !rest.every((r) => r.op === 'attention_grad' && r.attrs.part === 'delta')
  )
    return 'its output is not only read by the head merge transpose(0, 2, 1, 3) (and the backward)';
  const out = sole(tr.id);
  if (!out || out.op !== 'reshape' || !shapeEquals(out.shape, [B, N, H * hd]))
    return 'the head merge is not reshaped to [B, N, H·hd]';
  const [q, k, v] = op.inputs;
  // The backward's logsumexp of the same scores: one more store per query in this kernel.
  const lse = readers[q]
    .map((r) => g.nodes[r])
    .find(
      (n) =>
        n.op === 'attention_grad' &&
        n.attrs.part === 'lse' &&
        n.attrs.scale === op.attrs.scale &&
        n.inputs[0] === q &&
        n.inputs[1] === k,
    );
  return {
    key: out.id,
    fusion: {
      ...(lse ? { lse: lse.id } : {}),
      // Only the flash kernel writes the logsumexp the backward needs.
      kernel: lse ? 'flash' : kernel,
      q,
      k,
      v,
      scale: op.attrs.scale,
      layout: 'heads',
      heads: H,
      headDim: hd,
      batch: B,
      tokens: N,
      internal: [op.id, tr.id],
    },
  };
}

/**
 * The fused qkv layout: q, k, v are the three slices of one [B, N, 3, H, hd] buffer, i.e. views
 * with strides (N·3D, hd, 3D, 1) over [B, H, N, hd] at offsets 0, D, 2D.
 */
export function qkvLayout(
  a: Pick<AttentionFusion, 'q' | 'k' | 'v' | 'heads' | 'headDim' | 'tokens'>,
  views: ReadonlyMap<number, View>,
): number | undefined {
  const vs = [a.q, a.k, a.v].map((id) => views.get(id));
  if (vs.some((v) => v === undefined)) return undefined;
  const [q, k, v] = vs as View[];
  if (q.base !== k.base || q.base !== v.base) return undefined;
  const D = a.heads * a.headDim;
  const strides = [a.tokens * 3 * D, a.headDim, 3 * D, 1];
  return hasLayout(q, 0, strides) && hasLayout(k, D, strides) && hasLayout(v, 2 * D, strides)
    ? q.base
    : undefined;
}

/** Operands the 'heads' layout needs in contiguous memory (views that are not). */
export function headsCopies(a: AttentionFusion, views: ReadonlyMap<number, View>): number[] {
  return stridedViews([a.q, a.k, a.v], views);
}
