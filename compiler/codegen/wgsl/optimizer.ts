/**
 * The optimizer step over packed parameters: every parameter, gradient and optimizer state lives
 * in one buffer per kind ("arena", compiler/codegen/pack-optimizer.ts), each tensor at the same
 * 256-byte-aligned offset in all of them, gaps zero. So the whole update is elementwise over one
 * flat range: one dispatch for all parameters instead of one or two per parameter, and it updates
 * in place (each invocation reads and writes only its own elements).
 *
 * sumsq_partials: grads → partials[P]: workgroup w sums x² over the vec4s w·WG + lid + k·P·WG
 *   (a fixed order, so the result is the same every run). P is fixed at render time.
 * clip_stats: partials[P] → stats[2] = (total norm, clip coefficient) as torch's
 *   clip_grad_norm_: total = √Σg², coef = min(1, max_norm / (total + 1e-6)). One workgroup.
 * optimizer_update: one vec4 per invocation; elements below `decayEnd` get weight decay (the
 *   packing puts the decayed parameters first). The math and its operation order are those of
 *   compiler/autodiff/optim.ts (torch's single-tensor AdamW, Adam, SGD).
 */
import type { OptimizerConfig } from '../../autodiff/optim.js';
import {
  BindingSet,
  fixedSource,
  type KernelSource,
  type Vec3,
  WgslWriter,
  check,
  entrySignature,
  f32,
  flatWorkgroupIndex,
  grid1d,
  renderHeader,
  renderWorkgroupReduce,
  u32,
  ceilDiv,
} from './builder.js';

const WG = 64;

/** How many partial sums the norm reduction uses for an arena of `vec4s` vec4s. */
export function sumsqPartials(vec4s: number): number {
  // At least 16 vec4s per invocation, at most 256 workgroups (the finishing kernel reads them all).
  return Math.max(1, Math.min(256, ceilDiv(vec4s, WG * 16)));
}

/**
 * One-pass sum kernels: each invocation accumulates `acc` in `accumulate`, the workgroup adds
 * the accumulators in a fixed tree, and `finish` stores `total` (in uniform control flow).
 */
function renderSumKernel(
  name: string,
  doc: string,
  bs: BindingSet,
  accumulate: (w: WgslWriter) => void,
  finish: (w: WgslWriter) => void,
  dispatch: Vec3,
): KernelSource {
  const w = new WgslWriter();
  renderHeader(w, name, [doc]);
  bs.render(w);
  w.line(`var<workgroup> scratch: array<f32, ${WG}>;`);
  w.line();
  renderWorkgroupReduce(w, 'wg_sum', 'scratch', WG, (a, b) => `${a} + ${b}`);
  w.line();
  w.block(entrySignature([WG, 1, 1]), () => {
    w.line('var acc = 0.0;');
    accumulate(w);
    w.line('let total = wg_sum(acc, lid);');
    finish(w);
  });
  return fixedSource(name, w, bs, WG, dispatch);
}

export function renderSumsqPartials(desc: { vec4s: number }): KernelSource {
  const n = desc.vec4s;
  const parts = sumsqPartials(n);
  return renderSumKernel(
    `sumsq_partials_n${n}_p${parts}`,
    `Σx² over ${n} vec4s in ${parts} fixed-order partial sums (the global gradient norm, part 1)`,
    new BindingSet().storage('x', 'read', 'vec4<f32>').storage('partials', 'read_write', 'f32'),
    (w) =>
      w.block(
        `for (var i = wid.x * ${u32(WG)} + lid; i < ${u32(n)}; i = i + ${u32(parts * WG)})`,
        () => {
          w.line('let v = x[i];');
          w.line('acc = acc + dot(v, v);');
        },
      ),
    (w) => w.line('if (lid == 0u) { partials[wid.x] = total; }'),
    [parts, 1, 1],
  );
}

