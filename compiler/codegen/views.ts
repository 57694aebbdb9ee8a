// Strided views: layout ops (reshape, transpose, slice, broadcast_to) as pure index arithmetic
// over the buffer of the value they start from, so that a consumer able to read a strided view
// (a strided copy, an elementwise kernel, attention on the fused qkv buffer, a matmul's A rows)
// reads it in place and no copy is made. A view is materialised only where some reader needs
// contiguous memory. Geometry only: which node owns the buffer, an element offset, shape and
// strides. (Which views are materialised is decided in fuse.ts, with a reason for each.)
import { type Graph, stridesOf } from '../ir/graph.js';

export interface View {
  /** The node whose (contiguous) buffer holds the elements. */
  base: number;
  /** Element offset of the view's first element. */
  offset: number;
  shape: number[];
  /** Element strides, one per axis (0 along broadcast axes). */
  strides: number[];
}

export function contiguousView(base: number, shape: readonly number[]): View {
  return { base, offset: 0, shape: [...shape], strides: stridesOf(shape) };
}

/** Row-major and starting at the base's first element: the base's buffer can be bound as is. */
export function isContiguous(v: View): boolean {
  return hasLayout(v, 0, stridesOf(v.shape));
}

/** Starts at element `offset` with these strides (size-1 axes excepted). */
export function hasLayout(v: View, offset: number, strides: readonly number[]): boolean {
  return v.offset === offset && v.shape.every((s, i) => s === 1 || v.strides[i] === strides[i]);
}

/** The ids among `ids` that are views but not contiguous ones: what needs a copy to be bound. */
export function stridedViews(ids: readonly number[], views: ReadonlyMap<number, View>): number[] {
  return ids.filter((id) => {
    const v = views.get(id);
    return v !== undefined && !isContiguous(v);
  });
}

export function transposeView(v: View, perm: readonly number[]): View {
  return { ...v, shape: perm.map((p) => v.shape[p]), strides: perm.map((p) => v.strides[p]) };
}

export function sliceView(v: View, axis: number, start: number, end: number): View {
  const shape = [...v.shape];
  shape[axis] = end - start;
  return { ...v, offset: v.offset + start * v.strides[axis], shape };
}

export function broadcastView(v: View, shape: readonly number[]): View {
  const pad = shape.length - v.shape.length;
  const strides = shape.map((_, i) => (i < pad || v.shape[i - pad] === 1 ? 0 : v.strides[i - pad]));
  return { ...v, shape: [...shape], strides };
}

/**
 * The view of `v` reshaped to `shape`, when the reshape needs no data movement; undefined when
 * it does (e.g. merging two axes a transpose swapped). torch's computeStride: walk both shapes
 * from the innermost axis, matching chunks of old axes that are contiguous among themselves.
 */
export function reshapeView(v: View, shape: readonly number[]): View | undefined {
  const old = v.shape;
  const numel = shape.reduce((a, b) => a * b, 1);
  if (numel === 0) return undefined;
  if (old.length === 0) return { ...v, shape: [...shape], strides: shape.map(() => 0) };
  const strides = new Array<number>(shape.length).fill(0);
  let viewD = shape.length - 1;
  let chunkBase = v.strides[old.length - 1];
  let tensorNumel = 1;
  let viewNumel = 1;
  for (let d = old.length - 1; d >= 0; d--) {
    tensorNumel *= old[d];
    if (d === 0 || (old[d - 1] !== 1 && v.strides[d - 1] !== tensorNumel * chunkBase)) {
      while (viewD >= 0 && (viewNumel < tensorNumel || shape[viewD] === 1)) {
        strides[viewD] = viewNumel * chunkBase;
        viewNumel *= shape[viewD];
        viewD--;
      }
      if (viewNumel !== tensorNumel) return undefined;
      if (d > 0) {
        chunkBase = v.strides[d - 1];
        tensorNumel = 1;
        viewNumel = 1;
      }
    }
  }
  if (viewD !== -1) return undefined;
  return { ...v, shape: [...shape], strides };
}

