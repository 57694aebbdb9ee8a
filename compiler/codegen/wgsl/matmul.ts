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
  entrySignature,
  KernelSpecError,
  MAX_WORKGROUPS_PER_DIM,
  renderHeader,
  renderUniformStruct,
  sizeOf,
  u32,
  WgslWriter,
  type KernelSizes,
  type KernelSource,
  type UniformField,
  type Vec3,
} from './builder.js';
import {
  accDecl,
  LANES,
  par,
  plus,
  renderBlockStep,
  renderIm2colConstants,
  renderOperandBases,
  renderTailStep,
} from './matmul-loads.js';
import { renderNormDecls, renderNormStats } from './matmul-norm.js';
import { renderRowNormDecls, renderRowNormEpilogue } from './matmul-rownorm.js';
import { describe, epilogueText, K_STEP, plan, type MatmulDesc, type Plan } from './matmul-plan.js';
import { SUBGROUP_BUILTINS, renderSubgroupBases } from './matmul-subgroup.js';

export {
  DEFAULT_MATMUL_TILING,
  type Im2colLayout,
  type MatmulDesc,
  type MatmulTiling,
} from './matmul-plan.js';
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
  const nType = p.modeA === 'vecK' ? 'vec4<f32>' : 'f32';
  if (desc.norm?.weight) binds.storage('norm_weight', 'read', nType);
  if (desc.norm?.bias) binds.storage('norm_bias', 'read', nType);
  if (desc.bias) binds.storage('bias', 'read', cType);
  if (desc.scale) binds.storage('scale', 'read', cType);
  if (residual === 'buffer') binds.storage('residual', 'read', cType);
  if (desc.rowNorm?.weight) binds.storage('ln_weight', 'read', cType);
  if (desc.rowNorm?.bias) binds.storage('ln_bias', 'read', cType);
  binds.storage('c', 'read_write', cType);
  if (desc.rowNorm) binds.storage('normed', 'read_write', cType);
  binds.uniform('u', 'Uniforms');

  renderHeader(w, p.name, describe(p));
  if (p.subgroup) {
    w.line('enable subgroups;');
    // The shuffles sit under `if (sgOk)`, a subgroupAll result: uniform in each subgroup by
    // construction, which WGSL's (workgroup-level) uniformity analysis cannot see.
    w.line('diagnostic(off, subgroup_uniformity);').line();
  }
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
  renderNormDecls(w, p);
  renderRowNormDecls(w, p);
  w.line();
  w.block(entrySignature([p.wx, p.wy, 1], p.subgroup ? SUBGROUP_BUILTINS : []), () => {
    w.line('let M = u.M;');
    w.line('let N = u.N;');
    w.line('let K = u.K;');
    w.line('let m0 = (wid.y * WY + lid / WX) * TM;');
    w.line('let n0 = (wid.x * WX + lid % WX) * TN;');
    w.line(`let aBatch = ${p.sharedA || im ? '0u' : 'wid.z * M * K'};`);
    w.line(`let bBatch = ${p.sharedB ? '0u' : 'wid.z * K * N'};`);
    w.line('let cBatch = wid.z * M * N;');
    renderOperandBases(w, p);
    if (p.subgroup) renderSubgroupBases(w, p);
    if (desc.norm) renderNormStats(w, p);
    for (let i = 0; i < p.tm; i++) {
      for (let j0 = 0; j0 < p.tn; j0 += 4) w.line(accDecl(i, j0, Math.min(j0 + 4, p.tn)));
    }
    w.line();
    const kEnd = p.kAligned ? 'K' : 'K - K % 4u';
    const mainLoop = (q: Plan) => {
      w.comment(`Main loop: ${K_STEP} steps of K per iteration.`);
      w.block(`for (var k = 0u; k < ${kEnd}; k = k + ${u32(K_STEP)})`, () => {
        renderBlockStep(w, q);
      });
    };
    if (p.subgroup) {
      // Two copies of the loop, chosen once per subgroup: A rows by shuffle, or loaded directly.
      w.block('if (sgOk)', () => mainLoop(p));
      w.block('else', () => mainLoop({ ...p, subgroup: undefined }));
    } else mainLoop(p);
    if (!p.kAligned) {
      w.comment('Remainder of K (K not a multiple of 4), one step at a time.');
      w.block(`for (var k = K - K % 4u; k < K; k = k + 1u)`, () => renderTailStep(w, p));
    }
    w.line();
    if (desc.rowNorm)
      renderRowNormEpilogue(w, p, (v, vec) => activationLines(act, actOf, v, vec), residual);
    else renderEpilogue(w, p, act, actOf, residual);
  });

  const name = p.name;
  return {
    name,
    wgsl: w.toString(),
    entry: 'main',
    workgroupSize: [p.wx, p.wy, 1],
    bindings: binds.decls,
    uniforms: UNIFORMS,
    ...(p.subgroup ? { requires: { features: ['subgroups'], subgroupSize: p.subgroup.size } } : {}),
    dispatch: (sizes: KernelSizes): Vec3 => dispatchMatmul(p, sizes),
  };
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
  const applyAct = (v: string, vec: boolean): string | undefined =>
    activationLines(act, actOf, v, vec)[0];
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

/** `v = act(v)` for a scalar or (lane by lane) a vec4; nothing without an activation. */
function activationLines(act: Activation, actOf: string, v: string, vec: boolean): string[] {
  if (act === 'none') return [];
  if (!vec) return [`${v} = ${actOf.replace('X', v)};`];
  const lanes = LANES.map((l) => actOf.replace('X', `${v}.${l}`));
  return [`${v} = vec4<f32>(${lanes.join(', ')});`];
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
  if (p.desc.rowNorm && N !== p.desc.rowNorm.width)
    fail(`the row norm was rendered for N = ${p.desc.rowNorm.width}, got ${N}`);
  if (M === 0 || N === 0 || batch === 0) return [0, 1, 1];
  const x = ceilDiv(N, p.tn * p.wx);
  const y = ceilDiv(M, p.tm * p.wy);
  if (x > MAX_WORKGROUPS_PER_DIM || y > MAX_WORKGROUPS_PER_DIM || batch > MAX_WORKGROUPS_PER_DIM) {
    fail(`grid ${x}×${y}×${batch} exceeds ${MAX_WORKGROUPS_PER_DIM} workgroups per dimension`);
  }
  return [x, y, batch];
}
