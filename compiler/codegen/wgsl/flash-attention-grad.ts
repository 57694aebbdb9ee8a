/**
 * The backward pass of flash attention (IR op attention_grad), in two kernels that recompute the
 * probabilities from q, k and the per-query logsumexp L the forward kernel wrote, instead of
 * reading a stored N×N matrix (FlashAttention-2's backward; WGSL has no float atomics, so dq and
 * dk/dv are two kernels rather than one sweep with atomic dq updates):
 *
 *   stage 'q'  — one invocation per query i: D = o_i·dO_i, then one sweep over the keys:
 *                dq_i = scale·Σ_j p·(dp − D)·k_j with p = exp(s − L). Writes D and dq.
 *   stage 'kv' — one invocation per key j, one sweep over the queries with L and D:
 *                dv_j = Σ_i p·dO_i,  dk_j = Σ_i p·(dp − D)·(scale·q_i).
 *
 * with s = (scale·q_i)·k_j (q scaled first, the forward kernel's rounding) and dp = dO_i·v_j.
 *
 * Operands are addressed in one of three layouts (N tokens, H heads, hd head dim, D = H·hd):
 *   'qkv':    q, k, v (or dq, dk, dv) in one [B, N, 3, H, hd] buffer (the fused qkv Linear's
 *             output, or its gradient), slots 0, D, 2D;
 *   'heads':  separate [B, H, N, hd] buffers;
 *   'merged': dO or o as [B, N, H·hd] (heads merged, as the forward kernel writes o).
 * Invocations run over [B·N] flattened (no barriers), as the forward's 'direct' kernel.
 */

import {
  BindingSet,
  check,
  ENTRY_POINT,
  f32,
  isPowerOfTwo,
  renderHeader,
  renderUniformStruct,
  sanitizeName,
  u32,
  WgslWriter,
  type KernelSizes,
  type KernelSource,
  type Vec3,
} from './builder.js';
import { attentionGrid, UNIFORMS_FLAT } from './flash-attention.js';

export interface FlashAttentionGradDesc {
  stage: 'q' | 'kv';
  heads: number;
  headDim: number;
  scale: number;
  /** Where q, k, v are read from. */
  input: 'qkv' | 'heads';
  /** Where dO is read from. */
  dout: 'merged' | 'heads';
  /** Where o (the forward output) is read from (stage 'q'); default 'merged'. */
  o?: 'merged' | 'heads';
  /** Where dq (stage 'q') or dk, dv (stage 'kv') are written. */
  output: 'qkv' | 'heads';
  /** Keys (stage 'q') or queries (stage 'kv') per unrolled tile; default 2. */
  tile?: number;
  /** Invocations per workgroup, power of two ≤ 256; default 64. */
  workgroupSize?: number;
}

/** N and batch, as the forward's flattened kernel: invocations run over [B·N]. */
const UNIFORMS = UNIFORMS_FLAT;

