// Fusion decisions: which nodes share a kernel, which layout ops are read in place, and why
// (FusionPlan.reasons, printed by VITC_DUMP=fused and `vitc explain --fusion`). A value may be
// folded into a kernel only if nothing else reads it and it is not a graph output, because a
// folded value never reaches memory; values with other readers become extra kernel outputs
// where the kernel can write them (attention probabilities, elementwise chains) or stay apart.
//
//   attention:   scale → q·kᵀ → softmax → ·v → merge heads     one kernel (fuse-attention.ts)
//   prologue:    im2col → matmul, or norm → matmul             (patch embedding; pre-norm blocks)
//   epilogue:    matmul → +bias[N] → activation → ×scale[N] → +residual   (each stage optional, in order)
//   elementwise: chains of elementwise nodes                   one kernel (fuse-elementwise.ts)
//   views:       reshape / transpose / slice / broadcast_to    no kernel where readers take strides (views.ts)
import { type Graph, type Node, consumers, shapeEquals } from '../ir/graph.js';
import { isLeafOp } from '../ir/ops.js';
import { type AttentionFusion, matchAttention, qkvLayout } from './fuse-attention.js';
import {
  type AttentionGradFusion,
  attentionGradLayouts,
  matchAttentionGrads,
} from './fuse-attention-grad.js';
import { planMaterialize } from './fuse-materialize.js';
import { type ElementwiseGroup, groupElementwise } from './fuse-elementwise.js';
import { type View, planViews } from './views.js';
import type { Activation } from './wgsl/activations.js';

export interface MatmulFusion {
  im2col?: number;
  /** A layernorm / rmsnorm node whose input is normalised in the matmul's A loads. */
  norm?: number;
  /** A norm reading this matmul's result, computed in its epilogue (a second output). */
  rowNorm?: number;
  /**
   * Row-preserving layout nodes between the norm and the matmul (e.g. the class-token slice
   * before the head): the norm commutes with them, so only the rows the matmul reads are normalised.
   */
  normVia?: number[];
  bias?: number;
  activation?: Activation;
  scale?: number;
  residual?: number;
  /** Epilogue nodes folded into the matmul, in order; the last one's value is the kernel's output. */
  chain: number[];
}

export interface FusionOptions {
  /**
   * The kernel of fused attention that writes no probabilities (default DEFAULT_ATTENTION), or
   * 'off': keep attention as separate matmul / softmax / copy kernels.
   */
  attention?: 'flash' | 'exact' | 'off';
  /**
   * Fold a norm into the next matmul's A loads: true, false, or a number r — only where that
   * matmul has at most r rows (the prologue re-normalises A once per column tile). Default
   * DEFAULT_NORM_PROLOGUE. Norms right after a matmul are row-norm epilogues instead.
   */
  normPrologue?: boolean | number;
  /** Compute a norm that reads a matmul's result in that matmul's epilogue (default true). */
  normEpilogue?: boolean;
}

/**
 * Measured on SwiftShader (the CI adapter), ViT-Ti/16 batch 8 attention: see docs/KERNELS.md.
 * The flash kernel reads K and V once (the exact one twice) and needs no N×N memory.
 */
export const DEFAULT_ATTENTION: 'flash' | 'exact' = 'flash';

/**
 * Measured on SwiftShader (ViT-Ti/16, one block): a norm prologue made qkv +40 ms and fc1
 * +85 ms slower, while a separate norm kernel costs ~4 ms; so prologues only for matmuls of one
 * row tile (the head after pooling), where the matmul is tiny and a dispatch saved is a win.
 */
export const DEFAULT_NORM_PROLOGUE: boolean | number = 64;

/** Widest row a row-norm epilogue handles: a workgroup of ≤ 256 invocations × 8 columns. */
export const MAX_ROW_NORM_WIDTH = 2048;

