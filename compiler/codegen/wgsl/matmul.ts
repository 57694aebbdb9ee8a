/**
 * Matmul renderer: C[b] = op(A[b]) · op(B[b]), then an epilogue.
 *
 * Layouts (row-major, f32, per batch entry b):
 *   A: [M, K], or [K, M] with transA; with `im2col`, patches read straight from an image (below).
 *   B: [K, N], or [N, K] with transB (a Linear weight [out, in] is B with transB).
 *   C: [M, N]; batch entries follow each other (C[b] starts at b·M·N).
 *   A or B may be 'shared' across the batch (batch stride 0), e.g. one weight for every image.
 * Epilogue, in this order: + bias[N] → activation → × scale[N] (layer scale) → + residual[M, N]
 * (a separate buffer, or 'in_place': C's own previous contents, for x = x + f(x) without a copy).
 *
 * im2col prologue (patch embedding without an im2col buffer): A is an image tensor [B, C, H, W];
 * row m = image·P + patch, patches row-major over the (H/ph)×(W/pw) grid (P patches per image);
 * column k = (c·ph + i)·pw + j, which matches a Conv2d weight [D, C, ph, pw] viewed as [D, C·ph·pw]
 * (so B = that weight with transB). M = images·P, K = C·ph·pw, batch = 1.
 *
 * Schedule: register blocking, no workgroup memory. Each invocation owns a rows×cols block of C
 * (default 4×4) and walks K four steps at a time, loading A and B fragments with vec4 loads along
 * whichever axis is contiguous in memory (K for A and Bᵀ, M for Aᵀ, N for B) when the caller
 * promises divisibility by 4 (`align`). On SwiftShader (the CPU driver CI uses) barriers are
 * expensive and this beat 64×64 shared-memory tiles (1.4–2.2 vs 1.0–1.4 GFLOP/s). Out-of-range
 * rows/columns are clamped on load (always a valid address, no divergent branch) and skipped on
 * store. M, N, K live in the uniform `u`, so one pipeline serves any batch size.
 */

import { activationExpr, mathPrelude, type Activation, type MathFn } from './activations.js';
import {
  BindingSet,
  ceilDiv,
  check,
  entrySignature,
  KernelSpecError,
  MAX_WORKGROUPS_PER_DIM,
  renderHeader,
  renderUniformStruct,
  sanitizeName,
  sizeOf,
  u32,
  WgslWriter,
  type KernelSizes,
  type KernelSource,
  type UniformField,
  type Vec3,
} from './builder.js';

export interface MatmulTiling {
  /** Output rows per invocation. */
  rows: number;
  /** Output columns per invocation. */
  cols: number;
  /** Invocations per workgroup along N (x) and M (y). */
  workgroup: [number, number];
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
  /** Divisibility the caller guarantees for every dispatch (checked by `dispatch`); enables vec4. */
  align?: { m?: 1 | 4; n?: 1 | 4; k?: 1 | 4 };
  tiling?: MatmulTiling;
  /** Overrides the generated kernel name. */
  name?: string;
}

const LANES = ['x', 'y', 'z', 'w'];

/** Parenthesises a compound WGSL expression (identifiers stay bare). */
function par(e: string): string {
  return /^\w+$/.test(e) ? e : `(${e})`;
}

/** `base + i` as WGSL u32 arithmetic, or just `base` when i is 0. */
function plus(base: string, i: number): string {
  return i === 0 ? base : `${base} + ${u32(i)}`;
}
/** K is walked this many steps per loop iteration (one vec4 along K). */
const K_STEP = 4;

/** How one operand's fragment is loaded: vec4 along K, vec4 along its outer axis, or scalars. */
type FragmentMode = 'vecK' | 'vecOuter' | 'scalar';

interface Plan {
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
}

