// The Plan: everything the runtime needs to run a compiled model, and nothing it must infer.
// Kernels (WGSL text), physical buffers, and the ordered list of dispatches with their bindings
// and uniform words. plan.json is this object with each kernel's WGSL moved to kernels/NAME.wgsl;
// model.ts embeds it whole so a browser bundle needs no file access.
import type { ConstInit, DType } from '../ir/ops.js';

export const PLAN_FORMAT = 'vitc-plan';
export const PLAN_VERSION = 1;

export interface PlanKernel {
  /** Unique, file-name safe (kernels/<name>.wgsl). */
  name: string;
  entry: string;
  workgroupSize: [number, number, number];
  /** One line on what the kernel computes (shown in explain and in the .wgsl header). */
  doc: string;
  /** Group-0 bindings in binding order (storage inputs, outputs, then the uniform struct). */
  bindings: { binding: number; name: string; kind: 'read' | 'read_write' | 'uniform' }[];
  /**
   * What the adapter must offer (features; a subgroup size the text is specialised to). Only
   * step alternatives have it: the runtime skips the ones the device cannot run.
   */
  requires?: { features: string[]; subgroupSize?: number };
  /** WGSL source; absent in plan.json (it lives in kernels/<name>.wgsl), present in memory. */
  wgsl?: string;
}

export type BufferRole = 'param' | 'input' | 'output' | 'scratch' | 'const';

/** A physical GPU buffer. Several logical tensors may share one (memory planning). */
export interface PlanBuffer {
  id: number;
  name: string;
  role: BufferRole;
  /** Size in bytes (a multiple of 4). */
  bytes: number;
  /** Element type in memory: f32 (absent) or f16 (compiler/codegen/half-storage.ts). */
  dtype?: 'f16';
  /** For role const: how to fill it at load time (compiler/ir/consts.ts), as f32. */
  init?: ConstInit;
  /** For role const: the logical shape the init describes. */
  shape?: number[];
}

/** A tensor visible to the user of the plan: an input, an output or a parameter. */
export interface PlanTensor {
  name: string;
  buffer: number;
  /** Byte offset inside the buffer. */
  offset: number;
  shape: number[];
  dtype: DType;
}

export interface PlanBinding {
  binding: number;
  buffer: number;
  /** Byte offset (a multiple of the adapter's minStorageBufferOffsetAlignment, 256). */
  offset: number;
  /** Byte size of the bound range. */
  size: number;
}

export interface PlanStep {
  kernel: number;
  /** Graph node names this dispatch computes, for profiles and dumps. */
  label: string;
  bindings: PlanBinding[];
  /** Uniform words (u32 bit patterns; f32 values stored as their bits), bound at `uniformBinding`. */
  uniforms: number[];
  uniformBinding: number | null;
  dispatch: [number, number, number];
  /**
   * Other kernels that compute exactly this step with the same bindings and uniforms (e.g. the
   * same matmul in other tile shapes), for the runtime's autotune to time and choose from
   * (runtime/autotune.ts). Only plans compiled with `tune` have them.
   */
  alternatives?: { kernel: number; dispatch: [number, number, number] }[];
}

export interface Plan {
  format: typeof PLAN_FORMAT;
  version: typeof PLAN_VERSION;
  /** Model name and the spec file it came from (relative path as given). */
  spec: string;
  specFile: string;
  /** The batch size the plan was compiled for; smaller batches are padded by the runtime. */
  batch: number;
  mode: 'eval' | 'train';
  kernels: PlanKernel[];
  buffers: PlanBuffer[];
  steps: PlanStep[];
  inputs: PlanTensor[];
  outputs: PlanTensor[];
  params: PlanTensor[];
}

/** Bytes per element of a dtype on the GPU. */
export function dtypeBytes(_dtype: DType): number {
  return 4;
}

/** Binding offsets must be aligned; every sub-allocation is rounded up to this. */
export const BIND_ALIGN = 256;

export function alignUp(n: number, a: number = BIND_ALIGN): number {
  return Math.ceil(n / a) * a;
}

/** f32 → its u32 bit pattern, for uniform words. */
export function f32Bits(x: number): number {
  const f = new Float32Array([x]);
  return new Uint32Array(f.buffer)[0];
}
