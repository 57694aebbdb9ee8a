/**
 * Multi-head self-attention renderer, the clear and exact version (a flash kernel comes later):
 *
 *   out[b, i, h·hd + d] = Σ_j softmax_j(scale · q[b,i,h]·k[b,j,h]) · v[b, j, h, d]
 *
 * Input layouts (N tokens, H heads, hd = head dim, D = H·hd):
 *   'qkv':      one buffer [B, N, 3, H, hd], the output of x·Wqkvᵀ (timm's fused qkv Linear):
 *               within each token's 3D row, q at offset 0, k at D, v at 2D, heads contiguous.
 *   'separate': three buffers q, k, v, each [B, N, H, hd].
 *   'heads':    three buffers q, k, v, each [B, H, N, hd]: the lowering's own layout after its
 *               transpose (e.g. after a per-head qk-norm, or a training graph's materialised q, k, v).
 * Output: [B, N, D] with heads merged, ready for the output projection matmul.
 * Optional probabilities [B, H, N, N] (attention maps), written normalised.
 *
 * One invocation per (query i, head h, image b): it keeps q in registers, finds the row maximum
 * of the scores in a first pass over the keys, then accumulates Σ exp(s − max)·v and Σ exp(s − max)
 * in a second pass (the max subtraction makes exp overflow-free), and divides once at the end.
 * Scores are recomputed rather than stored, so nothing scales with N² except the optional maps.
 * The scale defaults to hd^-0.5. No workgroup memory, no barriers.
 */

import { attentionGrid } from './flash-attention.js';
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
  type UniformField,
  type Vec3,
} from './builder.js';

export interface AttentionDesc {
  layout: 'qkv' | 'separate' | 'heads';
  heads: number;
  headDim: number;
  /** Multiplies q·k; default headDim^-0.5. */
  scale?: number;
  /** Also write the softmax probabilities [B, H, N, N] to `probs`. */
  probs?: boolean;
  /** Invocations (queries) per workgroup, power of two ≤ 256; default 64. */
  workgroupSize?: number;
  name?: string;
}

const UNIFORMS: readonly UniformField[] = [{ name: 'N', type: 'u32' }];

