/**
 * The matmul's normalisation prologue (MatmulDesc.norm): LayerNorm / RMSNorm of A's rows folded
 * into the A loads, so a `norm → linear` pair is one dispatch and the normalised activations
 * never reach memory. The statistics follow the norm kernel (norm.ts) exactly: mean first, then
 * the mean of (x − mean)², r = inverseSqrt(var + eps); the load then yields (x − mean)·r·w + b.
 *
 * 'workgroup' statistics: the workgroup's TM·WY rows are split into slots (row, part of K); each
 * invocation sums its slots, partial sums meet in workgroup memory (one barrier per pass), and
 * each invocation combines the parts of its own rows. Every row is read twice per workgroup.
 * 'invocation' statistics: each invocation reads its own TM rows twice, no barriers; the WX
 * invocations sharing a row repeat the work.
 */

import { f32, u32, type WgslWriter } from './builder.js';
import type { MatmulNorm, Plan } from './matmul-plan.js';

/** Start of (clamped) row `row` of A, in units of A's array element. */
export function aRowStart(p: Plan, row: string): string {
  const v = p.desc.aView;
  const vec = p.modeA === 'vecK';
  const flat = p.sharedA ? row : `wid.z * M + ${row}`;
  const start = v ? `A_OFF + (${flat}) * A_STRIDE` : `aBatch + ${row} * K`;
  return vec ? `(${start}) / 4u` : start;
}

function stats(p: Plan): { norm: MatmulNorm; rows: number; slots: number; parts: number } {
  const norm = p.desc.norm!;
  const rows = p.tm * p.wy;
  const parts = Math.max(1, Math.floor((p.wx * p.wy) / rows));
  return { norm, rows, slots: rows * parts, parts };
}

/** Module-scope constants and workgroup arrays of the prologue. */
export function renderNormDecls(w: WgslWriter, p: Plan): void {
  const v = p.desc.aView;
  if (v) {
    w.line(`const A_OFF = ${u32(v.offset)}; // A view: first row`);
    w.line(`const A_STRIDE = ${u32(v.rowStride)}; // A view: elements between rows`);
  }
  const n = p.desc.norm;
  if (!n) return;
  w.line(`const NORM_EPS = ${f32(n.eps)};`);
  if ((n.stats ?? 'workgroup') === 'workgroup') {
    const s = stats(p);
    w.line(`const NORM_PARTS = ${u32(s.parts)}; // invocations sharing one row's statistics`);
    w.line(`const NORM_SLOTS = ${u32(s.slots)}; // rows per workgroup × parts`);
    w.line(`const NORM_SLOTS_PER_INV = ${u32(Math.ceil(s.slots / (p.wx * p.wy)))};`);
    w.line('var<workgroup> norm_part: array<f32, NORM_SLOTS>;');
  }
}

/**
 * Emits `mean{i}` (layernorm) and `rstd{i}` for the invocation's TM rows. Must run in uniform
 * control flow (before any early return) when the statistics use workgroup memory.
 */
