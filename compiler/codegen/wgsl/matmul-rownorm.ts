/**
 * The matmul's row-norm epilogue (MatmulDesc.rowNorm): besides C = epilogue(A·B) (typically
 * x + f(x), the residual stream), also write normed = LayerNorm/RMSNorm(C) over each row — the
 * norm that follows a residual add in a transformer block, with no kernel and no re-read of C.
 *
 * A workgroup must own whole rows: WX·TN ≥ N (the tiling is chosen so; `dispatch` checks N).
 * Each invocation keeps its TM×TN block of C in its accumulators; per row, the partial sums of
 * the WX invocations meet in workgroup memory, one invocation per row adds them up, and every
 * invocation reads the row's mean, then (second round) rstd — four barriers per workgroup. The
 * statistics follow norm.ts: mean first, then the mean of (x − mean)², eps inside the root.
 */

import { f32, u32, type WgslWriter } from './builder.js';
import { LANES, par, plus } from './matmul-loads.js';
import type { MatmulRowNorm, Plan } from './matmul-plan.js';

export function renderRowNormDecls(w: WgslWriter, p: Plan): void {
  const n = p.desc.rowNorm;
  if (!n) return;
  w.line(`const LN_EPS = ${f32(n.eps)};`);
  w.line(`const LN_WIDTH = ${u32(n.width)}; // N: one workgroup spans whole rows`);
  w.line('var<workgroup> ln_part: array<f32, TM * WY * WX>;');
  w.line('var<workgroup> ln_mean: array<f32, TM * WY>;');
  w.line('var<workgroup> ln_rstd: array<f32, TM * WY>;');
}

/**
 * Replaces the plain epilogue. Stores stay guarded; everything else runs in uniform control
 * flow (rows past M compute on clamped reads) so the barriers are legal.
 */
export function renderRowNormEpilogue(
  w: WgslWriter,
  p: Plan,
  apply: (v: string, vec: boolean) => string[],
  residual: 'none' | 'buffer' | 'in_place',
): void {
  const n = p.desc.rowNorm as MatmulRowNorm;
  const d = p.desc;
  const ln = n.kind === 'layernorm';
  const groups = p.vecC ? p.tn / 4 : p.tn;
  const colOf = (g: number) => (p.vecC ? 4 * g : g);
  const accs = (i: number, g: number) =>
    p.vecC ? [0, 1, 2, 3].map((l) => `acc${i}_${colOf(g) + l}`) : [`acc${i}_${g}`];
  w.comment('Epilogue: C as usual, kept in the accumulators for the row norm.');
  for (let i = 0; i < p.tm; i++) {
    w.line(`let row${i} = ${plus('m0', i)};`);
    w.line(`let cRow${i} = cBatch + min(row${i}, M - 1u) * N;`);
    for (let g = 0; g < groups; g++) {
      const nExpr = plus('n0', colOf(g));
      w.block(
        '',
        () => {
          w.line(`let n = min(${nExpr}, N - ${p.vecC ? '4u' : '1u'});`);
          const idx = p.vecC ? `(cRow${i} + n) / 4u` : `cRow${i} + n`;
          const nIdx = p.vecC ? 'n / 4u' : 'n';
          const a = accs(i, g);
          w.line(p.vecC ? `var v = vec4<f32>(${a.join(', ')});` : `var v = ${a[0]};`);
          if (d.bias) w.line(`v += bias[${nIdx}];`);
          for (const l of apply('v', p.vecC)) w.line(l);
          if (d.scale) w.line(`v *= scale[${nIdx}];`);
          if (residual === 'buffer') w.line(`v += residual[${idx}];`);
          if (residual === 'in_place') w.line(`v += c[${idx}];`);
          w.line(`if (row${i} < M && ${par(nExpr)} < N) { c[${idx}] = v; }`);
          a.forEach((acc, l) => w.line(`${acc} = ${p.vecC ? `v.${LANES[l]}` : 'v'};`));
        },
        '}',
      );
    }
  }
  const cols = Array.from({ length: p.tn }, (_, j) => j);
  const valid = (j: number) => `${par(plus('n0', j))} < N`;
  const slot = (i: number) => `((lid / WX) * TM + ${u32(i)})`;
  const reduce = (target: string, finish: string) => {
    w.line('workgroupBarrier();');
    // One adder per row (a workgroup may have fewer invocations than rows).
    w.block('for (var r = lid; r < TM * WY; r = r + WX * WY)', () => {
      w.line('var t = 0.0;');
      w.block('for (var x = 0u; x < WX; x = x + 1u)', () => w.line('t += ln_part[r * WX + x];'));
      w.line(`${target}[r] = ${finish};`);
    });
    w.line('workgroupBarrier();');
  };
  if (ln) {
    w.comment('Row means: partial sums per invocation, one adder per row.');
    for (let i = 0; i < p.tm; i++) {
      const terms = cols.map((j) => `select(0.0, acc${i}_${j}, ${valid(j)})`);
      w.line(`ln_part[${slot(i)} * WX + lid % WX] = ${terms.join(' + ')};`);
    }
    reduce('ln_mean', 't / f32(N)');
    for (let i = 0; i < p.tm; i++) w.line(`let mean${i} = ln_mean[${slot(i)}];`);
  }
  w.comment(ln ? 'Centred variance, then rstd.' : 'Mean square, then rstd.');
  for (let i = 0; i < p.tm; i++) {
    const terms = cols.map((j) => {
      const x = ln ? `(acc${i}_${j} - mean${i})` : `acc${i}_${j}`;
      return `select(0.0, ${x} * ${x}, ${valid(j)})`;
    });
    w.line(`ln_part[${slot(i)} * WX + lid % WX] = ${terms.join(' + ')};`);
  }
  reduce('ln_rstd', 'inverseSqrt(t / f32(N) + LN_EPS)');
  w.comment('The normalised rows.');
  for (let i = 0; i < p.tm; i++) {
    w.line(`let rstd${i} = ln_rstd[${slot(i)}];`);
    for (let g = 0; g < groups; g++) {
      const nExpr = plus('n0', colOf(g));
      w.block(`if (row${i} < M && ${par(nExpr)} < N)`, () => {
        const idx = p.vecC ? `(cRow${i} + ${nExpr}) / 4u` : `cRow${i} + ${nExpr}`;
        const nIdx = p.vecC ? `${par(nExpr)} / 4u` : nExpr;
        const a = accs(i, g);
        const x = p.vecC ? `vec4<f32>(${a.join(', ')})` : a[0];
        let e = ln
          ? `(${x} - ${p.vecC ? `vec4<f32>(mean${i})` : `mean${i}`}) * rstd${i}`
          : `${x} * rstd${i}`;
        if (n.weight) e += ` * ln_weight[${nIdx}]`;
        if (n.bias) e += ` + ln_bias[${nIdx}]`;
        w.line(`normed[${idx}] = ${e};`);
      });
    }
  }
}
