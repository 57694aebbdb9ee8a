/**
 * Matmul operand access: per-row/column base offsets (hoisted out of the K loop and clamped into
 * range), the im2col address arithmetic, and the loads of one K block of A and B as vec4 or
 * scalars, returning accessors for element (row, k) / (k, col) that the FMA lines use.
 */

import { u32, type WgslWriter } from './builder.js';
import { aRowStart, normalized, renderNormTerms } from './matmul-norm.js';
import { renderSubgroupLoads } from './matmul-subgroup.js';
import { K_STEP, type FragmentMode, type Im2colLayout, type Plan } from './matmul-plan.js';

export const LANES = ['x', 'y', 'z', 'w'];

/** Parenthesises a compound WGSL expression (identifiers stay bare). */
export function par(e: string): string {
  return /^\w+$/.test(e) ? e : `(${e})`;
}

/** `base + i` as WGSL u32 arithmetic, or just `base` when i is 0. */
export function plus(base: string, i: number): string {
  return i === 0 ? base : `${base} + ${u32(i)}`;
}

export function accDecl(i: number, j0: number, j1: number): string {
  const names: string[] = [];
  for (let j = j0; j < j1; j++) names.push(`var acc${i}_${j} = 0.0;`);
  return names.join(' ');
}

export function renderIm2colConstants(w: WgslWriter, im: Im2colLayout): void {
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
export function renderOperandBases(w: WgslWriter, p: Plan): void {
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
      const start = aRowStart(p, row);
      w.line(`let aRow${i} = ${p.modeA === 'vecK' ? start : `(${start})`};`);
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
export function loadA(w: WgslWriter, p: Plan, steps: number): (i: number, kk: number) => string {
  const im = p.desc.im2col;
  const kOf = (kk: number): string => plus('k', kk);
  if (p.modeA === 'vecK') {
    if (im) w.line(`let colA = ${im2colOffset('k')};`);
    if (p.desc.norm) renderNormTerms(w, p, 'k / 4u', '');
    if (p.subgroup) renderSubgroupLoads(w, p);
    for (let i = 0; i < p.tm; i++) {
      const x = p.subgroup ? `ar${i}` : `a[${im ? `(aRow${i} + colA) / 4u` : `aRow${i} + k / 4u`}]`;
      w.line(`let a${i} = ${p.desc.norm ? normalized(p, x, i, '') : x};`);
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
  if (p.desc.norm) for (let kk = 0; kk < steps; kk++) renderNormTerms(w, p, kOf(kk), `_${kk}`);
  for (let i = 0; i < p.tm; i++) {
    for (let kk = 0; kk < steps; kk++) {
      let addr: string;
      if (im) addr = `aRow${i} + colA${kk}`;
      else if (p.transA) addr = `aCol${i} + ${par(kOf(kk))} * M`;
      else addr = `aRow${i} + ${kOf(kk)}`;
      const x = `a[${addr}]`;
      w.line(`let a${i}_${kk} = ${p.desc.norm ? normalized(p, x, i, `_${kk}`) : x};`);
    }
  }
  return (i, kk) => `a${i}_${kk}`;
}

export function loadB(w: WgslWriter, p: Plan, steps: number): (kk: number, j: number) => string {
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

export function renderBlockStep(w: WgslWriter, p: Plan): void {
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
export function renderTailStep(w: WgslWriter, p: Plan): void {
  const A = loadA(w, p, 1);
  const B = loadB(w, p, 1);
  for (let i = 0; i < p.tm; i++) {
    for (let j = 0; j < p.tn; j++) w.line(`acc${i}_${j} += ${A(i, 0)} * ${B(0, j)};`);
  }
}
