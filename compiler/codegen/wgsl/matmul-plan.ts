/**
 * Matmul descriptions and the render-time plan derived from them: validated tiling, which
 * operand loads can be vec4 (and along which axis), the kernel name and its header text.
 * See matmul.ts for the kernel's layout conventions.
 */

import type { Activation } from './activations.js';
import { check, epsTag, sanitizeName } from './builder.js';

export interface MatmulTiling {
  /** Output rows per invocation. */
  rows: number;
  /** Output columns per invocation. */
  cols: number;
  /** Invocations per workgroup along N (x) and M (y). */
  workgroup: [number, number];
  /**
   * Share A rows within subgroups of this size (matmul-subgroup.ts): each lane loads part of the
   * rows its neighbours also need and hands them on with subgroupShuffle. Needs 'subgroups'.
   */
  subgroup?: number;
}

export const DEFAULT_MATMUL_TILING: Readonly<MatmulTiling> = {
  rows: 4,
  cols: 4,
  workgroup: [8, 8],
};

export interface Im2colLayout {
  channels: number;
  height: number;
  width: number;
  patchH: number;
  patchW: number;
}

/**
 * A normalisation prologue: each row of A (length K) is normalised before it enters the product,
 * exactly as a LayerNorm / RMSNorm node would have written it (mean first, then the centred
 * variance; y = (x − mean)·rsqrt(var + eps)·weight + bias). Row statistics are computed once
 * per workgroup ('workgroup': the invocations share rows through workgroup memory, two barriers)
 * or by every invocation for its own rows ('invocation': no barriers, redundant work).
 */
export interface MatmulNorm {
  kind: 'layernorm' | 'rmsnorm';
  eps: number;
  weight: boolean;
  bias: boolean;
  stats?: 'workgroup' | 'invocation';
}

/**
 * A row-norm epilogue: also write normed = norm(C) over each row of width `width` (= N, static).
 * The tiling must give a workgroup whole rows (workgroup[0]·cols ≥ width).
 */
export interface MatmulRowNorm {
  kind: 'layernorm' | 'rmsnorm';
  eps: number;
  weight: boolean;
  bias: boolean;
  width: number;
}

/** A read as a strided view: row r (over the whole batch, b·M + m) starts at offset + r·rowStride. */
export interface MatmulAView {
  offset: number;
  rowStride: number;
}

export interface MatmulDesc {
  transA?: boolean;
  transB?: boolean;
  /** 'batched' (default): operand has its own matrix per batch entry; 'shared': one for all. */
  batchA?: 'batched' | 'shared';
  batchB?: 'batched' | 'shared';
  bias?: boolean;
  activation?: Activation;
  scale?: boolean;
  residual?: 'none' | 'buffer' | 'in_place';
  im2col?: Im2colLayout;
  /** A rows normalised on load (LayerNorm / RMSNorm over K); bindings norm_weight, norm_bias. */
  norm?: MatmulNorm;
  /** A is a row-strided view (e.g. the class token of every image); not with transA or im2col. */
  aView?: MatmulAView;
  /** Also write norm(C) row by row (bindings ln_weight, ln_bias, normed). */
  rowNorm?: MatmulRowNorm;
  /** Divisibility the caller guarantees for every dispatch (checked by `dispatch`); enables vec4. */
  align?: { m?: 1 | 4; n?: 1 | 4; k?: 1 | 4 };
  tiling?: MatmulTiling;
  /** Overrides the generated kernel name. */
  name?: string;
}

/** K is walked this many steps per loop iteration (one vec4 along K). */
export const K_STEP = 4;

/** How one operand's fragment is loaded: vec4 along K, vec4 along its outer axis, or scalars. */
export type FragmentMode = 'vecK' | 'vecOuter' | 'scalar';

export interface Plan {
  name: string;
  tm: number;
  tn: number;
  wx: number;
  wy: number;
  transA: boolean;
  transB: boolean;
  sharedA: boolean;
  sharedB: boolean;
  modeA: FragmentMode;
  modeB: FragmentMode;
  vecC: boolean;
  kAligned: boolean;
  align: { m: number; n: number; k: number };
  desc: MatmulDesc;
  /** Subgroup sharing of A rows: the subgroup size and how many rows each lane loads. */
  subgroup?: { size: number; perLane: number };
}

