/**
 * Flash-style multi-head self-attention: one pass over the keys with an online softmax, so no
 * N×N matrix ever reaches device memory and every key and value is read once per query tile
 * (the exact kernel in attention.ts reads every key twice and recomputes the scores).
 *
 *   out[b, i, h·hd + d] = Σ_j softmax_j(scale · q[b,i,h]·k[b,j,h]) · v[b, j, h, d]
 *
 * Layouts (N tokens, H heads, hd = head dim, D = H·hd), as in attention.ts:
 *   'qkv':   one buffer [B, N, 3, H, hd] (timm's fused qkv Linear output): q at 0, k at D, v at 2D.
 *   'heads': three buffers q, k, v, each [B, H, N, hd] (what the lowering's transpose produces,
 *            e.g. after a per-head qk-norm, or a training graph's materialised q, k, v).
 * Output [B, N, D], heads merged.
 *
 * Schedule (after ONNX Runtime's WebGPU flash attention): a workgroup owns `workgroupSize`
 * consecutive queries of one (head, image), one query per invocation, q pre-scaled in registers
 * (q·scale, the rounding the unfused graph has). Keys are walked in tiles of `tileK`:
 *   kv 'workgroup': the workgroup loads the tile's K and V rows into workgroup memory together
 *                   (two barriers per tile), then every invocation reads them from there;
 *   kv 'direct':    every invocation reads the tile's K and V rows from the buffer itself (no
 *                   workgroup memory, no barriers: on SwiftShader a barrier switches every
 *                   4-wide invocation group of the workgroup, so this can win on CPUs). With
 *                   no barriers a workgroup's queries run over [B·N] flattened, across images,
 *                   so short sequences (17 tokens) do not leave most invocations idle.
 * Per tile: the tile's scores, their maximum m', the correction c = exp(m − m'), then
 * l = l·c + Σ exp(s − m') and acc = acc·c + Σ exp(s − m')·v. One division at the end. Keys past
 * N (the last tile) score −3e38, so their weight is exactly 0.
 */

