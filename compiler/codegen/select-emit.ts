// Kernel emission for the fused groups fuse.ts decided: matmuls with prologues/epilogues,
// attention, elementwise chains, and strided copies out of views. select.ts walks the graph and
// calls these; each appends its dispatch(es) to the PlanBuilder.
import type { Graph, Node } from '../ir/graph.js';
import type { AttentionFusion } from './fuse-attention.js';
import type { AttentionGradFusion } from './fuse-attention-grad.js';
import { type ElementwiseGroup, inlineConst } from './fuse-elementwise.js';
import type { MatmulFusion } from './fuse.js';
import { nodeExpr } from './op-kernels.js';
import { CodegenError, type Loc, type PlanBuilder } from './plan-builder.js';
import { type View, isContiguous, mergeDims, rowView } from './views.js';
import { renderAttention } from './wgsl/attention.js';
import { renderCopy } from './wgsl/copy.js';
import { type Expr, ew, renderElementwise } from './wgsl/elementwise.js';
import { renderFlashAttention } from './wgsl/flash-attention.js';
import { renderFlashAttentionGrad } from './wgsl/flash-attention-grad.js';
import { flashAlternatives, matmulAlternatives } from './tune-variants.js';
import {
  type MatmulDesc,
  type MatmulTiling,
  renderMatmul,
} from './wgsl/matmul.js';

/** How select.ts resolves values: a node's buffer, and its view when it is one. */
export interface Homes {
  loc(id: number): Loc;
  /** The node's view (undefined when it has a buffer of its own or a contiguous alias). */
  view(id: number): View | undefined;
  scratch(n: Node): Loc;
  label(n: Node): string;
}

/** Kernel choices that are not fusion decisions (schedules measured per adapter). */
export interface EmitOptions {
  flash: { tileK: number; kv: 'workgroup' | 'direct' };
  normStats: 'workgroup' | 'invocation';
  /** Tiling of matmuls with a norm prologue (wider tiles normalise each A element fewer times). */
  normTiling?: MatmulTiling;
  /** Tiling of the other matmuls (default: the renderer's). */
  tiling?: MatmulTiling;
  /**
   * Also emit step alternatives (tune-variants.ts: tile shapes, subgroup variants, flash
   * schedules) for the runtime's autotune to choose per adapter (not in generated/).
   */
  tune?: boolean;
}

/** dst[dstOffset + …] = the view's elements, row-major over its shape. */
export function copyView(
  pb: PlanBuilder,
  label: string,
  src: Loc,
  v: View,
  dst: Loc,
  dstStrides: number[],
  dstOffset: number,
): void {
  const m = mergeDims(v.shape, [v.strides, dstStrides]);
  const k = renderCopy({
    name: 'copy',
    dims: m.shape,
    srcStrides: m.strides[0],
    srcOffset: v.offset,
    dstStrides: m.strides[1],
    dstOffset,
  });
  pb.step(k, 'strided copy (layout op)', label, { src, dst });
}

/**
 * A matmul with whatever fuse.ts folded into it (im2col or norm prologue, epilogue chain, row-norm
 * epilogue). Returns its output, and the normalised rows when a row norm was folded in.
 */
