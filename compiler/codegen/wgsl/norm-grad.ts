/**
 * The input gradient of LayerNorm / RMSNorm over the last axis (IR op norm_grad), one workgroup
 * per row, the statistics recomputed from x exactly as the forward kernel (norm.ts) computes them:
 *
 *   d = g·weight,  x̂ = (x − mean)·r,  r = rsqrt(var + eps)         (rmsnorm: x̂ = x·r, no mean)
 *   dx = r·(d − mean(d) − x̂·mean(d·x̂))                               (rmsnorm: no mean(d) term)
 *
 * part 'weight' writes g·x̂ instead (summed over rows by a reduction: the weight's gradient).
 *
 * Four row sums (mean, variance, Σd, Σd·x̂), then one pass writing the output. Strategies:
 *   'serial'    one invocation per row walks it (no barriers). The default: on SwiftShader a
 *               workgroup barrier switches between emulated invocations, and the workgroup
 *               version spent 6.5 ms per fmnist-tiny norm (bench/profile.ts).
 *   'workgroup' one workgroup per row, strided slices and a workgroup-memory tree per sum (for
 *               wide rows on hardware GPUs).
 * Replaces the ~15 reductions and elementwise kernels the formula takes as primitive ops.
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
  renderHeader,
  renderUniformStruct,
  renderWorkgroupReduce,
  sanitizeName,
  u32,
  WgslWriter,
  type KernelSizes,
  type KernelSource,
  type Vec3,
} from './builder.js';
import { ROW_UNIFORMS, rowSizes } from './norm.js';

export interface NormGradDesc {
  center: boolean;
  eps: number;
  weight: boolean;
  /** 'input': dx (default); 'weight': g·x̂. */
  part?: 'input' | 'weight';
  /** Default 'serial'. */
  strategy?: 'serial' | 'workgroup';
  /** Invocations per workgroup (power of two ≤ 256). */
  workgroupSize: number;
  /** 4 when D is a multiple of 4: rows are read and written as vec4. */
  alignD: 1 | 4;
}

export function renderNormGrad(desc: NormGradDesc): KernelSource {
  const { center, weight, workgroupSize: wg } = desc;
  const part = desc.part ?? 'input';
  const serial = (desc.strategy ?? 'serial') === 'serial';
  const vec = desc.alignD === 4;
  check(isPowerOfTwo(wg) && wg <= 256, 'norm_grad', `workgroupSize must be a power of two ≤ 256`);
  check(part === 'input' || !weight, 'norm_grad', "part 'weight' takes no weight");
  check(
    Number.isFinite(desc.eps) && desc.eps >= 0,
    'norm_grad',
    `eps must be ≥ 0, got ${desc.eps}`,
  );
  const eps = epsTag(desc.eps);
  const name = sanitizeName(
    [
      center ? 'layernorm_grad' : 'rmsnorm_grad',
      part === 'weight' ? 'gxhat' : weight ? 'w' : 'now',
      `eps${eps}`,
      serial ? `serial${wg}` : `wg${wg}`,
      vec ? 'v4' : '',
    ]
      .filter(Boolean)
      .join('_'),
  );
  const out = part === 'weight' ? 'gxhat' : 'dx';
  const T = vec ? 'vec4<f32>' : 'f32';
  const binds = new BindingSet().storage('x', 'read', T).storage('g', 'read', T);
  if (weight) binds.storage('weight', 'read', T);
  binds.storage(out, 'read_write', T).uniform('u', 'Uniforms');

  const norm = center ? 'LayerNorm' : 'RMSNorm';
  const w = new WgslWriter();
  renderHeader(w, name, [
    part === 'weight'
      ? `g·x̂ of ${norm} over the last axis (summed over rows: the weight's gradient)`
      : `input gradient of ${norm} over the last axis: dx = r·(d${center ? ' − mean(d)' : ''} − x̂·mean(d·x̂)), d = g${weight ? '·weight' : ''}`,
    `x, g, ${out}: [rows, D]${vec ? ' read as vec4 (D % 4 == 0)' : ''}; ` +
      (serial ? 'one invocation per row.' : `one workgroup of ${wg} per row.`),
  ]);
  renderUniformStruct(w, ROW_UNIFORMS);
  binds.render(w);
  w.line();
  w.line(`const WG = ${u32(wg)};`);
  w.line(`const EPS = ${f32(desc.eps)};`);
  if (!serial) {
    w.line('var<workgroup> partial: array<f32, WG>;');
    w.line();
    renderWorkgroupReduce(w, 'workgroup_sum', 'partial', wg, (a, b) => `${a} + ${b}`);
  }
  w.line();
  const total = (e: string): string => (vec ? `dot(${e}, vec4<f32>(1.0))` : e);
  const loop = (body: () => void) =>
    w.block(
      serial ? 'for (var i = 0u; i < n; i = i + 1u)' : 'for (var i = lid; i < n; i = i + WG)',
      body,
    );
  // A row's sum: the invocation's own total (serial), or the workgroup's.
  const rowSum = (v: string) => (serial ? v : `workgroup_sum(${v}, lid)`);
  w.block(entrySignature([wg, 1, 1]), () => {
    if (serial) w.line(`let row = ${flatWorkgroupIndex} * WG + lid;`);
    else {
      w.line(`let row = ${flatWorkgroupIndex};`);
      w.comment('Uniform exit: row depends only on the workgroup id, so barriers stay legal.');
    }
    w.block('if (row >= u.rows)', () => w.line('return;'));
    w.line(`let n = ${vec ? 'u.D / 4u' : 'u.D'};`);
    w.line('let base = row * n;');
    w.line('let inv_d = 1.0 / f32(u.D);');
    if (center) {
      w.line('var s = 0.0;');
      loop(() => w.line(`s += ${total('x[base + i]')};`));
      w.line(`let mu = ${rowSum('s')} * inv_d;`);
    } else w.line('let mu = 0.0;');
    w.line('var q = 0.0;');
    loop(() => {
      w.line('let c = x[base + i] - mu;');
      w.line(`q += ${total('c * c')};`);
    });
    w.line(`let r = inverseSqrt(${rowSum('q')} * inv_d + EPS);`);
    if (part === 'weight') {
      loop(() => w.line('gxhat[base + i] = g[base + i] * ((x[base + i] - mu) * r);'));
      return;
    }
    const d = weight ? 'g[base + i] * weight[i]' : 'g[base + i]';
    w.line('var sd = 0.0;');
    w.line('var sdx = 0.0;');
    loop(() => {
      w.line(`let d = ${d};`);
      if (center) w.line(`sd += ${total('d')};`);
      w.line(`sdx += ${total('d * ((x[base + i] - mu) * r)')};`);
    });
    w.line(center ? `let md = ${rowSum('sd')} * inv_d;` : 'let md = 0.0;');
    w.line(`let mdx = ${rowSum('sdx')} * inv_d;`);
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
    uniforms: ROW_UNIFORMS,
    dispatch(sizes: KernelSizes): Vec3 {
      const { rows } = rowSizes(sizes, name, vec);
      return grid1d(serial ? Math.ceil(rows / wg) : rows);
    },
  };
}