export interface FusionPlan {
  /**
   * Nodes computed by another node's kernel: no kernel of their own, and no buffer unless that
   * kernel writes them (attention probabilities, extra outputs of an elementwise chain).
   */
  absorbed: Set<number>;
  matmuls: Map<number, MatmulFusion>;
  /** Fused attention, keyed by the node holding the merged output [B, N, D]. */
  attention: Map<number, AttentionFusion>;
  /** Attention backward kernels, keyed by the attention_grad 'delta' node (where they run). */
  attentionGrads: Map<number, AttentionGradFusion>;
  /** Elementwise kernels, keyed by their last member (where the kernel runs). */
  elementwise: Map<number, ElementwiseGroup>;
  /** Layout nodes that are strided views of another node's buffer (no kernel of their own). */
  views: Map<number, View>;
  /** Views that are also copied to contiguous memory (at their position), for readers that need it. */
  materialize: Set<number>;
  /** One line per decision, for `vitc explain --fusion` and VITC_DUMP=fused. */
  reasons: string[];
}

const EPILOGUE_ACTIVATIONS: ReadonlySet<string> = new Set(['gelu', 'gelu_tanh', 'relu', 'silu']);

export function tagNode(n: Node): string {
  return `%${n.id} ${n.op}${n.name ? ` ${n.name}` : ''}`;
}

export function planFusion(g: Graph, opts: FusionOptions = {}): FusionPlan {
  const readers = consumers(g);
  const outputs = new Set(g.outputs.map((o) => o.node));
  const absorbed = new Set<number>();
  const reasons: string[] = [];
  const tag = tagNode;

  // With fusion 'off', explicit chains stay separate kernels; attention ops (training graphs)
  // have no other form, so they are matched either way.
  const off = opts.attention === 'off';
  const att = matchAttention(
    g,
    readers,
    outputs,
    opts.attention === 'exact' ? 'exact' : DEFAULT_ATTENTION,
    tag,
    !off,
  );
  if (off) reasons.push('attention fusion is off (separate matmul, softmax and copy kernels)');
  reasons.push(...att.reasons);
  // The probabilities are written by the attention kernel: no kernel of their own either.
  for (const a of att.groups.values())
    for (const i of [...a.internal, a.probs, a.lse]) if (i !== undefined) absorbed.add(i);
  const attGrads = matchAttentionGrads(g, readers, outputs, tag);
  reasons.push(...attGrads.reasons);
  // The parts (and the assembly they are written through) come out of the delta node's kernels.
  for (const grp of attGrads.groups.values())
    for (const i of [...grp.parts, ...grp.assembly, grp.dqkv]) if (i !== undefined) absorbed.add(i);
  const matmuls = planMatmuls(g, readers, outputs, absorbed, opts, reasons);

  // A norm folded behind row-preserving views is transparent to them: they view its input.
  const transparent = new Map<number, number>();
  for (const f of matmuls.values())
    if (f.norm !== undefined && f.normVia) transparent.set(f.norm, g.nodes[f.norm].inputs[0]);
  const { views, needsCopy } = planViews(
    g,
    new Set([...absorbed, ...att.groups.keys()]),
    transparent,
  );
  // Operand layout of each fused attention: the fused qkv buffer when the views line up.
  for (const [key, a] of att.groups) {
    const base = qkvLayout(a, views);
    if (base !== undefined) {
      a.layout = 'qkv';
      a.qkvBase = base;
      reasons.push(
        `${tag(g.nodes[key])}: attention reads q, k, v in place from ${tag(g.nodes[base])} [B, N, 3, H, hd] (no head split copies)`,
      );
    } else {
      reasons.push(
        `${tag(g.nodes[key])}: attention reads q, k, v as [B, H, N, hd] buffers (not three plain views of one qkv projection)`,
      );
    }
  }

  const mergedOutputs = new Map<number, number>();
  for (const [key, a] of att.groups) for (const i of a.internal) mergedOutputs.set(i, key);
  for (const grp of attGrads.groups.values())
    reasons.push(...attentionGradLayouts(g, grp, views, mergedOutputs, tag));

  const skip = new Set([...absorbed, ...views.keys()]);
  const ew = groupElementwise(g, readers, outputs, skip, tag);
  reasons.push(...ew.reasons);
  for (const grp of ew.groups.values())
    for (const m of grp.members) if (!grp.outputs.includes(m)) absorbed.add(m);
  // Outputs other than the last are produced by the group's kernel too: no kernel of their own.
  for (const [key, grp] of ew.groups) for (const o of grp.outputs) if (o !== key) absorbed.add(o);

  const materialize = planMaterialize(
    g,
    readers,
    outputs,
    views,
    needsCopy,
    matmuls,
    att.groups,
    attGrads.groups,
    ew.groups,
    reasons,
    tag,
  );
  // In graph order (stable within a node), so a node's decisions read together.
  const at = (r: string) => Number(/^%(\d+)/.exec(r)?.[1] ?? -1);
  reasons.sort((a, b) => at(a) - at(b));
  return {
    absorbed,
    matmuls,
    attention: att.groups,
    attentionGrads: attGrads.groups,
    elementwise: ew.groups,
    views,
    materialize,
    reasons,
  };
}