export function renderFlashAttentionGrad(desc: FlashAttentionGradDesc): KernelSource {
  const { stage, heads, headDim, scale, input, dout, output } = desc;
  const wg = desc.workgroupSize ?? 64;
  const tile = desc.tile ?? 2;
  const kind = 'flash_attention_grad';
  check(stage === 'q' || stage === 'kv', kind, `unknown stage '${stage}'`);
  check(input === 'qkv' || input === 'heads', kind, `unknown input layout '${input}'`);
  check(dout === 'merged' || dout === 'heads', kind, `unknown dO layout '${dout}'`);
  check(output === 'qkv' || output === 'heads', kind, `unknown output layout '${output}'`);
  check(Number.isInteger(heads) && heads >= 1, kind, `heads must be ≥ 1, got ${heads}`);
  check(Number.isInteger(headDim) && headDim >= 1, kind, `headDim must be ≥ 1, got ${headDim}`);
  check(headDim <= 256, kind, 'headDim must be ≤ 256 (registers are unrolled)');
  check(isPowerOfTwo(wg) && wg <= 256, kind, 'workgroupSize must be a power of two ≤ 256');
  check(Number.isInteger(tile) && tile >= 1 && tile <= 16, kind, 'tile must be 1..16');
  check(Number.isFinite(scale), kind, 'scale must be finite');
  const vec = headDim % 4 === 0;
  const lanes = vec ? headDim / 4 : headDim;
  const T = vec ? 'vec4<f32>' : 'f32';
  const unit = vec ? 4 : 1;
  const D = heads * headDim;
  const oLayout = desc.o ?? 'merged';
  check(oLayout === 'merged' || oLayout === 'heads', kind, `unknown o layout '${oLayout}'`);
  const name = sanitizeName(
    `flash_attention_grad_${stage}_${input}_${dout}${stage === 'q' ? `_o${oLayout}` : ''}_${output}_h${heads}_d${headDim}` +
      `_s${f32(scale).replace('.', 'p').replace('-', 'm')}_t${tile}_wg${wg}`,
  );

  const binds = new BindingSet();
  if (input === 'qkv') binds.storage('qkv', 'read', T);
  else binds.storage('q', 'read', T).storage('k', 'read', T).storage('v', 'read', T);
  binds.storage('dout', 'read', T);
  if (stage === 'q') binds.storage('o', 'read', T);
  binds.storage('lse', 'read', 'f32');
  binds.storage('delta', stage === 'q' ? 'read_write' : 'read', 'f32');
  if (output === 'qkv') binds.storage('dqkv', 'read_write', T);
  else if (stage === 'q') binds.storage('dq', 'read_write', T);
  else binds.storage('dk', 'read_write', T).storage('dv', 'read_write', T);
  binds.uniform('u', 'Uniforms');

  const w = new WgslWriter();
  renderHeader(w, name, [
    stage === 'q'
      ? `Attention backward, queries: D = o·dO and dq, ${heads} heads × ${headDim} dims, scale ${f32(scale)}.`
      : `Attention backward, keys: dk and dv, ${heads} heads × ${headDim} dims, scale ${f32(scale)}.`,
    `q, k, v: ${input === 'qkv' ? '[B, N, 3, H, hd]' : '[B, H, N, hd] each'}; dO: ${dout === 'merged' ? `[B, N, ${D}]` : '[B, H, N, hd]'}; ` +
      `out: ${output === 'qkv' ? '[B, N, 3, H, hd]' : '[B, H, N, hd]'}; lse, delta [B, H, N]. One invocation per ${stage === 'q' ? 'query' : 'key'}, no N×N matrix.`,
  ]);
  renderUniformStruct(w, UNIFORMS);
  binds.render(w);
  w.line();
  w.line(`const H = ${u32(heads)}; // heads`);
  w.line(`const HL = ${u32(lanes)}; // head dim in ${vec ? 'vec4 lanes' : 'f32 elements'}`);
  w.line(`const DL = ${u32(D / unit)}; // a token's row of H·hd`);
  w.line(`const TOKEN = ${u32((3 * D) / unit)}; // a token's row of [3, H, hd]`);
  w.line(`const SCALE = ${f32(scale)};`);
  w.line(`const WG = ${u32(wg)};`);
  w.line();

  // Address (in T units) of token t's head row of each operand (b, h in scope).
  const slot = (layout: 'qkv' | 'heads', s: number, t: string): string =>
    layout === 'qkv'
      ? `(b * N + ${t}) * TOKEN + ${u32((s * D) / unit)} + h * HL`
      : `((b * H + h) * N + ${t}) * HL`;
  const inBuf = (s: number) => (input === 'qkv' ? 'qkv' : ['q', 'k', 'v'][s]);
  const at = (s: number, t: string) => slot(input, s, t);
  const rowAt = (layout: 'merged' | 'heads', t: string) =>
    layout === 'merged' ? `(b * N + ${t}) * DL + h * HL` : `((b * H + h) * N + ${t}) * HL`;
  const doAt = (t: string) => rowAt(dout, t);
  const outBuf = (s: number) => (output === 'qkv' ? 'dqkv' : ['dq', 'dk', 'dv'][s]);
  const outAt = (s: number, t: string) => slot(output, s, t);
  const L = Array.from({ length: lanes }, (_, d) => d);
  const J = Array.from({ length: tile }, (_, j) => j);
  const zero = vec ? 'vec4<f32>(0.0)' : '0.0';
  const dot = (a: (d: number) => string, b: (d: number) => string) =>
    L.map((d) => (vec ? `dot(${a(d)}, ${b(d)})` : `${a(d)} * ${b(d)}`)).join(' + ');
  const sum = (terms: string[]) => terms.join(' + ');

  w.line(`@compute @workgroup_size(${wg}, 1, 1)`);
  w.block(
    `fn ${ENTRY_POINT}(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32)`,
    () => {
      w.line('let N = u.N;');
      w.line('let g = wid.x * WG + lid; // row of [B·N]');
      w.line(
        'let gq = min(g, u.batch * N - 1u); // rows past the end compute on the last, unstored',
      );
      w.line('let b = gq / N;');
      w.line('let own = gq % N;');
      w.line('let h = wid.y;');
      w.line("let row = (b * H + h) * N; // this (image, head)'s first row of lse and delta");
      if (stage === 'q') renderQueries();
      else renderKeys();
    },
  );

  // One invocation per query: registers q (scaled) and dO; one sweep over the keys.
  function renderQueries(): void {
    w.line(`let qb = ${at(0, 'own')};`);
    for (const d of L) w.line(`let q${d} = ${inBuf(0)}[qb + ${u32(d)}] * SCALE;`);
    w.line(`let ob = ${doAt('own')};`);
    for (const d of L) w.line(`let dy${d} = dout[ob + ${u32(d)}];`);
    w.line(`let fb = ${rowAt(oLayout, 'own')};`);
    w.line(
      `let dsum = ${dot(
        (d) => `o[fb + ${u32(d)}]`,
        (d) => `dy${d}`,
      )}; // D = o·dO`,
    );
    w.line('let lse_i = lse[row + own];');
    for (const d of L) w.line(`var acc${d} = ${zero};`);
    w.block(`for (var t0 = 0u; t0 < N; t0 = t0 + ${u32(tile)})`, () => {
      for (const j of J) {
        w.line(`let r${j} = min(t0 + ${u32(j)}, N - 1u);`);
        w.line(`let kb${j} = ${at(1, `r${j}`)};`);
        w.line(`let vb${j} = ${at(2, `r${j}`)};`);
        const s = dot(
          (d) => `q${d}`,
          (d) => `${inBuf(1)}[kb${j} + ${u32(d)}]`,
        );
        // A clamped duplicate key (past N) weighs 0.
        w.line(`let p${j} = select(0.0, exp(${s} - lse_i), t0 + ${u32(j)} < N);`);
        w.line(
          `let dp${j} = ${dot(
            (d) => `dy${d}`,
            (d) => `${inBuf(2)}[vb${j} + ${u32(d)}]`,
          )};`,
        );
        w.line(`let ds${j} = p${j} * (dp${j} - dsum);`);
      }
      for (const d of L)
        w.line(
          `acc${d} = acc${d} + ${sum(J.map((j) => `ds${j} * ${inBuf(1)}[kb${j} + ${u32(d)}]`))};`,
        );
    });
    w.block('if (g < u.batch * N)', () => {
      w.line('delta[row + own] = dsum;');
      w.line(`let qo = ${outAt(0, 'own')};`);
      for (const d of L) w.line(`${outBuf(0)}[qo + ${u32(d)}] = acc${d} * SCALE;`);
    });
  }

  // One invocation per key: registers k, v and the dk, dv sums; one sweep over the queries.
  function renderKeys(): void {
    w.line(`let kb = ${at(1, 'own')};`);
    w.line(`let vb = ${at(2, 'own')};`);
    for (const d of L) w.line(`let k${d} = ${inBuf(1)}[kb + ${u32(d)}];`);
    for (const d of L) w.line(`let v${d} = ${inBuf(2)}[vb + ${u32(d)}];`);
    for (const d of L) w.line(`var dk${d} = ${zero};`);
    for (const d of L) w.line(`var dv${d} = ${zero};`);
    w.block(`for (var i0 = 0u; i0 < N; i0 = i0 + ${u32(tile)})`, () => {
      for (const j of J) {
        w.line(`let i${j} = min(i0 + ${u32(j)}, N - 1u);`);
        w.line(`let qb${j} = ${at(0, `i${j}`)};`);
        w.line(`let ob${j} = ${doAt(`i${j}`)};`);
        for (const d of L) w.line(`let q${j}_${d} = ${inBuf(0)}[qb${j} + ${u32(d)}] * SCALE;`);
        for (const d of L) w.line(`let o${j}_${d} = dout[ob${j} + ${u32(d)}];`);
        w.line(
          `let s${j} = ${dot(
            (d) => `q${j}_${d}`,
            (d) => `k${d}`,
          )};`,
        );
        // A clamped duplicate query (past N) weighs 0.
        w.line(`let p${j} = select(0.0, exp(s${j} - lse[row + i${j}]), i0 + ${u32(j)} < N);`);
        w.line(
          `let dp${j} = ${dot(
            (d) => `o${j}_${d}`,
            (d) => `v${d}`,
          )};`,
        );
        w.line(`let ds${j} = p${j} * (dp${j} - delta[row + i${j}]);`);
      }
      for (const d of L) w.line(`dv${d} = dv${d} + ${sum(J.map((j) => `p${j} * o${j}_${d}`))};`);
      for (const d of L) w.line(`dk${d} = dk${d} + ${sum(J.map((j) => `ds${j} * q${j}_${d}`))};`);
    });
    w.block('if (g < u.batch * N)', () => {
      w.line(`let kout = ${outAt(1, 'own')};`);
      w.line(`let vout = ${outAt(2, 'own')};`);
      for (const d of L) w.line(`${outBuf(1)}[kout + ${u32(d)}] = dk${d};`);
      for (const d of L) w.line(`${outBuf(2)}[vout + ${u32(d)}] = dv${d};`);
    });
  }

  return {
    name,
    wgsl: w.toString(),
    entry: ENTRY_POINT,
    workgroupSize: [wg, 1, 1],
    bindings: binds.decls,
    uniforms: UNIFORMS,
    dispatch: (sizes: KernelSizes): Vec3 => attentionGrid(name, sizes, heads, wg, 'flat'),
  };
}
