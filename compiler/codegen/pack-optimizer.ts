// Plan → Plan: the optimizer step as one kernel over all parameters. The input plan computes the
// loss and the raw gradients (`grad.{p}` outputs of compiler/autodiff buildBackwardGraph); this
// pass moves every parameter into one buffer (arena), every gradient into a second at the same
// offsets, creates one arena per optimizer state, and appends the global-norm clip (two small
// kernels) and the update (one kernel, in place). Kernels that read a parameter or write a
// gradient are unchanged: their bindings now point into an arena at the tensor's offset.
//
// Per step this replaces 2 update kernels per parameter, 2 clip kernels per parameter, the
// clip's tree of scalar adds, and 3 copies per parameter (new values over old) with 3 dispatches
// (docs/KERNELS.md, "Packed optimizer"). The math is optim.ts's, in the same operation order;
// only the sum of squares is added up in another (fixed) order.
import { CLIP_EPS, type OptimizerConfig } from '../autodiff/optim.js';
import type { ParamInfo } from '../spec/params.js';
import { CodegenError, type Loc, PlanBuilder } from './plan-builder.js';
import { type Plan, type PlanBinding, type PlanStep, type PlanTensor, BIND_ALIGN } from './plan.js';
import { renderCopy } from './wgsl/copy.js';
import {
  renderClipStats,
  renderOptimizerUpdate,
  renderSumsqPartials,
  sumsqPartials,
  updateStates,
} from './wgsl/optimizer.js';

export interface PackOptions {
  optimizer: OptimizerConfig;
  /** Global gradient-norm clip (torch's max_norm), or null for none. */
  clip: number | null;
  /** Every parameter, in timm order (compiler/spec/params.ts). */
  params: readonly ParamInfo[];
}

/** Where each parameter sits in the arenas: offsets in f32 elements, BIND_ALIGN-aligned. */
export interface ArenaLayout {
  /** Parameter name → element offset. */
  offsets: Map<string, number>;
  /** Arena length in elements (a multiple of 4). */
  length: number;
  /** Elements below this get weight decay (decayed parameters are placed first). */
  decayEnd: number;
}

const ALIGN = BIND_ALIGN / 4;

export function arenaLayout(params: readonly ParamInfo[], opt: OptimizerConfig): ArenaLayout {
  const decays = (p: ParamInfo) => p.decay && opt.weightDecay !== 0;
  const order = [...params.filter(decays), ...params.filter((p) => !decays(p))];
  const offsets = new Map<string, number>();
  let at = 0;
  let decayEnd = 0;
  for (const p of order) {
    offsets.set(p.name, at);
    at += Math.ceil(p.shape.reduce((a, b) => a * b, 1) / ALIGN) * ALIGN;
    if (decays(p)) decayEnd = at;
  }
  return { offsets, length: Math.max(at, ALIGN), decayEnd };
}

