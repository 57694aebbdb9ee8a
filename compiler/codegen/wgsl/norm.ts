/**
 * LayerNorm / RMSNorm renderer over the last axis of x [rows, D] (rows = every token of every
 * image, D = model width).
 *
 *   layernorm: y = (x − mean) · rsqrt(var + eps) · weight + bias, var biased (÷D), like torch
 *   rmsnorm:   y = x · rsqrt(mean(x²) + eps) · weight
 *
 * One workgroup per row (rows beyond 65535 fold into a second grid dimension). Each invocation
 * sums a strided slice of the row; a workgroup-memory tree combines the partial sums. The mean is
 * reduced first and the variance is then reduced over (x − mean)², never as E[x²] − mean², which
 * cancels badly when |mean| ≫ std. eps is a spec value baked into the text as a constant.
 * Optionally the per-row statistics are written too (mean and rstd for layernorm, rstd for
 * rmsnorm), which is what the backward pass needs.
 */

import {
  BindingSet,
  check,
  entrySignature,
  epsTag,
  f32,
  flatWorkgroupIndex,
  grid1d,
  isPowerOfTwo,
  KernelSpecError,
  renderHeader,
  renderUniformStruct,
  renderWorkgroupReduce,
  sanitizeName,
  sizeOf,
  u32,
  WgslWriter,
  type KernelSizes,
  type KernelSource,
  type UniformField,
  type Vec3,
} from './builder.js';

export interface NormDesc {
  kind: 'layernorm' | 'rmsnorm';
  eps: number;
  /** Per-feature weight [D] (default true). */
  weight?: boolean;
  /** Per-feature bias [D] (layernorm only; default true for layernorm). */
  bias?: boolean;
  /** Also write per-row statistics: `mean` [rows] (layernorm) and `rstd` [rows]. */
  saveStats?: boolean;
  /** Invocations per workgroup (power of two, ≤ 256; default 64). */
  workgroupSize?: number;
  /** 4 when every D is a multiple of 4: rows are then read and written as vec4. */
  alignD?: 1 | 4;
  name?: string;
}

/** Uniforms of the row kernels over x [rows, D] (norm, norm_grad). */
export const ROW_UNIFORMS: readonly UniformField[] = [
  { name: 'rows', type: 'u32' },
  { name: 'D', type: 'u32' },
];
const UNIFORMS = ROW_UNIFORMS;

/** rows and D of a row kernel's sizes, checked (D > 0, and a multiple of 4 for vec4 rows). */
export function rowSizes(
  sizes: KernelSizes,
  name: string,
  vec: boolean,
): { rows: number; D: number } {
  const rows = sizeOf(sizes, 'rows', name);
  const D = sizeOf(sizes, 'D', name);
  if (D === 0) throw new KernelSpecError(`${name}: D must be positive`);
  if (vec && D % 4 !== 0) throw new KernelSpecError(`${name}: D=${D} is not a multiple of 4`);
  return { rows, D };
}