export function emitMatmul(
  pb: PlanBuilder,
  g: Graph,
  f: MatmulFusion,
  n: Extract<Node, { op: 'matmul' }>,
  h: Homes,
  opts: EmitOptions,
): { out: Loc; normed?: Loc } {
  const normNode = f.norm !== undefined ? g.nodes[f.norm] : undefined;
  // With a norm behind views (normVia), A is the view chain over the norm's input.
  const a = normNode && !f.normVia ? g.nodes[normNode.inputs[0]] : g.nodes[n.inputs[0]];
  const b = g.nodes[n.inputs[1]];
  const { transA, transB } = n.attrs;
  const rank = n.shape.length;
  const M = n.shape[rank - 2];
  const N = n.shape[rank - 1];
  const K = transA ? a.shape[a.shape.length - 2] : a.shape[a.shape.length - 1];
  const batchOf = (s: readonly number[]) => s.slice(0, -2).reduce((x, y) => x * y, 1);
  const outBatch = batchOf(n.shape);
  const aBatch = f.im2col ? outBatch : batchOf(a.shape);
  const bBatch = batchOf(b.shape);
  const sharedA = aBatch === 1 && outBatch > 1;
  const sharedB = bBatch === 1 && outBatch > 1;
  if ((aBatch !== 1 && aBatch !== outBatch) || (bBatch !== 1 && bBatch !== outBatch))
    throw new CodegenError(
      `${h.label(n)}: partial batch broadcasting [${a.shape}] x [${b.shape}] is not supported`,
    );
  // A shared B with a row-major A folds the batch into M: one big matmul instead of many.
  const foldBatch = sharedB && !sharedA && !transA;
  const sizes = foldBatch ? { M: M * outBatch, N, K, batch: 1 } : { M, N, K, batch: outBatch };
  const last = f.chain.length ? g.nodes[f.chain[f.chain.length - 1]] : n;
  const out = h.scratch(last);
  const im2colNode = f.im2col !== undefined ? g.nodes[f.im2col] : undefined;
  const im2colSrc = im2colNode ? g.nodes[im2colNode.inputs[0]] : undefined;
  // A read in place through a row-strided view (e.g. the class token of every image).
  const aView = !im2colSrc ? h.view(a.id) : undefined;
  const av = aView && !isContiguous(aView) ? aView : undefined;
  const rows = av ? rowView(av) : undefined;
  if (av && !rows)
    throw new CodegenError(`${h.label(n)}: A is a view that is not evenly strided rows`);
  // Wide register blocks only where the matrix fills several workgroups: on SwiftShader an 8×8
  // block compiles ~3× slower, which dominates small (test-sized) models.
  const big = sizes.M >= 64 && N >= 64;
  const rowNode = f.rowNorm !== undefined ? g.nodes[f.rowNorm] : undefined;
  // A row norm needs whole rows per workgroup: 8 columns per invocation across the row.
  const rowTiling = (): MatmulTiling => {
    const wx = Math.ceil(N / 8);
    return { rows: 8, cols: 8, workgroup: [wx, Math.max(1, Math.min(2, Math.floor(256 / wx)))] };
  };
  // Many small matrices (attention's per-(image, head) products in a backward pass, 17×17 for
  // 7×7 patches): a workgroup sized to one matrix, not a fixed 32×32 block that would compute
  // (and discard) 3.5× the outputs. Measured on SwiftShader: see docs/KERNELS.md.
  const fitted = (): MatmulTiling => ({
    rows: 4,
    cols: 4,
    workgroup: [Math.min(16, Math.ceil(N / 4)), Math.min(16, Math.ceil(sizes.M / 4))],
  });
  const tiling = rowNode
    ? rowTiling()
    : big
      ? normNode
        ? opts.normTiling
        : opts.tiling
      : sizes.batch > 1 && (sizes.M < 32 || N < 32)
        ? fitted()
        : undefined;
  const desc: MatmulDesc = {
    transA,
    transB,
    batchA: sharedA ? 'shared' : 'batched',
    batchB: sharedB ? 'shared' : 'batched',
    bias: f.bias !== undefined,
    activation: f.activation ?? 'none',
    scale: f.scale !== undefined,
    residual: f.residual !== undefined ? 'buffer' : 'none',
    ...(rows ? { aView: { offset: rows.offset, rowStride: rows.rowStride } } : {}),
    ...(rowNode && (rowNode.op === 'layernorm' || rowNode.op === 'rmsnorm')
      ? {
          rowNorm: {
            kind: rowNode.op,
            eps: rowNode.attrs.eps,
            weight: rowNode.attrs.weight,
            bias: rowNode.op === 'layernorm' ? rowNode.attrs.bias : false,
            width: N,
          },
        }
      : {}),
    ...(normNode && (normNode.op === 'layernorm' || normNode.op === 'rmsnorm')
      ? {
          norm: {
            kind: normNode.op,
            eps: normNode.attrs.eps,
            weight: normNode.attrs.weight,
            bias: normNode.op === 'layernorm' ? normNode.attrs.bias : false,
            stats: opts.normStats,
          },
        }
      : {}),
    ...(im2colSrc && im2colNode?.op === 'im2col'
      ? {
          im2col: {
            channels: im2colSrc.shape[1],
            height: im2colSrc.shape[2],
            width: im2colSrc.shape[3],
            patchH: im2colNode.attrs.ph,
            patchW: im2colNode.attrs.pw,
          },
        }
      : {}),
    align: { m: sizes.M % 4 === 0 ? 4 : 1, n: N % 4 === 0 ? 4 : 1, k: K % 4 === 0 ? 4 : 1 },
    ...(tiling ? { tiling } : {}),
  };
  const kernel = renderMatmul(desc);
  const alternatives = opts.tune ? matmulAlternatives(desc, rowNode !== undefined) : [];
  const bind: Record<string, Loc> = {
    a: h.loc(im2colSrc ? im2colSrc.id : av ? av.base : a.id),
    b: h.loc(b.id),
    c: out,
  };
  if (normNode?.op === 'layernorm' || normNode?.op === 'rmsnorm') {
    if (normNode.attrs.weight) bind.norm_weight = h.loc(normNode.inputs[1]);
    if (normNode.op === 'layernorm' && normNode.attrs.bias)
      bind.norm_bias = h.loc(normNode.inputs[2]);
  }
  if (f.bias !== undefined) bind.bias = h.loc(f.bias);
  if (f.scale !== undefined) bind.scale = h.loc(f.scale);
  if (f.residual !== undefined) bind.residual = h.loc(f.residual);
  let normed: Loc | undefined;
  if (rowNode?.op === 'layernorm' || rowNode?.op === 'rmsnorm') {
    if (rowNode.attrs.weight) bind.ln_weight = h.loc(rowNode.inputs[1]);
    if (rowNode.op === 'layernorm' && rowNode.attrs.bias) bind.ln_bias = h.loc(rowNode.inputs[2]);
    bind.normed = normed = h.scratch(rowNode);
  }
  const chain = [...(normNode ? [normNode] : []), n, ...f.chain.map((i) => g.nodes[i])];
  const names = [...chain, ...(rowNode ? [rowNode] : [])].map(h.label).join(' + ');
  pb.step(kernel, 'matmul with fused prologue/epilogue', names, bind, sizes, alternatives);
  return { out, normed };
}