export function packOptimizer(plan: Plan, o: PackOptions): Plan {
  if (plan.mode !== 'train') throw new CodegenError('packOptimizer: not a training plan');
  const layout = arenaLayout(o.params, o.optimizer);
  const bytes = layout.length * 4;
  const pb = PlanBuilder.from(plan);
  const P = pb.buffer(`parameters (${o.params.length} tensors, packed)`, 'param', bytes);
  const G = pb.buffer(`gradients (${o.params.length} tensors, packed)`, 'scratch', bytes);
  const states = updateStates(o.optimizer);
  const S = states.map((s) => pb.buffer(`${s} (packed)`, 'input', bytes));
  const slot = (arena: Loc, name: string, shape: readonly number[]): Loc => ({
    buffer: arena.buffer,
    offset: layout.offsets.get(name)! * 4,
    bytes: shape.reduce((a, b) => a * b, 1) * 4,
  });
  const owners = tensorsByBuffer(plan);
  const read = readBuffers(plan);

  // Old buffer id → its place in an arena (binding offsets shift by `offset`).
  const moved = new Map<number, Loc>();
  const copies: { from: PlanTensor; to: Loc }[] = [];
  for (const info of o.params) {
    const param = plan.params.find((t) => t.name === info.name);
    const grad = plan.outputs.find((t) => t.name === `grad.${info.name}`);
    if (!param || !grad)
      throw new CodegenError(`packOptimizer: the plan lacks parameter or gradient ${info.name}`);
    if (owners.get(param.buffer)!.length !== 1 || param.offset !== 0)
      throw new CodegenError(`packOptimizer: parameter ${info.name} does not own its buffer`);
    moved.set(param.buffer, slot(P, info.name, info.shape));
    const g = slot(G, info.name, info.shape);
    const own =
      plan.buffers[grad.buffer].role === 'output' &&
      owners.get(grad.buffer)!.length === 1 &&
      grad.offset === 0 &&
      !moved.has(grad.buffer) &&
      !read.has(grad.buffer);
    // A gradient that is not only a kernel's output is copied in: one that is shared, or also
    // read by other kernels (at batch 1 the head bias's gradient is the logits' gradient, which
    // the head weight's gradient reads), which would bind the arena read-only and writable.
    if (own) moved.set(grad.buffer, g);
    else copies.push({ from: grad, to: g });
  }
  const at = <T extends { buffer: number; offset: number }>(b: T): T => {
    const m = moved.get(b.buffer);
    return m ? { ...b, buffer: m.buffer, offset: b.offset + m.offset! } : b;
  };
  const steps = pb.steps.map((s) => ({ ...s, bindings: s.bindings.map((b) => at(b)) }));
  pb.steps.splice(0, pb.steps.length, ...steps);
  for (const c of copies) {
    const n = c.to.bytes / 4;
    const k = renderCopy({
      name: 'copy',
      dims: [n],
      srcStrides: [1],
      srcOffset: c.from.offset / 4,
      dstStrides: [1],
      dstOffset: 0,
    });
    const src = { buffer: c.from.buffer, bytes: plan.buffers[c.from.buffer].bytes };
    pb.step(k, 'gradient into the packed arena', `pack ${c.from.name}`, {
      src: moved.get(src.buffer) ? { ...moved.get(src.buffer)! } : src,
      dst: c.to,
    });
  }

  const scalar = (name: string): Loc => {
    const l = pb.buffer(`input ${name}`, 'input', 4);
    pb.inputs.push({ name, buffer: l.buffer, offset: 0, shape: [], dtype: 'f32' });
    return l;
  };
  const vec4s = layout.length / 4;
  const bind: Record<string, Loc> = { grads: G, lr: scalar('lr'), params: P };
  if (o.optimizer.kind !== 'sgd') ((bind.bc1 = scalar('bc1')), (bind.bc2 = scalar('bc2')));
  states.forEach((s, i) => (bind[s] = S[i]));
  let stats: Loc | null = null;
  if (o.clip !== null) {
    const parts = sumsqPartials(vec4s);
    const partials = pb.buffer('gradient norm partial sums', 'scratch', parts * 4);
    stats = pb.buffer('gradient norm, clip coefficient', 'output', 8);
    const doc = 'global gradient norm (torch clip_grad_norm_)';
    pb.step(renderSumsqPartials({ vec4s }), doc, 'clip_grad_norm: Σg² (packed)', {
      x: G,
      partials,
    });
    pb.step(
      renderClipStats({ partials: parts, maxNorm: o.clip, eps: CLIP_EPS }),
      doc,
      'clip_grad_norm: norm, coefficient',
      { partials, stats },
    );
    bind.stats = stats;
  }
  pb.step(
    renderOptimizerUpdate({
      optimizer: o.optimizer,
      vec4s,
      decayEnd: layout.decayEnd / 4,
      clip: o.clip !== null,
    }),
    `${o.optimizer.kind} update of every parameter (packed, in place)`,
    `optimizer: ${o.params.length} parameters (packed)`,
    bind,
  );

  // The plan's tensors: parameters, states and the updated values all live in the arenas.
  const tensor = (name: string, l: Loc, shape: readonly number[]): PlanTensor => ({
    name,
    buffer: l.buffer,
    offset: l.offset ?? 0,
    shape: [...shape],
    dtype: 'f32',
  });
  const params = o.params.map((i) => tensor(i.name, slot(P, i.name, i.shape), i.shape));
  const stateInputs = states.flatMap((s, k) =>
    o.params.map((i) => tensor(`${s}.${i.name}`, slot(S[k], i.name, i.shape), i.shape)),
  );
  const outputs = pb.outputs.filter((t) => !t.name.startsWith('grad.'));
  if (stats) outputs.push(tensor('grad_norm', stats, []));
  outputs.push(...params.map((t) => ({ ...t, name: `new.${t.name}` })));
  outputs.push(...stateInputs.map((t) => ({ ...t, name: `new_${t.name}` })));
  const built = pb.build({
    spec: plan.spec,
    specFile: plan.specFile,
    batch: plan.batch,
    mode: plan.mode,
  });
  const packed: Plan = {
    ...built,
    inputs: [...built.inputs.map((t) => at(t)), ...stateInputs],
    outputs: outputs.map((t) => at(t)),
    params,
  };
  // Buffers that held a `grad.*` output and stay (read by other kernels) are scratch again.
  const isOutput = new Set(packed.outputs.map((t) => t.buffer));
  packed.buffers = packed.buffers.map((b) =>
    b.role === 'output' && !isOutput.has(b.id) ? { ...b, role: 'scratch' } : b,
  );
  checkArenaAccess(packed);
  return dropUnusedBuffers(packed);
}