export function plan(desc: MatmulDesc): Plan {
  const t = desc.tiling ?? DEFAULT_MATMUL_TILING;
  const align = { m: desc.align?.m ?? 1, n: desc.align?.n ?? 1, k: desc.align?.k ?? 1 };
  const transA = desc.transA ?? false;
  const transB = desc.transB ?? false;
  const im = desc.im2col;
  const kind = 'matmul';
  for (const [k, v] of Object.entries({ rows: t.rows, cols: t.cols })) {
    check(Number.isInteger(v) && v >= 1 && v <= 8, kind, `tiling.${k} must be 1..8, got ${v}`);
  }
  const [wx, wy] = t.workgroup;
  check(
    Number.isInteger(wx) && Number.isInteger(wy) && wx >= 1 && wy >= 1 && wx * wy <= 256,
    kind,
    `workgroup ${wx}×${wy} must be positive with at most 256 invocations`,
  );
  for (const [k, v] of Object.entries(align)) {
    check(v === 1 || v === 4, kind, `align.${k} must be 1 or 4, got ${v}`);
  }
  if (im) {
    check(!transA, kind, 'im2col reads A from an image; transA does not apply');
    for (const [k, v] of Object.entries(im)) {
      check(Number.isInteger(v) && v >= 1, kind, `im2col.${k} must be a positive integer`);
    }
    check(
      im.height % im.patchH === 0 && im.width % im.patchW === 0,
      kind,
      `image ${im.height}×${im.width} is not divisible into ${im.patchH}×${im.patchW} patches`,
    );
  }
  const av = desc.aView;
  if (av) {
    check(!transA && !im, kind, 'aView applies to a row-major A only');
    check(
      Number.isInteger(av.offset) &&
        av.offset >= 0 &&
        Number.isInteger(av.rowStride) &&
        av.rowStride >= 1,
      kind,
      'aView offset must be ≥ 0 and rowStride ≥ 1',
    );
  }
  if (desc.norm) {
    check(!transA && !im, kind, 'a norm prologue needs a row-major A');
    check(Number.isFinite(desc.norm.eps) && desc.norm.eps >= 0, kind, 'norm eps must be ≥ 0');
    check(desc.norm.kind === 'layernorm' || !desc.norm.bias, kind, 'rmsnorm has no bias');
  }
  const rn = desc.rowNorm;
  if (rn) {
    check(Number.isInteger(rn.width) && rn.width >= 1, kind, 'rowNorm.width must be ≥ 1');
    check(
      wx * t.cols >= rn.width,
      kind,
      `a row norm over ${rn.width} columns needs workgroup[0]·cols ≥ ${rn.width}`,
    );
    check(Number.isFinite(rn.eps) && rn.eps >= 0, kind, 'rowNorm eps must be ≥ 0');
    check(rn.kind === 'layernorm' || !rn.bias, kind, 'rmsnorm has no bias');
  }
  const viewAligned = !av || (av.offset % 4 === 0 && av.rowStride % 4 === 0);
  let modeA: FragmentMode = 'scalar';
  if (im) modeA = align.k === 4 && im.patchW % 4 === 0 ? 'vecK' : 'scalar';
  else if (!transA && align.k === 4 && viewAligned) modeA = 'vecK';
  else if (transA && align.m === 4 && t.rows % 4 === 0) modeA = 'vecOuter';
  let modeB: FragmentMode = 'scalar';
  if (transB && align.k === 4) modeB = 'vecK';
  else if (!transB && align.n === 4 && t.cols % 4 === 0) modeB = 'vecOuter';
  const vecC = align.n === 4 && t.cols % 4 === 0;
  const p: Plan = {
    name: '',
    tm: t.rows,
    tn: t.cols,
    wx,
    wy,
    transA,
    transB,
    sharedA: desc.batchA === 'shared',
    sharedB: desc.batchB === 'shared',
    modeA,
    modeB,
    vecC,
    kAligned: align.k === 4,
    align,
    desc,
  };
  if (t.subgroup !== undefined) p.subgroup = subgroupShare(p, t.subgroup);
  p.name = desc.name ? sanitizeName(desc.name) : defaultName(p);
  return p;
}

/**
 * Whether A rows can be shared in subgroups of `size`, and how many rows each lane loads. The
 * lanes that need the same A rows are the WX invocations of one workgroup row (same m0), in
 * blocks of TM (lane l loads row l mod TM). Either a block of TM lanes fits a subgroup (TM | S,
 * and subgroups do not straddle workgroup rows unevenly: S | WX or WX | S; one row per lane), or
 * the subgroup is smaller than the block (S | TM and S | WX: TM/S rows per lane).
 */
