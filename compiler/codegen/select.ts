// Graph → Plan: every node gets a home (a buffer, or an alias of its input for reshape) and the
// kernels that compute it. Matmul epilogues (bias, activation, layer scale, residual) and the
// im2col prologue are folded into the matmul when the intermediate values have no other reader;
// fuse.ts decides those groups, this file only renders them.
import { type Graph, type Node, numel, stridesOf } from '../ir/graph.js';
import { type MatmulFusion, planFusion } from './fuse.js';
import { renderOpKernel } from './op-kernels.js';
import { CodegenError, type Loc, PlanBuilder } from './plan-builder.js';
import type { Plan } from './plan.js';
import { renderCopy } from './wgsl/copy.js';
import { renderMatmul } from './wgsl/matmul.js';

export interface SelectOptions {
  spec: string;
  specFile: string;
  batch: number;
  mode: 'eval' | 'train';
}

export function selectKernels(g: Graph, opts: SelectOptions): Plan {
  const pb = new PlanBuilder();
  const fusion = planFusion(g);
  const locs = new Map<number, Loc>();
  const label = (n: Node) => `%${n.id} ${n.op}${n.name ? ` (${n.name})` : ''}`;
  const loc = (id: number): Loc => {
    const l = locs.get(id);
    if (!l) throw new CodegenError(`node %${id} has no buffer (consumed before it was computed)`);
    return l;
  };
  const scratch = (n: Node) => pb.buffer(`%${n.id} ${n.name ?? n.op}`, 'scratch', numel(n.shape) * 4);

  // Leaves first: epilogues may read a parameter created after the matmul that uses it.
  for (const n of g.nodes) {
    switch (n.op) {
      case 'input': {
        const l = pb.buffer(`input ${n.attrs.name}`, 'input', numel(n.shape) * 4);
        pb.inputs.push({ name: n.attrs.name, buffer: l.buffer, offset: 0, shape: [...n.shape], dtype: n.dtype });
        locs.set(n.id, l);
        break;
      }
      case 'param': {
        const l = pb.buffer(n.attrs.name, 'param', numel(n.shape) * 4);
        pb.params.push({ name: n.attrs.name, buffer: l.buffer, offset: 0, shape: [...n.shape], dtype: 'f32' });
        locs.set(n.id, l);
        break;
      }
      case 'const':
        locs.set(n.id, pb.buffer(n.attrs.name, 'const', numel(n.shape) * 4, { init: n.attrs.init, shape: [...n.shape] }));
        break;
    }
  }
  for (const n of g.nodes) {
    if (fusion.absorbed.has(n.id) || locs.has(n.id)) continue;
    switch (n.op) {
      case 'reshape':
        // Same elements in the same order: the reshape is a view of its input's buffer.
        locs.set(n.id, loc(n.inputs[0]));
        break;
      case 'matmul': {
        const f = fusion.matmuls.get(n.id)!;
        const out = emitMatmul(pb, g, f, n, loc, scratch, label);
        // The fused chain's last node is what later nodes read; the intermediates never exist.
        locs.set(f.chain.length ? f.chain[f.chain.length - 1] : n.id, out);
        break;
      }
      case 'transpose': {
        const src = g.nodes[n.inputs[0]];
        const out = scratch(n);
        const inStrides = stridesOf(src.shape);
        copy(pb, label(n), loc(src.id), out, [...n.shape], n.attrs.perm.map((p) => inStrides[p]), 0, stridesOf(n.shape), 0);
        locs.set(n.id, out);
        break;
      }
      case 'slice': {
        const src = g.nodes[n.inputs[0]];
        const out = scratch(n);
        const s = stridesOf(src.shape);
        copy(pb, label(n), loc(src.id), out, [...n.shape], s, n.attrs.start * s[n.attrs.axis], stridesOf(n.shape), 0);
        locs.set(n.id, out);
        break;
      }
      case 'broadcast_to': {
        const src = g.nodes[n.inputs[0]];
        const out = scratch(n);
        const s = stridesOf(src.shape);
        const pad = n.shape.length - src.shape.length;
        const strides = n.shape.map((_, i) => (i < pad || src.shape[i - pad] === 1 ? 0 : s[i - pad]));
        copy(pb, label(n), loc(src.id), out, [...n.shape], strides, 0, stridesOf(n.shape), 0);
        locs.set(n.id, out);
        break;
      }
      case 'concat': {
        const out = scratch(n);
        const ds = stridesOf(n.shape);
        let at = 0;
        for (const i of n.inputs) {
          const src = g.nodes[i];
          copy(pb, label(n), loc(i), out, [...src.shape], stridesOf(src.shape), 0, ds, at * ds[n.attrs.axis]);
          at += src.shape[n.attrs.axis];
        }
        locs.set(n.id, out);
        break;
      }
      case 'im2col': {
        // Only reached when the im2col is not folded into a matmul prologue.
        const src = g.nodes[n.inputs[0]];
        const [B, C, H, W] = src.shape;
        const { ph, pw } = n.attrs;
        const R = H / ph;
        const Q = W / pw;
        const out = scratch(n);
        // Iterate [B, R, Q, C, ph, pw] in output order; source strides from [B, C, H, W].
        const s = stridesOf(src.shape);
        copy(pb, label(n), loc(src.id), out, [B, R, Q, C, ph, pw], [s[0], ph * s[2], pw, s[1], s[2], 1], 0, stridesOf([B, R, Q, C, ph, pw]), 0);
        locs.set(n.id, out);
        break;
      }
      default: {
        const out = scratch(n);
        renderOpKernel(pb, g, n, out, loc, label(n));
        locs.set(n.id, out);
      }
    }
  }
  for (const o of g.outputs) {
    const n = g.nodes[o.node];
    const l = loc(o.node);
    pb.outputs.push({ name: o.name, buffer: l.buffer, offset: 0, shape: [...n.shape], dtype: n.dtype });
    pb.buffers[l.buffer].role = pb.buffers[l.buffer].role === 'scratch' ? 'output' : pb.buffers[l.buffer].role;
  }
  return pb.build(opts);
}