function plan(desc: MatmulDesc): Plan {
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
  let modeA: FragmentMode = 'scalar';
  if (im) modeA = align.k === 4 && im.patchW % 4 === 0 ? 'vecK' : 'scalar';
  else if (!transA && align.k === 4) modeA = 'vecK';
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
  p.name = desc.name ? sanitizeName(desc.name) : defaultName(p);
  return p;
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
  if (d.bias) parts.push('bias');
  if (d.activation && d.activation !== 'none') parts.push(d.activation);
  if (d.scale) parts.push('scale');
  if (d.residual === 'buffer') parts.push('res');
  if (d.residual === 'in_place') parts.push('resinplace');
  parts.push(`t${p.tm}x${p.tn}_w${p.wx}x${p.wy}`);
  parts.push(`a${p.align.m}${p.align.n}${p.align.k}`);
  return parts.join('_');
}

const UNIFORMS: readonly UniformField[] = [
  { name: 'M', type: 'u32' },
  { name: 'N', type: 'u32' },
  { name: 'K', type: 'u32' },
];

export function renderMatmul(desc: MatmulDesc): KernelSource {
  const p = plan(desc);
  const w = new WgslWriter();
  const im = desc.im2col;
  const act = desc.activation ?? 'none';
  const residual = desc.residual ?? 'none';
  const cType = p.vecC ? 'vec4<f32>' : 'f32';

  const binds = new BindingSet()
    .storage('a', 'read', p.modeA === 'scalar' ? 'f32' : 'vec4<f32>')
    .storage('b', 'read', p.modeB === 'scalar' ? 'f32' : 'vec4<f32>');
  if (desc.bias) binds.storage('bias', 'read', cType);
  if (desc.scale) binds.storage('scale', 'read', cType);
  if (residual === 'buffer') binds.storage('residual', 'read', cType);
  binds.storage('c', 'read_write', cType).uniform('u', 'Uniforms');

  renderHeader(w, p.name, describe(p));
  renderUniformStruct(w, UNIFORMS);
  binds.render(w);
  w.line();
  const { expr: actOf, needs } = activationExpr(act, 'X');
  const prelude = mathPrelude(needs as MathFn[]);
  if (prelude) w.raw(prelude).line();
  w.line(`const TM = ${u32(p.tm)}; // output rows per invocation`);
  w.line(`const TN = ${u32(p.tn)}; // output columns per invocation`);
  w.line(`const WX = ${u32(p.wx)}; // invocations per workgroup along N`);
  w.line(`const WY = ${u32(p.wy)}; // invocations per workgroup along M`);
  if (im) renderIm2colConstants(w, im);
  w.line();
  w.block(entrySignature([p.wx, p.wy, 1]), () => {
    w.line('let M = u.M;');
    w.line('let N = u.N;');
    w.line('let K = u.K;');
    w.line('let m0 = (wid.y * WY + lid / WX) * TM;');
    w.line('let n0 = (wid.x * WX + lid % WX) * TN;');
    w.line(`let aBatch = ${p.sharedA || im ? '0u' : 'wid.z * M * K'};`);
    w.line(`let bBatch = ${p.sharedB ? '0u' : 'wid.z * K * N'};`);
    w.line('let cBatch = wid.z * M * N;');
    renderOperandBases(w, p);
    for (let i = 0; i < p.tm; i++) {
      for (let j0 = 0; j0 < p.tn; j0 += 4) w.line(accDecl(i, j0, Math.min(j0 + 4, p.tn)));
    }
    w.line();
    const kEnd = p.kAligned ? 'K' : 'K - K % 4u';
    w.comment(`Main loop: ${K_STEP} steps of K per iteration.`);
    w.block(`for (var k = 0u; k < ${kEnd}; k = k + ${u32(K_STEP)})`, () => {
      renderBlockStep(w, p);
    });
    if (!p.kAligned) {
      w.comment('Remainder of K (K not a multiple of 4), one step at a time.');
      w.block(`for (var k = K - K % 4u; k < K; k = k + 1u)`, () => renderTailStep(w, p));
    }
    w.line();
    renderEpilogue(w, p, act, actOf, residual);
  });

  const name = p.name;
  return {
    name,
    wgsl: w.toString(),
    entry: 'main',
    workgroupSize: [p.wx, p.wy, 1],
    bindings: binds.decls,
    uniforms: UNIFORMS,
    dispatch: (sizes: KernelSizes): Vec3 => dispatchMatmul(p, sizes),
  };
}