/** The norm and torch.nn.utils.clip_grad_norm_'s coefficient (eps: optim.ts CLIP_EPS). */
export function renderClipStats(desc: {
  partials: number;
  maxNorm: number;
  eps: number;
}): KernelSource {
  const { partials: P, maxNorm, eps } = desc;
  check(maxNorm > 0, 'clip_stats', `max norm must be > 0, got ${maxNorm}`);
  return renderSumKernel(
    `clip_stats_p${P}`,
    `global gradient norm from ${P} partial sums; coef = min(1, ${maxNorm} / (norm + ${eps}))`,
    new BindingSet().storage('partials', 'read', 'f32').storage('stats', 'read_write', 'f32'),
    (w) =>
      w.block(`for (var i = lid; i < ${u32(P)}; i = i + ${u32(WG)})`, () =>
        w.line('acc = acc + partials[i];'),
      ),
    (w) =>
      w.block('if (lid == 0u)', () => {
        w.line('let norm = sqrt(total);');
        w.line('stats[0] = norm;');
        w.line(`stats[1] = min(1.0, ${f32(maxNorm)} / (norm + ${f32(eps)}));`);
      }),
    [1, 1, 1],
  );
}

export interface UpdateDesc {
  optimizer: OptimizerConfig;
  /** Arena length in vec4s. */
  vec4s: number;
  /** Vec4 index where the parameters without weight decay begin. */
  decayEnd: number;
  /** Whether a clip coefficient is read from stats[1]. */
  clip: boolean;
}

/** Optimizer state arenas the update reads and writes, in binding order. */
export function updateStates(opt: OptimizerConfig): string[] {
  if (opt.kind === 'sgd') return opt.momentum !== 0 ? ['momentum_buffer'] : [];
  return ['exp_avg', 'exp_avg_sq'];
}

export function renderOptimizerUpdate(desc: UpdateDesc): KernelSource {
  const { optimizer: opt, vec4s: n, decayEnd, clip } = desc;
  check(
    decayEnd >= 0 && decayEnd <= n,
    'optimizer_update',
    `decayEnd ${decayEnd} outside [0, ${n}]`,
  );
  const wd = opt.weightDecay;
  const name = `${opt.kind}_packed_n${n}_d${decayEnd}${clip ? '_clip' : ''}`;
  const w = new WgslWriter();
  renderHeader(w, name, [
    `${opt.kind} step over ${n} packed vec4s (all parameters); weight decay ${wd} below vec4 ${decayEnd}`,
  ]);
  const bs = new BindingSet().storage('grads', 'read', 'vec4<f32>').storage('lr', 'read', 'f32');
  if (opt.kind !== 'sgd') bs.storage('bc1', 'read', 'f32').storage('bc2', 'read', 'f32');
  if (clip) bs.storage('stats', 'read', 'f32');
  bs.storage('params', 'read_write', 'vec4<f32>');
  for (const s of updateStates(opt)) bs.storage(s, 'read_write', 'vec4<f32>');
  bs.render(w);
  w.line();
  w.block(entrySignature([WG, 1, 1]), () => {
    w.line(`let i = ${flatWorkgroupIndex} * ${u32(WG)} + lid;`);
    w.line(`if (i >= ${u32(n)}) { return; }`);
    w.line(`let decays = i < ${u32(decayEnd)};`);
    w.line('let lr_t = lr[0];');
    w.line('let p = params[i];');
    w.line(clip ? 'var g = grads[i] * stats[1];' : 'var g = grads[i];');
    if (opt.kind === 'sgd') {
      if (wd !== 0) w.line(`if (decays) { g = g + p * ${f32(wd)}; }`);
      if (opt.momentum !== 0) {
        w.line(`let buf = momentum_buffer[i] * ${f32(opt.momentum)} + g;`);
        w.line('momentum_buffer[i] = buf;');
        w.line('params[i] = p - buf * lr_t;');
      } else w.line('params[i] = p - g * lr_t;');
      return;
    }
    const [b1, b2] = opt.betas;
    if (opt.kind === 'adam' && wd !== 0) w.line(`if (decays) { g = g + p * ${f32(wd)}; }`);
    w.line(`let m = exp_avg[i] * ${f32(b1)} + g * ${f32(1 - b1)};`);
    w.line(`let v = exp_avg_sq[i] * ${f32(b2)} + (g * g) * ${f32(1 - b2)};`);
    w.line('exp_avg[i] = m;');
    w.line('exp_avg_sq[i] = v;');
    w.line(`let denom = sqrt(v) / sqrt(bc2[0]) + ${f32(opt.eps)};`);
    w.line('var p0 = p;');
    if (opt.kind === 'adamw' && wd !== 0)
      w.line(`if (decays) { p0 = p * (1.0 - lr_t * ${f32(wd)}); }`);
    w.line('params[i] = p0 - (m / denom) * (lr_t / bc1[0]);');
  });
  return fixedSource(name, w, bs, WG, grid1d(ceilDiv(n, WG)));
}