/** How step `s` accesses binding `b`: its kernel's declaration. */
function bindingKind(plan: Plan, s: PlanStep, b: PlanBinding): string {
  return plan.kernels[s.kernel].bindings.find((d) => d.binding === b.binding)!.kind;
}

/** Buffers some step binds read-only. */
function readBuffers(plan: Plan): Set<number> {
  const out = new Set<number>();
  for (const s of plan.steps)
    for (const b of s.bindings) if (bindingKind(plan, s, b) === 'read') out.add(b.buffer);
  return out;
}

function tensorsByBuffer(plan: Plan): Map<number, PlanTensor[]> {
  const m = new Map<number, PlanTensor[]>(plan.buffers.map((b) => [b.id, []]));
  for (const t of [...plan.inputs, ...plan.outputs, ...plan.params]) m.get(t.buffer)!.push(t);
  return m;
}

/**
 * WebGPU forbids one buffer bound read-only and writable in the same dispatch, even at disjoint
 * ranges; packing must not create such a step (e.g. a kernel reading one gradient and writing
 * another).
 */
function checkArenaAccess(plan: Plan): void {
  plan.steps.forEach((s, i) => {
    const kinds = new Map<number, Set<string>>();
    for (const b of s.bindings) {
      kinds.set(b.buffer, (kinds.get(b.buffer) ?? new Set()).add(bindingKind(plan, s, b)));
    }
    for (const [buf, k] of kinds)
      if (k.size > 1)
        throw new CodegenError(
          `packOptimizer: step ${i} (${s.label}) binds ${plan.buffers[buf].name} read-only and writable`,
        );
  });
}

/** Removes buffers no step or tensor refers to and renumbers the rest (order kept). */
export function dropUnusedBuffers(plan: Plan): Plan {
  const used = new Set<number>();
  for (const s of plan.steps) for (const b of s.bindings) used.add(b.buffer);
  for (const t of [...plan.inputs, ...plan.outputs, ...plan.params]) used.add(t.buffer);
  const remap = new Map<number, number>();
  const buffers = plan.buffers
    .filter((b) => used.has(b.id))
    .map((b, i) => (remap.set(b.id, i), { ...b, id: i }));
  const re = <T extends { buffer: number }>(x: T): T => ({ ...x, buffer: remap.get(x.buffer)! });
  return {
    ...plan,
    buffers,
    steps: plan.steps.map((s) => ({ ...s, bindings: s.bindings.map(re) })),
    inputs: plan.inputs.map(re),
    outputs: plan.outputs.map(re),
    params: plan.params.map(re),
  };
}
