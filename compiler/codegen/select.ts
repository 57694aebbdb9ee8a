// Graph → Plan: every node gets a home (a buffer, a contiguous alias of another node's buffer, or
// a strided view read in place) and the kernels that compute it. fuse.ts decides the groups
// (attention, norm/im2col prologues, matmul epilogues, elementwise chains, views); this file
// walks the graph in order and emits them (select-emit.ts), then memory.ts lets scratch buffers
// whose lifetimes do not overlap share memory.
import { type Graph, type Node, consumers, numel, stridesOf } from '../ir/graph.js';
import { type FusionOptions, type FusionPlan, planFusion } from './fuse.js';
import { inlineConst } from './fuse-elementwise.js';
import { planMemory } from './memory.js';
import { renderOpKernel } from './op-kernels.js';
import { CodegenError, type Loc, PlanBuilder } from './plan-builder.js';
import type { Plan } from './plan.js';
import {
  type EmitOptions,
  type Homes,
  copyView,
  emitAttention,
  emitAttentionGrad,
  emitElementwise,
  emitMatmul,
} from './select-emit.js';
import { type View, contiguousView, isContiguous } from './views.js';
import { renderCopy } from './wgsl/copy.js';

export interface SelectOptions {
  spec: string;
  specFile: string;
  batch: number;
  mode: 'eval' | 'train';
  fusion?: FusionOptions;
  /** Kernel schedules; defaults measured on SwiftShader (see DEFAULT_EMIT). */
  emit?: Partial<EmitOptions>;
  /** Share scratch buffers between tensors whose lifetimes do not overlap (default true). */
  reuseMemory?: boolean;
}

/**
 * Schedules measured on SwiftShader, the CI adapter (docs/KERNELS.md, "Kernels for fusion"):
 * flash attention reading K/V directly two keys at a time (no barriers, fewest live registers),
 * norm statistics per workgroup, and 8×8 register blocks for matmuls of at least 64 rows and
 * columns (1.6–1.9× the renderer's 4×4 default there; smaller ones keep 4×4, faster to compile).
 */
export const DEFAULT_EMIT: EmitOptions = {
  flash: { tileK: 2, kv: 'direct' },
  normStats: 'workgroup',
  tiling: { rows: 8, cols: 8, workgroup: [8, 4] },
  normTiling: { rows: 8, cols: 8, workgroup: [8, 4] },
};

export function selectKernels(g: Graph, opts: SelectOptions): Plan {
  return selectWithFusion(g, opts).plan;
}