function describe(p: Plan): string[] {
  const d = p.desc;
  const lines = [
    `C[b] = ${p.transA ? 'Aᵀ' : 'A'}·${p.transB ? 'Bᵀ' : 'B'}; A ${
      d.im2col ? 'im2col of image [B, C, H, W]' : p.transA ? '[K, M]' : '[M, K]'
    }${p.sharedA ? ' shared' : ''}, B ${p.transB ? '[N, K]' : '[K, N]'}${p.sharedB ? ' shared' : ''}, C [M, N].`,
    `Epilogue: ${epilogueText(d)}.`,
    `Invocation block ${p.tm}×${p.tn}, workgroup ${p.wx}×${p.wy}; loads A:${p.modeA} B:${p.modeB}, ` +
      `C:${p.vecC ? 'vec4' : 'scalar'}.`,
  ];
  return lines;
}

function epilogueText(d: MatmulDesc): string {
  const steps: string[] = [];
  if (d.bias) steps.push('+ bias[n]');
  if (d.activation && d.activation !== 'none') steps.push(d.activation);
  if (d.scale) steps.push('× scale[n]');
  if (d.residual === 'buffer') steps.push('+ residual[m, n]');
  if (d.residual === 'in_place') steps.push('+ C[m, n] (in place)');
  return steps.length ? steps.join(' → ') : 'none';
}

function accDecl(i: number, j0: number, j1: number): string {
  const names: string[] = [];
  for (let j = j0; j < j1; j++) names.push(`var acc${i}_${j} = 0.0;`);
  return names.join(' ');
}

function renderIm2colConstants(w: WgslWriter, im: Im2colLayout): void {
  const gw = im.width / im.patchW;
  const gh = im.height / im.patchH;
  w.line(`const IMG_C = ${u32(im.channels)};`);
  w.line(`const IMG_H = ${u32(im.height)};`);
  w.line(`const IMG_W = ${u32(im.width)};`);
  w.line(`const PATCH_H = ${u32(im.patchH)};`);
  w.line(`const PATCH_W = ${u32(im.patchW)};`);
  w.line(`const GRID_W = ${u32(gw)}; // patches per image row`);
  w.line(`const PATCHES = ${u32(gh * gw)}; // patches per image`);
}

/** Per-row / per-column base offsets (computed once, outside the K loop), clamped into range. */
function renderOperandBases(w: WgslWriter, p: Plan): void {
  const im = p.desc.im2col;
  const vecDiv = (mode: FragmentMode): string => (mode === 'vecK' ? ' / 4u' : '');
  for (let i = 0; i < p.tm; i++) {
    const row = `min(${plus('m0', i)}, M - 1u)`;
    if (im) {
      w.line(`let r${i} = ${row};`);
      w.line(`let py${i} = (r${i} % PATCHES) / GRID_W;`);
      w.line(`let px${i} = r${i} % GRID_W;`);
      w.line(
        `let aRow${i} = (r${i} / PATCHES) * IMG_C * IMG_H * IMG_W + py${i} * PATCH_H * IMG_W + px${i} * PATCH_W;`,
      );
    } else if (!p.transA) {
      w.line(`let aRow${i} = (aBatch + ${row} * K)${vecDiv(p.modeA)};`);
    } else if (p.modeA === 'scalar') {
      w.line(`let aCol${i} = aBatch + ${row};`);
    }
  }
  if (p.transA && p.modeA === 'vecOuter') {
    for (let iv = 0; iv < p.tm / 4; iv++) {
      w.line(`let aCol4_${iv} = (aBatch + min(${plus('m0', 4 * iv)}, M - 4u)) / 4u;`);
    }
  }
  for (let j = 0; j < p.tn; j++) {
    const col = `min(${plus('n0', j)}, N - 1u)`;
    if (p.transB) w.line(`let bRow${j} = (bBatch + ${col} * K)${vecDiv(p.modeB)};`);
    else if (p.modeB === 'scalar') w.line(`let bCol${j} = bBatch + ${col};`);
  }
  if (!p.transB && p.modeB === 'vecOuter') {
    for (let jv = 0; jv < p.tn / 4; jv++) {
      w.line(`let bCol4_${jv} = (bBatch + min(${plus('n0', 4 * jv)}, N - 4u)) / 4u;`);
    }
  }
}