function planMatmuls(
  g: Graph,
  readers: readonly number[][],
  outputs: ReadonlySet<number>,
  absorbed: Set<number>,
  opts: FusionOptions,
  reasons: string[],
): Map<number, MatmulFusion> {
  const tag = tagNode;
  const matmuls = new Map<number, MatmulFusion>();
  /** The only reader of `id`, if folding `id` away is allowed. */
  const soleReader = (id: number): Node | undefined => {
    if (outputs.has(id)) return undefined;
    const r = readers[id];
    return r.length === 1 ? g.nodes[r[0]] : undefined;
  };
  const other = (n: Node, id: number): Node | undefined => {
    if (n.inputs.length !== 2) return undefined;
    if (n.inputs[0] === id && n.inputs[1] !== id) return g.nodes[n.inputs[1]];
    if (n.inputs[1] === id && n.inputs[0] !== id) return g.nodes[n.inputs[0]];
    return undefined;
  };
  for (const m of g.nodes) {
    if (m.op !== 'matmul' || absorbed.has(m.id)) continue;
    const f: MatmulFusion = { chain: [] };
    const N = m.shape[m.shape.length - 1];
    const a = g.nodes[m.inputs[0]];
    const bShape = g.nodes[m.inputs[1]].shape;
    if (a.op === 'im2col' && !m.attrs.transA && bShape.length === 2) {
      if (soleReader(a.id) === m) {
        f.im2col = a.id;
        absorbed.add(a.id);
        reasons.push(`${tag(m)}: im2col ${tag(a)} folded into the A loads (no patch buffer)`);
      } else reasons.push(`${tag(m)}: im2col ${tag(a)} kept: it has other readers`);
    }
    // The norm may sit behind slices / reshapes that keep every row whole (pooling the class token).
    let nrm = a;
    const via: number[] = [];
    while (
      !m.attrs.transA &&
      ((nrm.op === 'slice' && nrm.attrs.axis < nrm.shape.length - 1) ||
        (nrm.op === 'reshape' && nrm.shape.at(-1) === g.nodes[nrm.inputs[0]].shape.at(-1))) &&
      soleReader(nrm.id) === (via.length ? g.nodes[via[via.length - 1]] : m)
    ) {
      via.push(nrm.id);
      nrm = g.nodes[nrm.inputs[0]];
    }
    const normReader = via.length ? g.nodes[via[via.length - 1]] : m;
    if ((nrm.op === 'layernorm' || nrm.op === 'rmsnorm') && !m.attrs.transA) {
      const limit = opts.normPrologue ?? DEFAULT_NORM_PROLOGUE;
      const rows = m.shape.slice(0, -1).reduce((x, y) => x * y, 1);
      if (absorbed.has(nrm.id))
        reasons.push(`${tag(m)}: norm ${tag(nrm)} comes from a matmul's row-norm epilogue`);
      else if (limit === false)
        reasons.push(`${tag(m)}: norm ${tag(nrm)} kept: norm prologues are off`);
      else if (typeof limit === 'number' && rows > limit)
        reasons.push(
          `${tag(m)}: norm ${tag(nrm)} kept as its own kernel: ${rows} rows > ${limit}; a prologue ` +
            're-normalises A for every column tile, which costs more than the dispatch it saves',
        );
      else if (soleReader(nrm.id) === normReader) {
        f.norm = nrm.id;
        if (via.length) f.normVia = via.reverse();
        absorbed.add(nrm.id);
        reasons.push(
          `${tag(m)}: norm ${tag(nrm)} folded into the A loads (row statistics in the matmul; ` +
            `one dispatch less and no normalised copy of the activations${via.length ? '; only the rows the matmul reads are normalised' : ''})`,
        );
      } else
        reasons.push(
          `${tag(m)}: norm ${tag(nrm)} kept as its own kernel: ${outputs.has(nrm.id) ? 'a graph output' : `read by ${readers[nrm.id].length} nodes`} ` +
            '(its value must reach memory)',
        );
    }
    let cur: Node = m;
    let stage = 0;
    for (;;) {
      const r = soleReader(cur.id);
      if (!r || !shapeEquals(r.shape, m.shape)) break;
      const o = other(r, cur.id);
      const vecN = o !== undefined && o.shape.length === 1 && o.shape[0] === N;
      if (stage <= 0 && r.op === 'add' && vecN) {
        f.bias = o!.id;
        stage = 1;
      } else if (stage <= 1 && EPILOGUE_ACTIVATIONS.has(r.op)) {
        f.activation = r.op as Activation;
        stage = 2;
      } else if (stage <= 2 && r.op === 'mul' && vecN) {
        f.scale = o!.id;
        stage = 3;
      } else if (
        stage <= 3 &&
        r.op === 'add' &&
        o &&
        shapeEquals(o.shape, m.shape) &&
        (o.id < m.id || isLeafOp(o.op))
      ) {
        f.residual = o.id;
        stage = 4;
      } else break;
      f.chain.push(r.id);
      absorbed.add(r.id);
      cur = r;
    }
    if (f.chain.length)
      reasons.push(`${tag(m)}: epilogue ${f.chain.map((i) => tag(g.nodes[i])).join(' → ')} folded`);
    rowNormEpilogue(g, readers, absorbed, opts, f, m, cur, reasons);
    const next = soleReader(cur.id);
    if (next) reasons.push(`${tag(m)}: ${tag(next)} not folded (not an epilogue stage in order)`);
    else if (readers[cur.id].length > 1)
      reasons.push(`${tag(m)}: result read by ${readers[cur.id].length} nodes, epilogue ends`);
    matmuls.set(m.id, f);
  }
  return matmuls;
}