import {
  BindingSet,
  ceilDiv,
  check,
  ENTRY_POINT,
  f32,
  isPowerOfTwo,
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

export interface FlashAttentionDesc {
  layout: 'qkv' | 'heads';
  heads: number;
  headDim: number;
  /** Multiplies q·k; default headDim^-0.5. */
  scale?: number;
  /** Keys per tile (1..32), unrolled; default 8. */
  tileK?: number;
  /** Where a tile of K and V is read from; default 'direct'. */
  kv?: 'workgroup' | 'direct';
  /** Queries (invocations) per workgroup, power of two ≤ 256; default 64. */
  workgroupSize?: number;
  /**
   * Also write the probabilities [B, H, N, N] (attention maps, or what a backward pass reads):
   * a second sweep recomputes each score and stores exp(s − m)/l with the final m and l.
   */
  probs?: boolean;
  /**
   * Also write each query's logsumexp m + log l [B, H, N]: what the backward kernels
   * (flash-attention-grad.ts) recompute the probabilities from.
   */
  lse?: boolean;
  name?: string;
}

/** kv 'direct' has no barriers, so a workgroup's queries may span images: [B·N] flattened. */
export const UNIFORMS_FLAT: readonly UniformField[] = [
  { name: 'N', type: 'u32' },
  { name: 'batch', type: 'u32' },
];
/** Dawn's default maxComputeWorkgroupStorageSize. */
const WORKGROUP_BYTES = 16384;

export function renderFlashAttention(desc: FlashAttentionDesc): KernelSource {
  const { heads, headDim, layout } = desc;
  const wg = desc.workgroupSize ?? 64;
  const tileK = desc.tileK ?? 8;
  const kv = desc.kv ?? 'direct';
  const scale = desc.scale ?? 1 / Math.sqrt(headDim);
  const kind = 'flash_attention';
  check(layout === 'qkv' || layout === 'heads', kind, `unknown layout '${layout}'`);
  check(Number.isInteger(heads) && heads >= 1, kind, `heads must be ≥ 1, got ${heads}`);
  check(Number.isInteger(headDim) && headDim >= 1, kind, `headDim must be ≥ 1, got ${headDim}`);
  check(isPowerOfTwo(wg) && wg <= 256, kind, 'workgroupSize must be a power of two ≤ 256');
  check(Number.isInteger(tileK) && tileK >= 1 && tileK <= 32, kind, 'tileK must be 1..32');
  check(headDim <= 256, kind, 'headDim must be ≤ 256 (registers are unrolled)');
  check(kv === 'workgroup' || kv === 'direct', kind, `unknown kv '${kv}'`);
  check(
    kv === 'direct' || 2 * tileK * headDim * 4 <= WORKGROUP_BYTES,
    kind,
    `K and V tiles of ${tileK}×${headDim} exceed ${WORKGROUP_BYTES} bytes of workgroup memory`,
  );
  const vec = headDim % 4 === 0;
  const lanes = vec ? headDim / 4 : headDim;
  const T = vec ? 'vec4<f32>' : 'f32';
  const unit = vec ? 4 : 1;
  const D = heads * headDim;
  const name = sanitizeName(
    desc.name ??
      `flash_attention_${layout}_h${heads}_d${headDim}_k${tileK}_${kv === 'workgroup' ? 'wgmem' : 'direct'}${desc.probs ? '_probs' : ''}${desc.lse ? '_lse' : ''}` +
        `${desc.scale !== undefined ? `_s${f32(scale).replace('.', 'p').replace('-', 'm')}` : ''}_wg${wg}`,
  );

  const binds = new BindingSet();
  if (layout === 'qkv') binds.storage('qkv', 'read', T);
  else binds.storage('q', 'read', T).storage('k', 'read', T).storage('v', 'read', T);
  binds.storage('out', 'read_write', T);
  if (desc.probs) binds.storage('probs', 'read_write', 'f32');
  if (desc.lse) binds.storage('lse', 'read_write', 'f32');
  binds.uniform('u', 'Uniforms');
  const [qBuf, kBuf, vBuf] = layout === 'qkv' ? ['qkv', 'qkv', 'qkv'] : ['q', 'k', 'v'];

  const w = new WgslWriter();
  renderHeader(w, name, [
    `Flash attention (online softmax), ${heads} heads × ${headDim} dims, scale ${f32(scale)}; ` +
      (layout === 'qkv' ? 'input qkv [B, N, 3, H, hd].' : 'inputs q, k, v [B, H, N, hd].'),
    `Output [B, N, ${D}] (heads merged)${desc.probs ? '; probabilities [B, H, N, N] (second sweep)' : ''}${desc.lse ? '; logsumexp [B, H, N]' : ''}. ` +
      `One invocation per query; keys in tiles of ${tileK}` +
      (kv === 'workgroup' ? ' staged in workgroup memory.' : ' read directly (no barriers).'),
  ]);
  // 'direct' invocations never wait for each other, so one workgroup may hold queries of several
  // images: with few tokens (17 for a 28×28 image in 7×7 patches) a per-image workgroup of 64 would
  // spend most invocations on clamped, discarded rows.
  const flat = kv === 'direct';
  // Both schedules carry `batch` (the workgroup one reads it from the grid), so they are drop-in
  // alternatives of each other for autotune.
  renderUniformStruct(w, UNIFORMS_FLAT);
  binds.render(w);
  w.line();
  w.line(`const H = ${u32(heads)}; // heads`);
  w.line(`const HL = ${u32(lanes)}; // head dim in ${vec ? 'vec4 lanes' : 'f32 elements'}`);
  w.line(`const DL = ${u32(D / unit)}; // output token row, in ${vec ? 'vec4' : 'f32'}`);
  if (layout === 'qkv') {
    w.line(`const TOKEN = ${u32((3 * D) / unit)}; // stride between tokens of qkv`);
    w.line(`const K_OFF = ${u32(D / unit)}; // k follows q within a token row`);
    w.line(`const V_OFF = ${u32((2 * D) / unit)}; // v follows k`);
  }
  w.line(`const SCALE = ${f32(scale)};`);
  w.line(`const WG = ${u32(wg)};`);
  w.line(`const TK = ${u32(tileK)}; // keys per tile`);
  w.line('const NEG_LARGE = -3.0e38; // below any finite score; avoids -inf arithmetic');
  if (kv === 'workgroup') {
    w.line(`var<workgroup> kt: array<${T}, ${tileK * lanes}>;`);
    w.line(`var<workgroup> vt: array<${T}, ${tileK * lanes}>;`);
  }
  w.line();
  // Address (in T units) of token t's head-h row, given the per-(b, h) base.
  const row = (t: string): string =>
    layout === 'qkv' ? `(rows + ${t}) * TOKEN` : `(rows + ${t}) * HL`;
  const kOff = layout === 'qkv' ? ' + K_OFF' : '';
  const vOff = layout === 'qkv' ? ' + V_OFF' : '';
  const dot = vec
    ? (a: string, b: string) => `dot(${a}, ${b})`
    : (a: string, b: string) => `${a} * ${b}`;
  // Everything per query lives in named registers (q0…, acc0…, s0…), fully unrolled over the
  // head dim and the tile: SwiftShader keeps a private array that is indexed in a loop in memory
  // and gathers every access, which made a loop version several times slower.
  const L = Array.from({ length: lanes }, (_, d) => d);
  const J = Array.from({ length: tileK }, (_, j) => j);
  const zero = vec ? 'vec4<f32>(0.0)' : '0.0';
  const kArr = kv === 'workgroup' ? 'kt' : kBuf;
  const vArr = kv === 'workgroup' ? 'vt' : vBuf;
  const sum = (terms: string[]) => terms.join(' + ');
  w.line(`@compute @workgroup_size(${wg}, 1, 1)`);
  w.block(
    `fn ${ENTRY_POINT}(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32)`,
    () => {
      w.line('let N = u.N;');
      if (flat) {
        w.line('let g = wid.x * WG + lid; // query row of [B·N]');
        w.line('let gq = min(g, u.batch * N - 1u);');
        w.line('let b = gq / N;');
        w.line('let i = select(N, gq % N, g < u.batch * N); // N (skipped) past the last row');
        w.line('let h = wid.y;');
      } else {
        w.line('let i = wid.x * WG + lid; // query token');
        w.line('let h = wid.y;');
        w.line('let b = wid.z;');
      }
      if (layout === 'qkv') {
        w.comment('Token t of image b, head h starts at (b·N + t)·TOKEN + h·HL.');
        w.line('let rows = b * N;');
        w.line('let head = h * HL;');
      } else {
        w.comment('Token t of (b, h) starts at ((b·H + h)·N + t)·HL.');
        w.line('let rows = (b * H + h) * N;');
        w.line('let head = 0u;');
      }
      w.comment(
        'Out-of-range queries compute on a clamped row and skip the store (barriers need every invocation).',
      );
      w.line('let iq = min(i, N - 1u);');
      w.line(`let qBase = ${row('iq')} + head;`);
      for (const d of L) w.line(`let q${d} = ${qBuf}[qBase + ${u32(d)}] * SCALE;`);
      for (const d of L) w.line(`var acc${d} = ${zero};`);
      w.line('var m = NEG_LARGE;');
      w.line('var l = 0.0;');
      // One tile's K (and V) rows: staged in workgroup memory, or addressed in the buffer.
      const tileRows = (withV: boolean) => {
        if (kv === 'workgroup') {
          w.line('workgroupBarrier(); // the previous tile is no longer read');
          w.block('for (var e = lid; e < TK * HL; e = e + WG)', () => {
            w.line('let j = min(t0 + e / HL, N - 1u);');
            w.line('let d = e % HL;');
            w.line(`kt[e] = ${kBuf}[${row('j')} + head${kOff} + d];`);
            if (withV) w.line(`vt[e] = ${vBuf}[${row('j')} + head${vOff} + d];`);
          });
          w.line('workgroupBarrier();');
          for (const j of J) {
            w.line(`let kb${j} = ${u32(j * lanes)};`);
            if (withV) w.line(`let vb${j} = ${u32(j * lanes)};`);
          }
        } else {
          for (const j of J) {
            w.line(`let r${j} = ${row(`min(t0 + ${u32(j)}, N - 1u)`)} + head;`);
            w.line(`let kb${j} = r${j}${kOff};`);
            if (withV) w.line(`let vb${j} = r${j}${vOff};`);
          }
        }
        for (const j of J) {
          const dots = L.map((d) => dot(`q${d}`, `${kArr}[kb${j} + ${u32(d)}]`));
          w.line(`let s${j} = select(NEG_LARGE, ${sum(dots)}, t0 + ${u32(j)} < N);`);
        }
      };
      w.block('for (var t0 = 0u; t0 < N; t0 = t0 + TK)', () => {
        tileRows(true);
        const maxOf = J.slice(1).reduce((acc, j) => `max(${acc}, s${j})`, 's0');
        w.line(`let mNew = max(m, ${maxOf});`);
        w.line('let c = exp(m - mNew); // 0 on the first tile (m = NEG_LARGE)');
        for (const j of J) w.line(`let p${j} = exp(s${j} - mNew);`);
        w.line(`l = l * c + ${sum(J.map((j) => `p${j}`))};`);
        for (const d of L) {
          w.line(
            `acc${d} = acc${d} * c + ${sum(J.map((j) => `p${j} * ${vArr}[vb${j} + ${u32(d)}]`))};`,
          );
        }
        w.line('m = mNew;');
      });
      w.line('let inv_l = 1.0 / l;');
      w.block('if (i < N)', () => {
        w.line('let oBase = (b * N + i) * DL + h * HL;');
        for (const d of L) w.line(`out[oBase + ${u32(d)}] = acc${d} * inv_l;`);
        if (desc.lse) w.line('lse[(b * H + h) * N + i] = m + log(l);');
      });
      if (desc.probs) {
        w.comment('Second sweep: the normalised probabilities, row (b, h, i) of [B, H, N, N].');
        w.line('let pBase = ((b * H + h) * N + iq) * N;');
        w.block('for (var t0 = 0u; t0 < N; t0 = t0 + TK)', () => {
          tileRows(false);
          w.block('if (i < N)', () => {
            for (const j of J) {
              w.block(`if (t0 + ${u32(j)} < N)`, () =>
                w.line(`probs[pBase + t0 + ${u32(j)}] = exp(s${j} - m) * inv_l;`),
              );
            }
          });
        });
      }
    },
  );

  return {
    name,
    wgsl: w.toString(),
    entry: ENTRY_POINT,
    workgroupSize: [wg, 1, 1],
    bindings: binds.decls,
    uniforms: UNIFORMS_FLAT,
    dispatch: (sizes: KernelSizes): Vec3 =>
      attentionGrid(name, sizes, heads, wg, flat ? 'flat' : 'perImage'),
  };
}

/**
 * The grid of an attention kernel with one invocation per query row and head, for sizes N and
 * batch: 'flat' rows of [B·N] in workgroups of `wg` → [rows/wg, H, 1]; 'perImage' → [N/wg, H, B].
 */
export function attentionGrid(
  name: string,
  sizes: KernelSizes,
  heads: number,
  wg: number,
  rows: 'flat' | 'perImage',
): Vec3 {
  const N = sizeOf(sizes, 'N', name);
  const batch = sizeOf(sizes, 'batch', name);
  if (N === 0 || batch === 0) return [0, 1, 1];
  const x = ceilDiv(rows === 'flat' ? batch * N : N, wg);
  const z = rows === 'flat' ? 1 : batch;
  if (x > MAX_WORKGROUPS_PER_DIM || z > MAX_WORKGROUPS_PER_DIM)
    throw new KernelSpecError(`${name}: grid ${x}×${heads}×${z} is too large`);
  return [x, heads, z];
}