/** One attention kernel for the fused chain; returns the merged output and the probabilities. */
export function emitAttention(
  pb: PlanBuilder,
  g: Graph,
  a: AttentionFusion,
  key: Node,
  h: Homes,
  opts: EmitOptions,
): { out: Loc; probs?: Loc; lse?: Loc } {
  const layout = a.layout;
  const common = { heads: a.heads, headDim: a.headDim, scale: a.scale };
  const flashDesc = {
    layout,
    ...common,
    probs: a.probs !== undefined,
    lse: a.lse !== undefined,
  };
  const kernel =
    a.kernel === 'flash'
      ? renderFlashAttention({ ...flashDesc, ...opts.flash })
      : renderAttention({ layout, ...common, probs: a.probs !== undefined });
  const alternatives =
    opts.tune && a.kernel === 'flash' ? flashAlternatives(flashDesc, opts.flash, kernel) : [];
  const out = h.scratch(key);
  const bind: Record<string, Loc> = { out };
  if (layout === 'qkv') bind.qkv = h.loc(a.qkvBase!);
  else {
    bind.q = h.loc(a.q);
    bind.k = h.loc(a.k);
    bind.v = h.loc(a.v);
  }
  let probs: Loc | undefined;
  if (a.probs !== undefined) bind.probs = probs = h.scratch(g.nodes[a.probs]);
  let lse: Loc | undefined;
  if (a.lse !== undefined) bind.lse = lse = h.scratch(g.nodes[a.lse]);
  const names = [...a.internal, a.probs, a.lse, key.id]
    .filter((i): i is number => i !== undefined)
    .sort((x, y) => x - y);
  const doc =
    a.kernel === 'flash' ? 'flash attention (online softmax)' : 'attention (exact softmax)';
  pb.step(
    kernel,
    doc,
    names.map((i) => h.label(g.nodes[i])).join(' + '),
    bind,
    { N: a.tokens, batch: a.batch },
    alternatives,
  );
  return { out, probs, lse };
}

/**
 * The attention backward group (fuse-attention-grad.ts): stage 'q' (delta + dq), then stage 'kv'
 * (dk + dv), reading the logsumexp the forward kernel wrote. Returns the buffer of every node it
 * computes: delta, the parts, and with the in-place output the qkv projection's gradient.
 */