/** im2col column offset of K index `k` inside one image: (c, i, j) → c·H·W + i·W + j. */
function im2colOffset(k: string): string {
  return (
    `(${k}) / (PATCH_H * PATCH_W) * IMG_H * IMG_W + ` +
    `((${k}) % (PATCH_H * PATCH_W)) / PATCH_W * IMG_W + (${k}) % PATCH_W`
  );
}

/** Emits the loads of one K_STEP-wide fragment and returns accessors for element (row, kk). */
function loadA(w: WgslWriter, p: Plan, steps: number): (i: number, kk: number) => string {
  const im = p.desc.im2col;
  const kOf = (kk: number): string => plus('k', kk);
  if (p.modeA === 'vecK') {
    if (im) w.line(`let colA = ${im2colOffset('k')};`);
    for (let i = 0; i < p.tm; i++) {
      w.line(`let a${i} = a[${im ? `(aRow${i} + colA) / 4u` : `aRow${i} + k / 4u`}];`);
    }
    return (i, kk) => `a${i}.${LANES[kk]}`;
  }
  if (p.modeA === 'vecOuter') {
    for (let kk = 0; kk < steps; kk++) {
      for (let iv = 0; iv < p.tm / 4; iv++) {
        w.line(`let a${kk}_${iv} = a[aCol4_${iv} + ${par(kOf(kk))} * (M / 4u)];`);
      }
    }
    return (i, kk) => `a${kk}_${i >> 2}.${LANES[i & 3]}`;
  }
  if (im) for (let kk = 0; kk < steps; kk++) w.line(`let colA${kk} = ${im2colOffset(kOf(kk))};`);
  for (let i = 0; i < p.tm; i++) {
    for (let kk = 0; kk < steps; kk++) {
      let addr: string;
      if (im) addr = `aRow${i} + colA${kk}`;
      else if (p.transA) addr = `aCol${i} + ${par(kOf(kk))} * M`;
      else addr = `aRow${i} + ${kOf(kk)}`;
      w.line(`let a${i}_${kk} = a[${addr}];`);
    }
  }
  return (i, kk) => `a${i}_${kk}`;
}

function loadB(w: WgslWriter, p: Plan, steps: number): (kk: number, j: number) => string {
  const kOf = (kk: number): string => plus('k', kk);
  if (p.modeB === 'vecK') {
    for (let j = 0; j < p.tn; j++) w.line(`let b${j} = b[bRow${j} + k / 4u];`);
    return (kk, j) => `b${j}.${LANES[kk]}`;
  }
  if (p.modeB === 'vecOuter') {
    for (let kk = 0; kk < steps; kk++) {
      for (let jv = 0; jv < p.tn / 4; jv++) {
        w.line(`let b${kk}_${jv} = b[bCol4_${jv} + ${par(kOf(kk))} * (N / 4u)];`);
      }
    }
    return (kk, j) => `b${kk}_${j >> 2}.${LANES[j & 3]}`;
  }
  for (let j = 0; j < p.tn; j++) {
    for (let kk = 0; kk < steps; kk++) {
      const addr = p.transB ? `bRow${j} + ${kOf(kk)}` : `bCol${j} + ${par(kOf(kk))} * N`;
      w.line(`let b${kk}_${j} = b[${addr}];`);
    }
  }
  return (kk, j) => `b${kk}_${j}`;
}

function renderBlockStep(w: WgslWriter, p: Plan): void {
  const A = loadA(w, p, K_STEP);
  const B = loadB(w, p, K_STEP);
  for (let i = 0; i < p.tm; i++) {
    for (let j = 0; j < p.tn; j++) {
      if (p.modeA === 'vecK' && p.modeB === 'vecK') {
        w.line(`acc${i}_${j} += dot(a${i}, b${j});`);
      } else {
        const terms = [0, 1, 2, 3].map((kk) => `${A(i, kk)} * ${B(kk, j)}`);
        w.line(`acc${i}_${j} += ${terms.join(' + ')};`);
      }
    }
  }
}