/**
 * The view as rows of its last axis, when every row starts at offset + r·rowStride over all
 * leading axes (flattened) and the last axis is contiguous: what a matmul's A loads can read.
 */
export function rowView(v: View): { offset: number; rowStride: number; rows: number } | undefined {
  const n = v.shape.length;
  if (n === 0) return undefined;
  const K = v.shape[n - 1];
  if (K > 1 && v.strides[n - 1] !== 1) return undefined;
  let rows = 1;
  let rowStride = 0;
  let expect: number | undefined;
  for (let d = n - 2; d >= 0; d--) {
    if (v.shape[d] === 1) continue;
    if (expect === undefined) rowStride = v.strides[d];
    else if (v.strides[d] !== expect) return undefined;
    rows *= v.shape[d];
    expect = v.strides[d] * v.shape[d];
  }
  if (rows > 1 && rowStride < K) return undefined;
  return { offset: v.offset, rowStride: rows > 1 ? rowStride : K, rows };
}

const LAYOUT_OPS: ReadonlySet<string> = new Set(['reshape', 'transpose', 'slice', 'broadcast_to']);

export function isLayoutView(op: string): boolean {
  return LAYOUT_OPS.has(op);
}

/**
 * Geometry of every layout node as a view, in topological order. A reshape that cannot be
 * expressed over its input's view makes that input a materialisation point (`needsCopy`), and
 * is then a contiguous view of it. Nodes in `skip` (absorbed by a fused kernel) get no view;
 * `transparent` maps a node (a norm folded into a matmul prologue) to the node views look through.
 */
export function planViews(
  g: Graph,
  skip: ReadonlySet<number>,
  transparent: ReadonlyMap<number, number> = new Map(),
): { views: Map<number, View>; needsCopy: Set<number> } {
  const views = new Map<number, View>();
  const needsCopy = new Set<number>();
  const viewOf = (id: number): View => {
    // A norm folded into a matmul behind these views: they address its input's rows instead.
    const through = transparent.get(id);
    if (through !== undefined) return viewOf(through);
    if (needsCopy.has(id)) return contiguousView(id, g.nodes[id].shape);
    return views.get(id) ?? contiguousView(id, g.nodes[id].shape);
  };
  for (const n of g.nodes) {
    if (skip.has(n.id) || !LAYOUT_OPS.has(n.op)) continue;
    const src = viewOf(n.inputs[0]);
    switch (n.op) {
      case 'reshape': {
        const r = reshapeView(src, n.shape);
        if (r) views.set(n.id, r);
        else {
          needsCopy.add(n.inputs[0]);
          views.set(n.id, contiguousView(n.inputs[0], n.shape));
        }
        break;
      }
      case 'transpose':
        views.set(n.id, transposeView(src, n.attrs.perm));
        break;
      case 'slice':
        views.set(n.id, sliceView(src, n.attrs.axis, n.attrs.start, n.attrs.end));
        break;
      case 'broadcast_to':
        views.set(n.id, broadcastView(src, n.shape));
        break;
    }
  }
  return { views, needsCopy };
}

/**
 * Drops size-1 axes and merges neighbours that are contiguous in every stride set, so a strided
 * copy over [B, 1, D] from a [B, N, D] buffer iterates [B, D] (fewer div/mod terms per element).
 */
export function mergeDims(
  shape: readonly number[],
  strideSets: readonly (readonly number[])[],
): { shape: number[]; strides: number[][] } {
  const out: { size: number; strides: number[] }[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] === 1) continue;
    const last = out[out.length - 1];
    if (last && strideSets.every((s, k) => s[d] === last.strides[k] * last.size))
      last.size *= shape[d];
    else out.push({ size: shape[d], strides: strideSets.map((s) => s[d]) });
  }
  if (!out.length) out.push({ size: 1, strides: strideSets.map(() => 0) });
  out.reverse();
  return {
    shape: out.map((o) => o.size),
    strides: strideSets.map((_, k) => out.map((o) => o.strides[k])),
  };
}
