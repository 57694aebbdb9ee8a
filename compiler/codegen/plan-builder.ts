// Accumulates a Plan: kernels deduplicated by WGSL text (and given stable names), physical
// buffers, and dispatch steps whose bindings are resolved by the kernel's binding names.
import type { ConstInit } from '../ir/ops.js';
import {
  type BufferRole,
  type Plan,
  type PlanBuffer,
  type PlanKernel,
  type PlanStep,
  type PlanTensor,
  PLAN_FORMAT,
  PLAN_VERSION,
} from './plan.js';
import { type KernelSizes, type KernelSource, packUniforms } from './wgsl/builder.js';

/**
 * Where a value lives: a physical buffer, from `offset` (default 0; a multiple of BIND_ALIGN, used
 * by packed arenas) for `bytes`. Views with element offsets are copied, not bound.
 */
export interface Loc {
  buffer: number;
  bytes: number;
  offset?: number;
}

export class CodegenError extends Error {
  override name = 'CodegenError';
}

export class PlanBuilder {
  readonly kernels: PlanKernel[] = [];
  readonly buffers: PlanBuffer[] = [];
  readonly steps: PlanStep[] = [];
  readonly inputs: PlanTensor[] = [];
  readonly outputs: PlanTensor[] = [];
  readonly params: PlanTensor[] = [];
  private readonly byText = new Map<string, number>();
  private readonly nameCount = new Map<string, number>();

  /** A builder that continues `plan` (its kernels keep their indices and names). */
  static from(plan: Plan): PlanBuilder {
    const pb = new PlanBuilder();
    pb.kernels.push(...plan.kernels);
    pb.buffers.push(...plan.buffers);
    pb.steps.push(...plan.steps);
    pb.inputs.push(...plan.inputs);
    pb.outputs.push(...plan.outputs);
    pb.params.push(...plan.params);
    plan.kernels.forEach((k, i) => {
      if (k.wgsl !== undefined) pb.byText.set(k.wgsl, i);
      // Names are `base` or `base_vN`; count the base so new names stay unique.
      const base = k.name.replace(/_v\d+$/, '');
      pb.nameCount.set(base, (pb.nameCount.get(base) ?? 0) + 1);
    });
    return pb;
  }

  buffer(
    name: string,
    role: BufferRole,
    bytes: number,
    init?: { init: ConstInit; shape: number[] },
  ): Loc {
    const id = this.buffers.length;
    const b: PlanBuffer = { id, name, role, bytes: Math.max(4, bytes) };
    if (init) {
      b.init = init.init;
      b.shape = init.shape;
    }
    this.buffers.push(b);
    return { buffer: id, bytes: b.bytes };
  }

  /** Registers a kernel (same text → same kernel) and returns its index. */
  kernel(src: KernelSource, doc: string): number {
    const known = this.byText.get(src.wgsl);
    if (known !== undefined) return known;
    // Names must be unique file names; the renderer's name plus a counter when two texts collide.
    const n = this.nameCount.get(src.name) ?? 0;
    this.nameCount.set(src.name, n + 1);
    const name = n === 0 ? src.name : `${src.name}_v${n + 1}`;
    const id = this.kernels.length;
    this.kernels.push({
      name,
      entry: src.entry,
      workgroupSize: src.workgroupSize,
      doc,
      bindings: src.bindings.map((b) => ({ binding: b.binding, name: b.name, kind: b.kind })),
      ...(src.requires
        ? {
            requires: {
              features: [...src.requires.features],
              ...(src.requires.subgroupSize ? { subgroupSize: src.requires.subgroupSize } : {}),
            },
          }
        : {}),
      wgsl: src.wgsl,
    });
    this.byText.set(src.wgsl, id);
    return id;
  }

  /** Appends a dispatch of `src` with buffers bound by the kernel's binding names. */
  step(
    src: KernelSource,
    doc: string,
    label: string,
    bind: Record<string, Loc>,
    sizes: KernelSizes = {},
    alternatives: readonly KernelSource[] = [],
  ): void {
    if (src.requires)
      throw new CodegenError(
        `${src.name}: a step's own kernel must run on every adapter (step ${label})`,
      );
    const kernel = this.kernel(src, doc);
    // An alternative must be a drop-in: the same bindings (names, numbers, kinds) and uniforms.
    const signature = (k: KernelSource) =>
      JSON.stringify([k.bindings.map((b) => [b.binding, b.name, b.kind]), k.uniforms]);
    for (const alt of alternatives)
      if (signature(alt) !== signature(src))
        throw new CodegenError(
          `${alt.name}: not a drop-in alternative to ${src.name} (step ${label})`,
        );
    const bindings = src.bindings
      .filter((d) => d.kind !== 'uniform')
      .map((d) => {
        const loc = bind[d.name];
        if (!loc)
          throw new CodegenError(`${src.name}: no buffer bound to '${d.name}' (step ${label})`);
        return {
          binding: d.binding,
          buffer: loc.buffer,
          offset: loc.offset ?? 0,
          size: loc.bytes,
        };
      });
    const extra = Object.keys(bind).filter((k) => !src.bindings.some((d) => d.name === k));
    if (extra.length)
      throw new CodegenError(`${src.name}: unknown bindings ${extra.join(', ')} (step ${label})`);
    const uniformDecl = src.bindings.find((d) => d.kind === 'uniform');
    const uniforms = uniformDecl
      ? Array.from(new Uint32Array(packUniforms(src.uniforms, sizes)))
      : [];
    this.steps.push({
      kernel,
      label,
      bindings,
      uniforms,
      uniformBinding: uniformDecl ? uniformDecl.binding : null,
      dispatch: src.dispatch(sizes),
      ...(alternatives.length
        ? {
            alternatives: alternatives.map((alt) => ({
              kernel: this.kernel(alt, doc),
              dispatch: alt.dispatch(sizes),
            })),
          }
        : {}),
    });
  }

  build(meta: { spec: string; specFile: string; batch: number; mode: 'eval' | 'train' }): Plan {
    return {
      format: PLAN_FORMAT,
      version: PLAN_VERSION,
      ...meta,
      kernels: this.kernels,
      buffers: this.buffers,
      steps: this.steps,
      inputs: this.inputs,
      outputs: this.outputs,
      params: this.params,
    };
  }
}