export function emitAttentionGrad(
  pb: PlanBuilder,
  g: Graph,
  a: AttentionGradFusion,
  h: Homes,
): Map<number, Loc> {
  if (a.oBase === undefined)
    throw new CodegenError(
      `${h.label(g.nodes[a.delta])}: the attention output ${h.label(g.nodes[a.o])} is not a fused attention kernel's`,
    );
  const locs = new Map<number, Loc>();
  const delta = h.scratch(g.nodes[a.delta]);
  locs.set(a.delta, delta);
  const bind: Record<string, Loc> = { lse: h.loc(a.lse) };
  if (a.input === 'qkv') bind.qkv = h.loc(a.qkvBase!);
  else {
    bind.q = h.loc(a.q);
    bind.k = h.loc(a.k);
    bind.v = h.loc(a.v);
  }
  bind.dout = h.loc(a.doutLayout === 'merged' ? a.doutBase! : a.dout);
  const outs: Record<string, Loc> = {};
  if (a.output === 'qkv') {
    const dqkv = h.scratch(g.nodes[a.dqkv!]);
    locs.set(a.dqkv!, dqkv);
    outs.dqkv = dqkv;
  } else
    a.parts.forEach((p, i) => {
      // A part nobody needs is still written by its stage: a scratch buffer of its own.
      const l = h.scratch(g.nodes[p ?? a.q]);
      if (p !== undefined) locs.set(p, l);
      outs[['dq', 'dk', 'dv'][i]] = l;
    });
  const desc = {
    heads: a.heads,
    headDim: a.headDim,
    scale: a.scale,
    input: a.input,
    dout: a.doutLayout,
    o: 'merged',
    output: a.output,
  } as const;
  const sizes = { N: a.tokens, batch: a.batch };
  const label = (ids: (number | undefined)[]) =>
    ids
      .filter((i): i is number => i !== undefined)
      .map((i) => h.label(g.nodes[i]))
      .join(' + ');
  const pick = (names: string[]) =>
    Object.fromEntries(Object.entries(outs).filter(([k]) => names.includes(k)));
  pb.step(
    renderFlashAttentionGrad({ ...desc, stage: 'q' }),
    'attention backward: D = o·dO and dq (flash, no N×N matrix)',
    label([a.delta, a.parts[0]]),
    { ...bind, o: h.loc(a.oBase), delta, ...pick(['dqkv', 'dq']) },
    sizes,
  );
  pb.step(
    renderFlashAttentionGrad({ ...desc, stage: 'kv' }),
    'attention backward: dk and dv (flash, no N×N matrix)',
    label([a.parts[1], a.parts[2], ...a.assembly, a.dqkv]),
    { ...bind, delta, ...pick(['dqkv', 'dk', 'dv']) },
    sizes,
  );
  return locs;
}

/** One elementwise kernel for a fused chain; returns a buffer per group output (in order). */
export function emitElementwise(pb: PlanBuilder, g: Graph, grp: ElementwiseGroup, h: Homes): Loc[] {
  const members = new Set(grp.members);
  const inputIndex = new Map(grp.inputs.map((id, i) => [id, i]));
  const memo = new Map<number, Expr>();
  const build = (id: number): Expr => {
    const known = memo.get(id);
    if (known) return known;
    let e: Expr | undefined;
    const n = g.nodes[id];
    const c = inlineConst(n);
    if (inputIndex.has(id)) e = ew.input(inputIndex.get(id)!);
    else if (c !== undefined) e = ew.c(c);
    else if (members.has(id)) e = nodeExpr(n, n.inputs.map(build));
    if (!e) throw new CodegenError(`${h.label(n)}: no elementwise expression`);
    memo.set(id, e);
    return e;
  };
  const inputs = grp.inputs.map((id) => {
    const v = h.view(id);
    if (v && !isContiguous(v)) return { shape: v.shape, strides: v.strides, offset: v.offset };
    return { shape: [...g.nodes[id].shape] };
  });
  const kernel = renderElementwise({ shape: grp.shape, inputs, outputs: grp.outputs.map(build) });
  const bind: Record<string, Loc> = {};
  const outs = grp.outputs.map((id, j) => (bind[`out${j}`] = h.scratch(g.nodes[id])));
  grp.inputs.forEach((id, i) => {
    if (!kernel.bindings.some((b) => b.name === `in${i}`)) return;
    const v = h.view(id);
    bind[`in${i}`] = h.loc(v && !isContiguous(v) ? v.base : id);
  });
  const label = grp.members.map((m) => h.label(g.nodes[m])).join(' + ');
  pb.step(
    kernel,
    grp.members.length > 1
      ? 'fused elementwise chain'
      : `elementwise ${g.nodes[grp.members[0]].op}`,
    label,
    bind,
    {},
  );
  return outs;
}