export function renderNorm(desc: NormDesc): KernelSource {
  const kind = desc.kind;
  const ln = kind === 'layernorm';
  const wg = desc.workgroupSize ?? 64;
  const weight = desc.weight ?? true;
  const bias = desc.bias ?? ln;
  const vec = (desc.alignD ?? 1) === 4;
  check(kind === 'layernorm' || kind === 'rmsnorm', 'norm', `unknown norm kind '${kind}'`);
  check(
    isPowerOfTwo(wg) && wg <= 256,
    'norm',
    `workgroupSize must be a power of two ≤ 256, got ${wg}`,
  );
  check(Number.isFinite(desc.eps) && desc.eps >= 0, 'norm', `eps must be ≥ 0, got ${desc.eps}`);
  check(ln || !bias, 'norm', 'rmsnorm has no bias');
  const name = sanitizeName(
    desc.name ??
      [
        kind,
        weight ? 'w' : 'now',
        bias ? 'b' : '',
        desc.saveStats ? 'stats' : '',
        `eps${epsTag(desc.eps)}`,
        `wg${wg}`,
        vec ? 'v4' : '',
      ]
        .filter(Boolean)
        .join('_'),
  );

  const T = vec ? 'vec4<f32>' : 'f32';
  const binds = new BindingSet().storage('x', 'read', T);
  if (weight) binds.storage('weight', 'read', T);
  if (bias) binds.storage('bias', 'read', T);
  binds.storage('y', 'read_write', T);
  if (desc.saveStats && ln) binds.storage('mean', 'read_write', 'f32');
  if (desc.saveStats) binds.storage('rstd', 'read_write', 'f32');
  binds.uniform('u', 'Uniforms');

  const w = new WgslWriter();
  renderHeader(w, name, [
    ln
      ? 'LayerNorm over the last axis: y = (x − mean)·rsqrt(var + eps)·weight + bias (biased var).'
      : 'RMSNorm over the last axis: y = x·rsqrt(mean(x²) + eps)·weight.',
    `x, y: [rows, D]${vec ? ' read as vec4 (D % 4 == 0)' : ''}; one workgroup of ${wg} per row.`,
  ]);
  renderUniformStruct(w, UNIFORMS);
  binds.render(w);
  w.line();
  w.line(`const WG = ${u32(wg)};`);
  w.line(`const EPS = ${f32(desc.eps)};`);
  w.line('var<workgroup> partial: array<f32, WG>;');
  w.line();
  renderWorkgroupReduce(w, 'workgroup_sum', 'partial', wg, (a, b) => `${a} + ${b}`);
  w.line();
  // Sum of a vec4's lanes, or the value itself.
  const total = (e: string): string => (vec ? `dot(${e}, vec4<f32>(1.0))` : e);
  w.block(entrySignature([wg, 1, 1]), () => {
    w.line(`let row = ${flatWorkgroupIndex};`);
    w.comment('Uniform exit: row depends only on the workgroup id, so barriers stay legal.');
    w.block('if (row >= u.rows)', () => w.line('return;'));
    w.line(`let n = ${vec ? 'u.D / 4u' : 'u.D'}; // elements of x per row`);
    w.line('let base = row * n;');
    w.line('let inv_d = 1.0 / f32(u.D);');
    if (ln) {
      w.line('var s = 0.0;');
      w.block('for (var i = lid; i < n; i = i + WG)', () =>
        w.line(`s += ${total('x[base + i]')};`),
      );
      w.line('let mu = workgroup_sum(s, lid) * inv_d;');
      w.line('var q = 0.0;');
      w.block('for (var i = lid; i < n; i = i + WG)', () => {
        w.line('let d = x[base + i] - mu;');
        w.line(`q += ${total('d * d')};`);
      });
      w.line('let r = inverseSqrt(workgroup_sum(q, lid) * inv_d + EPS);');
    } else {
      w.line('var q = 0.0;');
      w.block('for (var i = lid; i < n; i = i + WG)', () => {
        w.line('let v = x[base + i];');
        w.line(`q += ${total('v * v')};`);
      });
      w.line('let r = inverseSqrt(workgroup_sum(q, lid) * inv_d + EPS);');
    }
    w.block('for (var i = lid; i < n; i = i + WG)', () => {
      w.line(`var v = ${ln ? '(x[base + i] - mu) * r' : 'x[base + i] * r'};`);
      if (weight) w.line('v *= weight[i];');
      if (bias) w.line('v += bias[i];');
      w.line('y[base + i] = v;');
    });
    if (desc.saveStats) {
      w.block('if (lid == 0u)', () => {
        if (ln) w.line('mean[row] = mu;');
        w.line('rstd[row] = r;');
      });
    }
  });

  return {
    name,
    wgsl: w.toString(),
    entry: 'main',
    workgroupSize: [wg, 1, 1],
    bindings: binds.decls,
    uniforms: UNIFORMS,
    dispatch(sizes: KernelSizes): Vec3 {
      return grid1d(rowSizes(sizes, name, vec).rows);
    },
  };
}