export function renderAttention(desc: AttentionDesc): KernelSource {
  const { heads, headDim, layout } = desc;
  const wg = desc.workgroupSize ?? 64;
  const scale = desc.scale ?? 1 / Math.sqrt(headDim);
  check(
    layout === 'qkv' || layout === 'separate' || layout === 'heads',
    'attention',
    `unknown layout '${layout}'`,
  );
  check(Number.isInteger(heads) && heads >= 1, 'attention', `heads must be ≥ 1, got ${heads}`);
  check(
    Number.isInteger(headDim) && headDim >= 1,
    'attention',
    `headDim must be ≥ 1, got ${headDim}`,
  );
  check(isPowerOfTwo(wg) && wg <= 256, 'attention', `workgroupSize must be a power of two ≤ 256`);
  const vec = headDim % 4 === 0;
  const lanes = vec ? headDim / 4 : headDim;
  const T = vec ? 'vec4<f32>' : 'f32';
  const name = sanitizeName(
    desc.name ??
      `attention_${layout}_h${heads}_d${headDim}${desc.probs ? '_probs' : ''}${
        desc.scale !== undefined ? `_s${f32(scale).replace('.', 'p').replace('-', 'm')}` : ''
      }_wg${wg}`,
  );

  const binds = new BindingSet();
  if (layout === 'qkv') binds.storage('qkv', 'read', T);
  else binds.storage('q', 'read', T).storage('k', 'read', T).storage('v', 'read', T);
  binds.storage('out', 'read_write', T);
  if (desc.probs) binds.storage('probs', 'read_write', 'f32');
  binds.uniform('u', 'Uniforms');

  // Offsets in units of T (vec4 or f32). Token rows hold 3·D values (qkv) or D values (separate).
  const D = heads * headDim;
  const unit = vec ? 4 : 1;
  const qBuf = layout === 'qkv' ? 'qkv' : 'q';
  const kBuf = layout === 'qkv' ? 'qkv' : 'k';
  const vBuf = layout === 'qkv' ? 'qkv' : 'v';
  const tokenStride = layout === 'qkv' ? (3 * D) / unit : layout === 'heads' ? lanes : D / unit;

  const w = new WgslWriter();
  renderHeader(w, name, [
    `Softmax attention, ${heads} heads × ${headDim} dims, scale ${f32(scale)}; input layout '${layout}'` +
      (layout === 'qkv'
        ? ' [B, N, 3, H, hd].'
        : layout === 'heads'
          ? ' q, k, v [B, H, N, hd].'
          : ' q, k, v [B, N, H, hd].'),
    `Output [B, N, ${D}] (heads merged)${desc.probs ? '; probabilities [B, H, N, N]' : ''}.`,
    'One invocation per (query, head, image); two passes over the keys (max, then exp-sum and P·V).',
  ]);
  renderUniformStruct(w, UNIFORMS);
  binds.render(w);
  w.line();
  w.line(`const H = ${u32(heads)}; // heads`);
  w.line(`const HL = ${u32(lanes)}; // head dim in ${vec ? 'vec4 lanes' : 'f32 elements'}`);
  w.line(`const TOKEN = ${u32(tokenStride)}; // stride between tokens, in ${vec ? 'vec4' : 'f32'}`);
  if (layout === 'qkv') {
    w.line(`const K_OFF = ${u32(D / unit)}; // k follows q within a token row`);
    w.line(`const V_OFF = ${u32((2 * D) / unit)}; // v follows k`);
  }
  w.line(`const SCALE = ${f32(scale)};`);
  w.line(`const WG = ${u32(wg)};`);
  w.line('const NEG_LARGE = -3.0e38; // below any finite score; avoids -inf arithmetic');
  w.line();
  const kOff = layout === 'qkv' ? ' + K_OFF' : '';
  const vOff = layout === 'qkv' ? ' + V_OFF' : '';
  const dot = vec
    ? (a: string, b: string) => `dot(${a}, ${b})`
    : (a: string, b: string) => `${a} * ${b}`;
  w.line(`@compute @workgroup_size(${wg}, 1, 1)`);
  w.block(
    `fn ${ENTRY_POINT}(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32)`,
    () => {
      w.line('let N = u.N;');
      w.line('let i = wid.x * WG + lid; // query token');
      w.line('let h = wid.y;');
      w.line('let b = wid.z;');
      w.block('if (i >= N)', () => w.line('return;'));
      if (layout === 'heads') {
        w.comment('Token t of (b, h) starts at ((b·H + h)·N + t)·HL.');
        w.line('let headOff = 0u;');
        w.line('let rowsBase = (b * H + h) * N;');
      } else {
        w.comment('Token t of image b, head h starts at (b·N + t)·TOKEN + h·HL.');
        w.line('let headOff = h * HL;');
        w.line('let rowsBase = b * N;');
      }
      w.line(`var qv: array<${T}, HL>;`);
      w.line('let qBase = (rowsBase + i) * TOKEN + headOff;');
      w.block('for (var d = 0u; d < HL; d = d + 1u)', () => w.line(`qv[d] = ${qBuf}[qBase + d];`));
      w.line();
      w.comment('Pass 1: row maximum of the scaled scores.');
      w.line('var mx = NEG_LARGE;');
      w.block('for (var j = 0u; j < N; j = j + 1u)', () => {
        w.line(`let kBase = (rowsBase + j) * TOKEN + headOff${kOff};`);
        w.line('var s = 0.0;');
        w.block('for (var d = 0u; d < HL; d = d + 1u)', () =>
          w.line(`s += ${dot('qv[d]', `${kBuf}[kBase + d]`)};`),
        );
        w.line('mx = max(mx, s * SCALE);');
      });
      w.line();
      w.comment('Pass 2: l = Σ exp(s − max), acc = Σ exp(s − max)·v.');
      w.line('var l = 0.0;');
      w.line(`var acc: array<${T}, HL>;`);
      w.block('for (var j = 0u; j < N; j = j + 1u)', () => {
        w.line(`let kBase = (rowsBase + j) * TOKEN + headOff${kOff};`);
        w.line(`let vBase = (rowsBase + j) * TOKEN + headOff${vOff};`);
        w.line('var s = 0.0;');
        w.block('for (var d = 0u; d < HL; d = d + 1u)', () =>
          w.line(`s += ${dot('qv[d]', `${kBuf}[kBase + d]`)};`),
        );
        w.line('let p = exp(s * SCALE - mx);');
        w.line('l += p;');
        w.block('for (var d = 0u; d < HL; d = d + 1u)', () =>
          w.line(`acc[d] += p * ${vBuf}[vBase + d];`),
        );
      });
      w.line('let inv_l = 1.0 / l;');
      w.line(
        layout === 'heads'
          ? `let oBase = (b * N + i) * ${u32(D / unit)} + h * HL;`
          : `let oBase = (rowsBase + i) * ${u32(D / unit)} + headOff;`,
      );
      w.block('for (var d = 0u; d < HL; d = d + 1u)', () =>
        w.line('out[oBase + d] = acc[d] * inv_l;'),
      );
      if (desc.probs) {
        w.line();
        w.comment('Pass 3: normalised probabilities, row (b, h, i) of [B, H, N, N].');
        w.line('let pBase = ((b * H + h) * N + i) * N;');
        w.block('for (var j = 0u; j < N; j = j + 1u)', () => {
          w.line(`let kBase = (rowsBase + j) * TOKEN + headOff${kOff};`);
          w.line('var s = 0.0;');
          w.block('for (var d = 0u; d < HL; d = d + 1u)', () =>
            w.line(`s += ${dot('qv[d]', `${kBuf}[kBase + d]`)};`),
          );
          w.line('probs[pBase + j] = exp(s * SCALE - mx) * inv_l;');
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
    uniforms: UNIFORMS,
    dispatch: (sizes: KernelSizes): Vec3 => attentionGrid(name, sizes, heads, wg, 'perImage'),
  };
}