function copy(
  pb: PlanBuilder,
  label: string,
  src: Loc,
  dst: Loc,
  dims: number[],
  srcStrides: number[],
  srcOffset: number,
  dstStrides: number[],
  dstOffset: number,
): void {
  const k = renderCopy({ name: 'copy', dims, srcStrides, srcOffset, dstStrides, dstOffset });
  pb.step(k, 'strided copy (layout op)', label, { src, dst });
}

/** A matmul with whatever fuse.ts folded into it (im2col prologue, epilogue chain). */
function emitMatmul(
  pb: PlanBuilder,
  g: Graph,
  f: MatmulFusion,
  n: Extract<Node, { op: 'matmul' }>,
  loc: (id: number) => Loc,
  scratch: (n: Node) => Loc,
  label: (n: Node) => string,
): Loc {
  const a = g.nodes[n.inputs[0]];
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
    throw new CodegenError(`${label(n)}: partial batch broadcasting [${a.shape}] x [${b.shape}] is not supported`);
  // A shared B with a row-major A folds the batch into M: one big matmul instead of many.
  const foldBatch = sharedB && !sharedA && !transA;
  const sizes = foldBatch ? { M: M * outBatch, N, K, batch: 1 } : { M, N, K, batch: outBatch };
  const last = f.chain.length ? g.nodes[f.chain[f.chain.length - 1]] : n;
  const out = scratch(last);
  const im2colSrc = f.im2col !== undefined ? g.nodes[g.nodes[f.im2col].inputs[0]] : undefined;
  const im2colNode = f.im2col !== undefined ? g.nodes[f.im2col] : undefined;
  const kernel = renderMatmul({
    transA,
    transB,
    batchA: sharedA ? 'shared' : 'batched',
    batchB: sharedB ? 'shared' : 'batched',
    bias: f.bias !== undefined,
    activation: f.activation ?? 'none',
    scale: f.scale !== undefined,
    residual: f.residual !== undefined ? 'buffer' : 'none',
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
    align: {
      m: sizes.M % 4 === 0 ? 4 : 1,
      n: N % 4 === 0 ? 4 : 1,
      k: K % 4 === 0 ? 4 : 1,
    },
  });
  const bind: Record<string, Loc> = {
    a: loc(im2colSrc ? im2colSrc.id : a.id),
    b: loc(b.id),
    c: out,
  };
  if (f.bias !== undefined) bind.bias = loc(f.bias);
  if (f.scale !== undefined) bind.scale = loc(f.scale);
  if (f.residual !== undefined) bind.residual = loc(f.residual);
  const names = [n, ...f.chain.map((i) => g.nodes[i])].map(label).join(' + ');
  pb.step(kernel, 'matmul with fused prologue/epilogue', names, bind, sizes);
  return out;
}