export function renderNormStats(w: WgslWriter, p: Plan): void {
  const n = p.desc.norm!;
  const ln = n.kind === 'layernorm';
  const vec = p.modeA === 'vecK';
  const sum = (e: string): string => (vec ? `dot(${e}, vec4<f32>(1.0))` : e);
  const lenL = vec ? 'K / 4u' : 'K';
  w.comment(`Prologue: ${n.kind} statistics of A's rows (${n.stats ?? 'workgroup'}).`);
  w.line('let inv_k = 1.0 / f32(K);');
  if ((n.stats ?? 'workgroup') === 'invocation') {
    for (let i = 0; i < p.tm; i++) {
      w.line(
        `let nrow${i} = ${aRowStart(p, `min(${i === 0 ? 'm0' : `m0 + ${u32(i)}`}, M - 1u)`)};`,
      );
      if (ln) {
        w.line(`var s${i} = 0.0;`);
        w.block(`for (var k = 0u; k < ${lenL}; k = k + 1u)`, () =>
          w.line(`s${i} += ${sum(`a[nrow${i} + k]`)};`),
        );
        w.line(`let mean${i} = s${i} * inv_k;`);
      }
      w.line(`var q${i} = 0.0;`);
      w.block(`for (var k = 0u; k < ${lenL}; k = k + 1u)`, () => {
        w.line(`let d = a[nrow${i} + k]${ln ? ` - mean${i}` : ''};`);
        w.line(`q${i} += ${sum('d * d')};`);
      });
      w.line(`let rstd${i} = inverseSqrt(q${i} * inv_k + NORM_EPS);`);
    }
    return;
  }
  const local = (i: number) => `(lid / WX) * TM${i ? ` + ${u32(i)}` : ''}`;
  const slotLoop = (body: () => void) => {
    w.block('for (var sl = lid; sl < NORM_SLOTS; sl = sl + WX * WY)', () => {
      w.line(`let nrow = ${aRowStart(p, 'min(wid.y * WY * TM + sl / NORM_PARTS, M - 1u)')};`);
      w.line('let k0 = (sl % NORM_PARTS) * chunk;');
      w.line(`let k1 = min(k0 + chunk, ${lenL});`);
      body();
    });
    w.line('workgroupBarrier();');
  };
  const combine = (i: number, what: string) => {
    w.line(`var ${what}${i} = 0.0;`);
    w.block('for (var pp = 0u; pp < NORM_PARTS; pp = pp + 1u)', () =>
      w.line(`${what}${i} += norm_part[(${local(i)}) * NORM_PARTS + pp];`),
    );
  };
  w.line(`let chunk = (${lenL} + NORM_PARTS - 1u) / NORM_PARTS;`);
  if (ln) {
    slotLoop(() => {
      w.line('var s = 0.0;');
      w.block('for (var k = k0; k < k1; k = k + 1u)', () => w.line(`s += ${sum('a[nrow + k]')};`));
      w.line('norm_part[sl] = s;');
    });
    for (let i = 0; i < p.tm; i++) {
      combine(i, 'sum');
      w.line(`let mean${i} = sum${i} * inv_k;`);
    }
    // The slots' own rows' means, read before the array is reused for the squares.
    w.line('var slot_mean: array<f32, NORM_SLOTS_PER_INV>;');
    w.block('for (var sl = lid; sl < NORM_SLOTS; sl = sl + WX * WY)', () => {
      w.line('var t = 0.0;');
      w.line('let first = (sl / NORM_PARTS) * NORM_PARTS;');
      w.block('for (var pp = 0u; pp < NORM_PARTS; pp = pp + 1u)', () =>
        w.line('t += norm_part[first + pp];'),
      );
      w.line('slot_mean[sl / (WX * WY)] = t * inv_k;');
    });
    w.line('workgroupBarrier();');
  }
  slotLoop(() => {
    if (ln) w.line('let mu = slot_mean[sl / (WX * WY)];');
    w.line('var q = 0.0;');
    w.block('for (var k = k0; k < k1; k = k + 1u)', () => {
      w.line(`let d = a[nrow + k]${ln ? ' - mu' : ''};`);
      w.line(`q += ${sum('d * d')};`);
    });
    w.line('norm_part[sl] = q;');
  });
  for (let i = 0; i < p.tm; i++) {
    combine(i, 'sq');
    w.line(`let rstd${i} = inverseSqrt(sq${i} * inv_k + NORM_EPS);`);
  }
}

/**
 * Per-K-step terms of the normalisation, hoisted out of the rows: row i's normalised value is
 * (x − mean{i})·rw{i} + bias with rw = rstd·weight. Centring first keeps the rounding of the norm
 * kernel (no cancellation when |mean| ≫ std, unlike x·rw − mean·rw).
 */
export function renderNormTerms(w: WgslWriter, p: Plan, kIdx: string, suffix: string): void {
  const n = p.desc.norm!;
  const vec = p.modeA === 'vecK';
  if (n.weight) w.line(`let nw${suffix} = norm_weight[${kIdx}];`);
  if (n.bias) w.line(`let nb${suffix} = norm_bias[${kIdx}];`);
  if (!n.weight) return;
  for (let i = 0; i < p.tm; i++)
    w.line(`let rw${i}${suffix} = ${vec ? `vec4<f32>(rstd${i})` : `rstd${i}`} * nw${suffix};`);
}

/** The normalised value of A element `x` in row `i` (terms from renderNormTerms). */
export function normalized(p: Plan, x: string, i: number, suffix: string): string {
  const n = p.desc.norm!;
  const vec = p.modeA === 'vecK';
  const centred = n.kind === 'layernorm' ? `${x} - ${vec ? `vec4<f32>(mean${i})` : `mean${i}`}` : x;
  const r = n.weight ? `rw${i}${suffix}` : `rstd${i}`;
  return n.bias ? `fma(${centred}, ${r}, nb${suffix})` : `(${centred}) * ${r}`;
}