/**
 * A norm over the matmul's (epilogue) result becomes a second output of the matmul: the
 * workgroup owns whole rows, so the row statistics need no second kernel and no re-read. Wins
 * where the residual stream is normalised right after it is updated (pre-norm blocks: norm2
 * after attention's projection, the next block's norm1 after fc2; post-norm: both norms).
 */
function rowNormEpilogue(
  g: Graph,
  readers: readonly number[][],
  absorbed: Set<number>,
  opts: FusionOptions,
  f: MatmulFusion,
  m: Node,
  cur: Node,
  reasons: string[],
): void {
  const tag = tagNode;
  const N = m.shape[m.shape.length - 1];
  for (const r of readers[cur.id]) {
    const nrm = g.nodes[r];
    if ((nrm.op !== 'layernorm' && nrm.op !== 'rmsnorm') || nrm.inputs[0] !== cur.id) continue;
    const why = (text: string) => {
      reasons.push(`${tag(m)}: norm ${tag(nrm)} not in the epilogue: ${text}`);
    };
    if (opts.normEpilogue === false) return why('row-norm epilogues are off');
    if (N > MAX_ROW_NORM_WIDTH) return why(`rows of ${N} exceed ${MAX_ROW_NORM_WIDTH}`);
    if (m.op === 'matmul' && m.attrs.transA) return why('A is transposed');
    // a, b, c, normed, the prologue norm's and this norm's weight/bias, bias, scale, residual.
    const params = (n: Node) =>
      n.op === 'layernorm' || n.op === 'rmsnorm' ? n.inputs.length - 1 : 0;
    const prologue = f.norm !== undefined ? params(g.nodes[f.norm]) : 0;
    const epilogue = [f.bias, f.scale, f.residual].filter((x) => x !== undefined).length;
    const bindings = 4 + prologue + params(nrm) + epilogue;
    if (bindings > 8) return why(`${bindings} storage buffers would exceed 8`);
    f.rowNorm = nrm.id;
    absorbed.add(nrm.id);
    reasons.push(
      `${tag(m)}: norm ${tag(nrm)} computed in the epilogue (a workgroup owns whole rows of ${N}; ` +
        'one dispatch less, the result is not read again)',
    );
    return;
  }
}
