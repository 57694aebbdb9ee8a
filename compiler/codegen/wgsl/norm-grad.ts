/**
 * The input gradient of LayerNorm / RMSNorm over the last axis (IR op norm_grad), one workgroup
 * per row, the statistics recomputed from x exactly as the forward kernel (norm.ts) computes them:
 *
 *   d = g·weight,  x̂ = (x − mean)·r,  r = rsqrt(var + eps)         (rmsnorm: x̂ = x·r, no mean)
 *   dx = r·(d − mean(d) − x̂·mean(d·x̂))                               (rmsnorm: no mean(d) term)
 *
 * Four row sums (mean, variance, Σd, Σd·x̂), each a strided slice per invocation and a
 * workgroup-memory tree, then one pass writing dx. Replaces the ~15 reductions and elementwise
 * kernels the formula takes as primitive ops.
 */
import {
  BindingSet,
  check,
  entrySignature,
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

export interface NormGradDesc {
  center: boolean;
  eps: number;
  weight: boolean;
  /** Invocations per workgroup (power of two ≤ 256). */
  workgroupSize: number;
  /** 4 when D is a multiple of 4: rows are read and written as vec4. */
  alignD: 1 | 4;
}

const UNIFORMS: readonly UniformField[] = [
  { name: 'rows', type: 'u32' },
  { name: 'D', type: 'u32' },
];

export function renderNormGrad(desc: NormGradDesc): KernelSource {
  const { center, weight, workgroupSize: wg } = desc;
  const vec = desc.alignD === 4;
  check(isPowerOfTwo(wg) && wg <= 256, 'norm_grad', `workgroupSize must be a power of two ≤ 256`);
  check(
    Number.isFinite(desc.eps) && desc.eps >= 0,
    'norm_grad',
    `eps must be ≥ 0, got ${desc.eps}`,
  );
  const eps = desc.eps
    .toExponential()
    .replace(/[.+-]/g, (c) => (c === '-' ? 'm' : c === '.' ? 'p' : ''));
  const name = sanitizeName(
    [
      center ? 'layernorm_grad' : 'rmsnorm_grad',
      weight ? 'w' : 'now',
      `eps${eps}`,
      `wg${wg}`,
      vec ? 'v4' : '',
    ]
      .filter(Boolean)
      .join('_'),
  );
  const T = vec ? 'vec4<f32>' : 'f32';
  const binds = new BindingSet().storage('x', 'read', T).storage('g', 'read', T);
  if (weight) binds.storage('weight', 'read', T);
  binds.storage('dx', 'read_write', T).uniform('u', 'Uniforms');

  const w = new WgslWriter();
  renderHeader(w, name, [
    `input gradient of ${center ? 'LayerNorm' : 'RMSNorm'} over the last axis: dx = r·(d${center ? ' − mean(d)' : ''} − x̂·mean(d·x̂)), d = g${weight ? '·weight' : ''}`,
    `x, g, dx: [rows, D]${vec ? ' read as vec4 (D % 4 == 0)' : ''}; one workgroup of ${wg} per row.`,
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
  const total = (e: string): string => (vec ? `dot(${e}, vec4<f32>(1.0))` : e);
  const loop = (body: () => void) => w.block('for (var i = lid; i < n; i = i + WG)', body);
  w.block(entrySignature([wg, 1, 1]), () => {
    w.line(`let row = ${flatWorkgroupIndex};`);
    w.comment('Uniform exit: row depends only on the workgroup id, so barriers stay legal.');
    w.block('if (row >= u.rows)', () => w.line('return;'));
    w.line(`let n = ${vec ? 'u.D / 4u' : 'u.D'};`);
    w.line('let base = row * n;');
    w.line('let inv_d = 1.0 / f32(u.D);');
    if (center) {
      w.line('var s = 0.0;');
      loop(() => w.line(`s += ${total('x[base + i]')};`));
      w.line('let mu = workgroup_sum(s, lid) * inv_d;');
    } else w.line('let mu = 0.0;');
    w.line('var q = 0.0;');
    loop(() => {
      w.line('let c = x[base + i] - mu;');
      w.line(`q += ${total('c * c')};`);
    });
    w.line('let r = inverseSqrt(workgroup_sum(q, lid) * inv_d + EPS);');
    const d = weight ? 'g[base + i] * weight[i]' : 'g[base + i]';
    w.line('var sd = 0.0;');
    w.line('var sdx = 0.0;');
    loop(() => {
      w.line(`let d = ${d};`);
      if (center) w.line(`sd += ${total('d')};`);
      w.line(`sdx += ${total('d * ((x[base + i] - mu) * r)')};`);
    });
    w.line(center ? 'let md = workgroup_sum(sd, lid) * inv_d;' : 'let md = 0.0;');
    w.line('let mdx = workgroup_sum(sdx, lid) * inv_d;');
    loop(() => {
      w.line(`let d = ${d};`);
      w.line('dx[base + i] = r * (d - md - ((x[base + i] - mu) * r) * mdx);');
    });
  });

  return {
    name,
    wgsl: w.toString(),
    entry: 'main',
    workgroupSize: [wg, 1, 1],
    bindings: binds.decls,
    uniforms: UNIFORMS,
    dispatch(sizes: KernelSizes): Vec3 {
      const rows = sizeOf(sizes, 'rows', name);
      const D = sizeOf(sizes, 'D', name);
      if (D === 0) throw new KernelSpecError(`${name}: D must be positive`);
      if (vec && D % 4 !== 0) throw new KernelSpecError(`${name}: D=${D} is not a multiple of 4`);
      return grid1d(rows);
    },
  };
}