/** One K step (only rendered when K may not be a multiple of 4, so no operand is vecK). */
function renderTailStep(w: WgslWriter, p: Plan): void {
  const A = loadA(w, p, 1);
  const B = loadB(w, p, 1);
  for (let i = 0; i < p.tm; i++) {
    for (let j = 0; j < p.tn; j++) w.line(`acc${i}_${j} += ${A(i, 0)} * ${B(0, j)};`);
  }
}

function renderEpilogue(
  w: WgslWriter,
  p: Plan,
  act: Activation,
  actOf: string,
  residual: 'none' | 'buffer' | 'in_place',
): void {
  const d = p.desc;
  w.comment(`Epilogue: ${epilogueText(d)}; stores only inside [M, N].`);
  const applyAct = (v: string, vec: boolean): string | undefined => {
    if (act === 'none') return undefined;
    if (!vec) return `${v} = ${actOf.replace('X', v)};`;
    const lanes = LANES.map((l) => actOf.replace('X', `${v}.${l}`));
    return `${v} = vec4<f32>(${lanes.join(', ')});`;
  };
  for (let i = 0; i < p.tm; i++) {
    w.block(`if (${plus('m0', i)} < M)`, () => {
      w.line(`let cRow = cBatch + ${par(plus('m0', i))} * N;`);
      const groups = p.vecC ? p.tn / 4 : p.tn;
      for (let g = 0; g < groups; g++) {
        const col = p.vecC ? 4 * g : g;
        const n = plus('n0', col);
        w.block(`if (${n} < N)`, () => {
          const idx = p.vecC ? `(cRow + ${n}) / 4u` : `cRow + ${n}`;
          const nIdx = p.vecC ? `${par(n)} / 4u` : n;
          if (p.vecC) {
            const lanes = [0, 1, 2, 3].map((l) => `acc${i}_${col + l}`);
            w.line(`var v = vec4<f32>(${lanes.join(', ')});`);
          } else {
            w.line(`var v = acc${i}_${col};`);
          }
          if (d.bias) w.line(`v += bias[${nIdx}];`);
          const a = applyAct('v', p.vecC);
          if (a) w.line(a);
          if (d.scale) w.line(`v *= scale[${nIdx}];`);
          if (residual === 'buffer') w.line(`v += residual[${idx}];`);
          if (residual === 'in_place') w.line(`v += c[${idx}];`);
          w.line(`c[${idx}] = v;`);
        });
      }
    });
  }
}

function dispatchMatmul(p: Plan, sizes: KernelSizes): Vec3 {
  const M = sizeOf(sizes, 'M', p.name);
  const N = sizeOf(sizes, 'N', p.name);
  const K = sizeOf(sizes, 'K', p.name);
  const batch = sizes.batch === undefined ? 1 : sizeOf(sizes, 'batch', p.name);
  const fail = (msg: string): never => {
    throw new KernelSpecError(`${p.name}: ${msg}`);
  };
  if (M % p.align.m !== 0) fail(`M=${M} is not a multiple of align.m=${p.align.m}`);
  if (N % p.align.n !== 0) fail(`N=${N} is not a multiple of align.n=${p.align.n}`);
  if (K % p.align.k !== 0) fail(`K=${K} is not a multiple of align.k=${p.align.k}`);
  const im = p.desc.im2col;
  if (im) {
    const k = im.channels * im.patchH * im.patchW;
    const patches = (im.height / im.patchH) * (im.width / im.patchW);
    if (K !== k) fail(`im2col needs K = C·ph·pw = ${k}, got ${K}`);
    if (M % patches !== 0) fail(`im2col needs M = images·${patches}, got ${M}`);
    if (batch !== 1) fail('im2col folds images into M; batch must be 1');
  }
  if (M === 0 || N === 0 || batch === 0) return [0, 1, 1];
  const x = ceilDiv(N, p.tn * p.wx);
  const y = ceilDiv(M, p.tm * p.wy);
  if (x > MAX_WORKGROUPS_PER_DIM || y > MAX_WORKGROUPS_PER_DIM || batch > MAX_WORKGROUPS_PER_DIM) {
    fail(`grid ${x}×${y}×${batch} exceeds ${MAX_WORKGROUPS_PER_DIM} workgroups per dimension`);
  }
  return [x, y, batch];
}