function subgroupShare(p: Plan, size: number): { size: number; perLane: number } {
  const kind = 'matmul';
  check(
    Number.isInteger(size) && size >= 4 && size <= 128 && (size & (size - 1)) === 0,
    kind,
    `subgroup size must be a power of two in 4..128, got ${size}`,
  );
  check(
    p.modeA === 'vecK' && !p.desc.im2col && !p.transA,
    kind,
    'subgroup sharing needs a row-major A loaded as vec4 along K (no im2col)',
  );
  check(p.wx % p.tm === 0, kind, `subgroup sharing needs TM (${p.tm}) to divide WX (${p.wx})`);
  if (size % p.tm === 0 && (p.wx % size === 0 || size % p.wx === 0)) return { size, perLane: 1 };
  check(
    p.tm % size === 0 && p.wx % size === 0,
    kind,
    `subgroups of ${size} do not tile rows of ${p.wx} invocations in blocks of ${p.tm}`,
  );
  return { size, perLane: p.tm / size };
}

function defaultName(p: Plan): string {
  const d = p.desc;
  const im = d.im2col;
  const parts = ['matmul'];
  if (p.transA) parts.push('ta');
  if (p.transB) parts.push('tb');
  if (p.sharedA) parts.push('sa');
  if (p.sharedB) parts.push('sb');
  if (im) parts.push(`im2col_c${im.channels}_${im.height}x${im.width}_p${im.patchH}x${im.patchW}`);
  if (d.aView) parts.push(`view${d.aView.offset}s${d.aView.rowStride}`);
  if (d.norm) {
    const n = d.norm;
    const eps = epsTag(n.eps);
    parts.push(
      `${n.kind === 'layernorm' ? 'ln' : 'rms'}${n.weight ? 'w' : ''}${n.bias ? 'b' : ''}_eps${eps}_${n.stats === 'invocation' ? 'inv' : 'wg'}`,
    );
  }
  if (d.bias) parts.push('bias');
  if (d.rowNorm) {
    const n = d.rowNorm;
    const eps = epsTag(n.eps);
    parts.push(
      `then${n.kind === 'layernorm' ? 'ln' : 'rms'}${n.weight ? 'w' : ''}${n.bias ? 'b' : ''}${n.width}_eps${eps}`,
    );
  }
  if (d.activation && d.activation !== 'none') parts.push(d.activation);
  if (d.scale) parts.push('scale');
  if (d.residual === 'buffer') parts.push('res');
  if (d.residual === 'in_place') parts.push('resinplace');
  parts.push(`t${p.tm}x${p.tn}_w${p.wx}x${p.wy}`);
  if (p.subgroup) parts.push(`sg${p.subgroup.size}`);
  parts.push(`a${p.align.m}${p.align.n}${p.align.k}`);
  return parts.join('_');
}

export function describe(p: Plan): string[] {
  const d = p.desc;
  const lines = [
    `C[b] = ${d.norm ? `${d.norm.kind}(A)` : p.transA ? 'Aᵀ' : 'A'}·${p.transB ? 'Bᵀ' : 'B'}; A ${
      d.im2col ? 'im2col of image [B, C, H, W]' : p.transA ? '[K, M]' : '[M, K]'
    }${p.sharedA ? ' shared' : ''}${d.aView ? ` (rows at ${d.aView.offset} + r·${d.aView.rowStride})` : ''}, B ${p.transB ? '[N, K]' : '[K, N]'}${p.sharedB ? ' shared' : ''}, C [M, N].`,
    `Epilogue: ${epilogueText(d)}${d.rowNorm ? `; then normed = ${d.rowNorm.kind}(C) over rows of ${d.rowNorm.width}` : ''}.`,
    `Invocation block ${p.tm}×${p.tn}, workgroup ${p.wx}×${p.wy}; loads A:${p.modeA} B:${p.modeB}, ` +
      `C:${p.vecC ? 'vec4' : 'scalar'}.`,
  ];
  if (p.subgroup)
    lines.push(
      `A rows shared in subgroups of ${p.subgroup.size} (${p.subgroup.perLane} row(s) loaded per lane, ` +
        'subgroupShuffle); direct loads where a subgroup is not laid out as expected.',
    );
  return lines;
}

export function epilogueText(d: MatmulDesc): string {
  const steps: string[] = [];
  if (d.bias) steps.push('+ bias[n]');
  if (d.activation && d.activation !== 'none') steps.push(d.activation);
  if (d.scale) steps.push('× scale[n]');
  if (d.residual === 'buffer') steps.push('+ residual[m, n]');
  if (d.residual === 'in_place') steps.push('+ C[m, n] (in place)');
  return steps.length ? steps.join(' → ') : 'none';
}