/** selectKernels, also returning the fusion decisions it followed. */
export function selectWithFusion(
  g: Graph,
  opts: SelectOptions,
): { plan: Plan; fusion: FusionPlan } {
  const pb = new PlanBuilder();
  const fusion = planFusion(g, opts.fusion);
  const emitOpts: EmitOptions = { ...DEFAULT_EMIT, ...opts.emit };
  const locs = new Map<number, Loc>();
  const label = (n: Node) => `%${n.id} ${n.op}${n.name ? ` (${n.name})` : ''}`;
  /** The view a node is read through, unless it has its own buffer (materialised or computed). */
  const view = (id: number): View | undefined =>
    fusion.materialize.has(id) ? undefined : fusion.views.get(id);
  const loc = (id: number): Loc => {
    const l = locs.get(id);
    if (l) return l;
    const v = view(id);
    if (v && isContiguous(v)) return loc(v.base);
    if (v)
      throw new CodegenError(
        `%${id} is a strided view of %${v.base}; its reader needs a copy (fusion planning missed it)`,
      );
    throw new CodegenError(`node %${id} has no buffer (consumed before it was computed)`);
  };
  const scratch = (n: Node) =>
    pb.buffer(`%${n.id} ${n.name ?? n.op}`, 'scratch', numel(n.shape) * 4);
  const homes: Homes = { loc, view, scratch, label };
  const inlined = inlinedConsts(g, fusion);

  // Leaves first: epilogues may read a parameter created after the matmul that uses it.
  for (const n of g.nodes) {
    switch (n.op) {
      case 'input': {
        const l = pb.buffer(`input ${n.attrs.name}`, 'input', numel(n.shape) * 4);
        pb.inputs.push({
          name: n.attrs.name,
          buffer: l.buffer,
          offset: 0,
          shape: [...n.shape],
          dtype: n.dtype,
        });
        locs.set(n.id, l);
        break;
      }
      case 'param': {
        const l = pb.buffer(n.attrs.name, 'param', numel(n.shape) * 4);
        pb.params.push({
          name: n.attrs.name,
          buffer: l.buffer,
          offset: 0,
          shape: [...n.shape],
          dtype: 'f32',
        });
        locs.set(n.id, l);
        break;
      }
      case 'const':
        if (inlined.has(n.id)) break;
        locs.set(
          n.id,
          pb.buffer(n.attrs.name, 'const', numel(n.shape) * 4, {
            init: n.attrs.init,
            shape: [...n.shape],
          }),
        );
        break;
    }
  }
  for (const n of g.nodes) {
    if (fusion.absorbed.has(n.id) || locs.has(n.id) || n.op === 'const') continue;
    const att = fusion.attention.get(n.id);
    const grp = fusion.elementwise.get(n.id);
    const attGrad = fusion.attentionGrads.get(n.id);
    if (attGrad) {
      for (const [id, l] of emitAttentionGrad(pb, g, attGrad, homes)) locs.set(id, l);
    } else if (att) {
      const r = emitAttention(pb, g, att, n, homes, emitOpts);
      locs.set(n.id, r.out);
      if (att.probs !== undefined) locs.set(att.probs, r.probs!);
      if (att.lse !== undefined) locs.set(att.lse, r.lse!);
    } else if (grp) {
      const outs = emitElementwise(pb, g, grp, homes);
      grp.outputs.forEach((id, j) => locs.set(id, outs[j]));
    } else if (fusion.views.has(n.id)) {
      // A view: no kernel, unless some reader needs it in contiguous memory.
      if (!fusion.materialize.has(n.id)) continue;
      const v = fusion.views.get(n.id)!;
      const out = scratch(n);
      copyView(pb, label(n), loc(v.base), v, out, stridesOf(n.shape), 0);
      locs.set(n.id, out);
    } else if (n.op === 'matmul') {
      const f = fusion.matmuls.get(n.id)!;
      // The fused chain's last node is what later nodes read; the intermediates never exist.
      const r = emitMatmul(pb, g, f, n, homes, emitOpts);
      locs.set(f.chain.length ? f.chain[f.chain.length - 1] : n.id, r.out);
      if (f.rowNorm !== undefined) locs.set(f.rowNorm, r.normed!);
    } else if (n.op === 'concat') {
      const out = scratch(n);
      const ds = stridesOf(n.shape);
      let at = 0;
      for (const i of n.inputs) {
        // Pieces are copied straight out of views (a broadcast class token, a sliced value).
        const src = g.nodes[i];
        const v = view(i) ?? contiguousView(i, src.shape);
        copyView(pb, label(n), loc(v.base), v, out, ds, at * ds[n.attrs.axis]);
        at += src.shape[n.attrs.axis];
      }
      locs.set(n.id, out);
    } else if (n.op === 'im2col') {
      // Only reached when the im2col is not folded into a matmul prologue.
      const src = g.nodes[n.inputs[0]];
      const [B, C, H, W] = src.shape;
      const { ph, pw } = n.attrs;
      const [R, Q] = [H / ph, W / pw];
      const out = scratch(n);
      // Iterate [B, R, Q, C, ph, pw] in output order; source strides from [B, C, H, W].
      const s = stridesOf(src.shape);
      const dims = [B, R, Q, C, ph, pw];
      const k = renderCopy({
        name: 'copy',
        dims,
        srcStrides: [s[0], ph * s[2], pw, s[1], s[2], 1],
        srcOffset: 0,
        dstStrides: stridesOf(dims),
        dstOffset: 0,
      });
      pb.step(k, 'strided copy (layout op)', label(n), { src: loc(src.id), dst: out });
      locs.set(n.id, out);
    } else {
      const out = scratch(n);
      renderOpKernel(pb, g, n, out, loc, label(n));
      locs.set(n.id, out);
    }
  }
  for (const o of g.outputs) {
    const n = g.nodes[o.node];
    const l = loc(o.node);
    pb.outputs.push({
      name: o.name,
      buffer: l.buffer,
      offset: 0,
      shape: [...n.shape],
      dtype: n.dtype,
    });
    pb.buffers[l.buffer].role =
      pb.buffers[l.buffer].role === 'scratch' ? 'output' : pb.buffers[l.buffer].role;
  }
  const plan = pb.build({
    spec: opts.spec,
    specFile: opts.specFile,
    batch: opts.batch,
    mode: opts.mode,
  });
  return { plan: opts.reuseMemory === false ? plan : planMemory(plan), fusion };
}

/** Constants every reader of which writes them as literals (fused elementwise): no buffer. */
function inlinedConsts(g: Graph, fusion: FusionPlan): Set<number> {
  const inEw = new Set<number>();
  for (const grp of fusion.elementwise.values()) for (const m of grp.members) inEw.add(m);
  const outputs = new Set(g.outputs.map((o) => o.node));
  const readers = consumers(g);
  const out = new Set<number>();
  for (const n of g.nodes)
    if (
      n.op === 'const' &&
      inlineConst(n) !== undefined &&
      !outputs.has(n.id) &&
      readers[n.id].length &&
      readers[n.id].every((r) => inEw.has(r))
    )
      out.add(n.id);
  return out;
}
