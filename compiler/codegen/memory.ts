// Memory planning over a Plan's steps. Every scratch tensor lives from the first step that binds
// it (its producer) to the last step that binds it (its last reader). Tensors whose lifetimes do
// not overlap may share one physical buffer: largest first, each goes to the best-fitting
// (smallest sufficient) buffer that is free for its whole lifetime, else to a new buffer. Since
// tensors come largest first, every existing buffer is big enough; best fit keeps the big ones
// for big tensors. Lifetimes are inclusive, so a step's inputs and outputs never share a buffer
// (WebGPU forbids binding one buffer read-only and writable in one dispatch anyway).
// Parameters, inputs, outputs and constants keep their own buffers: they outlive a run.
import type { Plan, PlanBuffer } from './plan.js';

export interface Lifetime {
  first: number;
  last: number;
}

/** Per buffer id: the first and last step binding it (undefined if no step does). */
export function bufferLifetimes(plan: Plan): (Lifetime | undefined)[] {
  const life: (Lifetime | undefined)[] = plan.buffers.map(() => undefined);
  plan.steps.forEach((s, i) => {
    for (const b of s.bindings) {
      const l = life[b.buffer];
      if (!l) life[b.buffer] = { first: i, last: i };
      else l.last = i;
    }
  });
  return life;
}

interface Physical {
  bytes: number;
  /** Lifetimes assigned so far, sorted by first step, disjoint. */
  spans: Lifetime[];
  members: number[];
}

function isFree(p: Physical, l: Lifetime): boolean {
  // Binary search for the first span ending at or after l.first.
  let lo = 0;
  let hi = p.spans.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (p.spans[mid].last < l.first) lo = mid + 1;
    else hi = mid;
  }
  return lo === p.spans.length || p.spans[lo].first > l.last;
}

function insert(p: Physical, l: Lifetime): void {
  let i = 0;
  while (i < p.spans.length && p.spans[i].first < l.first) i++;
  p.spans.splice(i, 0, l);
}

/** The plan with scratch tensors packed into shared buffers (same steps, remapped bindings). */
export function planMemory(plan: Plan): Plan {
  const life = bufferLifetimes(plan);
  const scratch = plan.buffers
    .filter((b) => b.role === 'scratch' && life[b.id] !== undefined)
    .sort((a, b) => b.bytes - a.bytes || life[a.id]!.first - life[b.id]!.first || a.id - b.id);
  const physical: Physical[] = [];
  const home = new Map<number, number>();
  for (const b of scratch) {
    const l = life[b.id]!;
    let best = -1;
    physical.forEach((p, i) => {
      if (p.bytes >= b.bytes && isFree(p, l) && (best < 0 || p.bytes < physical[best].bytes))
        best = i;
    });
    if (best < 0) {
      best = physical.length;
      physical.push({ bytes: b.bytes, spans: [], members: [] });
    }
    insert(physical[best], l);
    physical[best].members.push(b.id);
    home.set(b.id, best);
  }
  // New buffer list: every kept buffer in its old order, shared scratch buffers after them.
  const buffers: PlanBuffer[] = [];
  const remap = new Map<number, number>();
  for (const b of plan.buffers) {
    if (home.has(b.id)) continue;
    remap.set(b.id, buffers.length);
    buffers.push({ ...b, id: buffers.length });
  }
  physical.forEach((p) => {
    const id = buffers.length;
    const names = p.members.map((m) => plan.buffers[m].name);
    buffers.push({
      id,
      name: names.length === 1 ? names[0] : `scratch (${names.length} tensors: ${names[0]}, …)`,
      role: 'scratch',
      bytes: p.bytes,
    });
    for (const m of p.members) remap.set(m, id);
  });
  const at = (id: number) => remap.get(id)!;
  return {
    ...plan,
    buffers,
    steps: plan.steps.map((s) => ({
      ...s,
      bindings: s.bindings.map((b) => ({ ...b, buffer: at(b.buffer) })),
    })),
    inputs: plan.inputs.map((t) => ({ ...t, buffer: at(t.buffer) })),
    outputs: plan.outputs.map((t) => ({ ...t, buffer: at(t.buffer) })),
    params: plan.params.map((t) => ({ ...t, buffer: at(t.buffer) })),
  };
}

export interface MemoryReport {
  /** Bytes of every buffer the plan allocates: what a run holds on the device (its peak). */
  total: number;
  byRole: Record<string, number>;
}

export function memoryReport(plan: Plan): MemoryReport {
  const byRole: Record<string, number> = {};
  for (const b of plan.buffers) byRole[b.role] = (byRole[b.role] ?? 0) + b.bytes;
  return { total: plan.buffers.reduce((a, b) => a + b.bytes, 0), byRole };
}

/**
 * The largest sum of scratch bytes live at one step, for a plan whose scratch buffers each hold
 * one tensor (before planMemory): the least any sharing scheme could allocate.
 */
export function liveScratchPeak(plan: Plan): number {
  const life = bufferLifetimes(plan);
  const delta = new Float64Array(plan.steps.length + 1);
  for (const b of plan.buffers) {
    const l = life[b.id];
    if (b.role !== 'scratch' || !l) continue;
    delta[l.first] += b.bytes;
    delta[l.last + 1] -= b.bytes;
  }
  let live = 0;
  let peak = 0;
  for (const d of delta) peak = Math.max(peak, (live += d));
  return peak;
}
