// Runs a Plan on a GPUDevice. Everything is created once (buffers, pipelines, bind groups, the
// packed uniform buffer); a run writes the inputs, records ONE command encoder with every
// dispatch of the plan, copies the requested outputs to staging buffers and maps them. No CPU
// round trip happens between dispatches.
import { constValues } from '../compiler/ir/consts.js';
import { type Plan, type PlanKernel, type PlanTensor, alignUp } from '../compiler/codegen/plan.js';
import { DeviceError, type VitcDevice } from './device.js';
import { decodeF16, encodeF16 } from './half.js';
import { PipelineCache } from './pipelines.js';
import {
  adapterKey,
  timeDispatch,
  timeSubmit,
  type TuneRecord,
  type TuneReport,
  type TuneStore,
} from './autotune.js';

export type HostTensor = Float32Array | Int32Array;

export class PlanExecutor {
  /** The kernel and grid each step runs: the plan's, or the alternative autotune chose. */
  private readonly stepKernel: number[];
  private readonly stepDispatch: [number, number, number][];

  private constructor(
    readonly dev: VitcDevice,
    readonly plan: Plan,
    private readonly buffers: GPUBuffer[],
    /** null for alternatives this device cannot run (never compiled). */
    private readonly pipelines: (GPUComputePipeline | null)[],
    private readonly bindGroups: GPUBindGroup[],
    private readonly uniformBuffer: GPUBuffer | null,
    private readonly uOffsets: number[],
  ) {
    this.stepKernel = plan.steps.map((s) => s.kernel);
    this.stepDispatch = plan.steps.map((s) => s.dispatch);
  }

  static async create(dev: VitcDevice, plan: Plan, cache?: PipelineCache): Promise<PlanExecutor> {
    const { device } = dev;
    if (plan.buffers.some((b) => b.dtype === 'f16') && !device.features.has('shader-f16'))
      throw new DeviceError(
        `this plan keeps weights and activations in f16, which needs the WebGPU feature ` +
          `'shader-f16'; ${dev.info.description} (${dev.info.backend}) does not offer it. Use ` +
          `precision f32, a GPU that has it, or VITC_ADAPTER=lavapipe (Mesa's CPU driver has it).`,
      );
    const pipelineCache = cache ?? new PipelineCache(device);
    const runnable = plan.kernels.map((k) => canRun(dev, k));
    for (const s of plan.steps)
      if (!runnable[s.kernel])
        throw new DeviceError(
          `kernel ${plan.kernels[s.kernel].name} needs ${JSON.stringify(plan.kernels[s.kernel].requires)}, ` +
            `which ${dev.info.description} does not offer`,
        );
    // Alternatives the device cannot run (another subgroup size, a missing feature) are never
    // compiled, and autotune does not offer them.
    const pipelines = await Promise.all(
      plan.kernels.map((k, i) => {
        if (!runnable[i]) return null;
        if (k.wgsl === undefined) throw new Error(`plan kernel ${k.name} has no WGSL source`);
        return pipelineCache.get({
          name: k.name,
          wgsl: k.wgsl,
          entry: k.entry,
          bindings: k.bindings,
        });
      }),
    );
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const buffers = plan.buffers.map((b) =>
      device.createBuffer({ label: b.name, size: Math.max(4, alignUp(b.bytes, 16)), usage }),
    );
    for (const b of plan.buffers) {
      if (b.role !== 'const' || !b.init || !b.shape) continue;
      device.queue.writeBuffer(buffers[b.id], 0, Float32Array.from(constValues(b.init, b.shape)));
    }

    // All steps' uniform words packed into one buffer, each step at an aligned offset.
    const uAlign = dev.device.limits.minUniformBufferOffsetAlignment;
    const uOffsets: number[] = [];
    let uBytes = 0;
    for (const s of plan.steps) {
      uOffsets.push(uBytes);
      if (s.uniforms.length) uBytes += alignUp(s.uniforms.length * 4, uAlign);
    }
    let uniformBuffer: GPUBuffer | null = null;
    if (uBytes > 0) {
      uniformBuffer = device.createBuffer({
        label: 'uniforms',
        size: uBytes,
        usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      });
      const words = new Uint32Array(uBytes / 4);
      plan.steps.forEach((s, i) => words.set(s.uniforms, uOffsets[i] / 4));
      device.queue.writeBuffer(uniformBuffer, 0, words);
    }

    const bindGroups = plan.steps.map((s, i) =>
      makeBindGroup(device, plan, i, pipelines[s.kernel]!, buffers, uniformBuffer, uOffsets[i]),
    );
    return new PlanExecutor(dev, plan, buffers, pipelines, bindGroups, uniformBuffer, uOffsets);
  }

  private tensor(list: PlanTensor[], name: string, kind: string): PlanTensor {
    const t = list.find((x) => x.name === name);
    if (!t)
      throw new Error(`plan has no ${kind} "${name}" (has: ${list.map((x) => x.name).join(', ')})`);
    return t;
  }

  /** Bytes per element of the buffer a tensor lives in (f16 storage plans: 2). */
  private elemBytes(t: PlanTensor): number {
    return this.plan.buffers[t.buffer].dtype === 'f16' ? 2 : 4;
  }

  private write(t: PlanTensor, data: HostTensor): void {
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (data.length !== n)
      throw new Error(
        `tensor ${t.name}: expected ${n} values for shape [${t.shape}], got ${data.length}`,
      );
    if (this.elemBytes(t) === 2) {
      if (!(data instanceof Float32Array))
        throw new Error(
          `tensor ${t.name}: an f16 buffer takes float values, got ${data.constructor.name}`,
        );
      // writeBuffer needs a multiple of 4 bytes: an odd count gets one padding half, which lands
      // in the alignment gap after the tensor (halfStorage keeps offsets 256-byte aligned).
      const halves = new Uint16Array(n + (n % 2));
      halves.set(encodeF16(data));
      this.dev.device.queue.writeBuffer(this.buffers[t.buffer], t.offset, halves);
      return;
    }
    this.dev.device.queue.writeBuffer(
      this.buffers[t.buffer],
      t.offset,
      data.buffer,
      data.byteOffset,
      data.byteLength,
    );
  }

  /**
   * Where an input, output or parameter lives on the GPU, so a caller can chain plans and steps
   * with copyBufferToBuffer (the trainer feeds `new.*` back into the parameters this way).
   */
  location(
    kind: 'input' | 'output' | 'param',
    name: string,
  ): { buffer: GPUBuffer; offset: number; bytes: number } {
    const list = { input: this.plan.inputs, output: this.plan.outputs, param: this.plan.params };
    const t = this.tensor(list[kind], name, kind);
    const bytes = t.shape.reduce((a, b) => a * b, 1) * this.elemBytes(t);
    return { buffer: this.buffers[t.buffer], offset: t.offset, bytes };
  }

  /** Writes inputs (queued writeBuffer) without running, for callers that record their own encoder. */
  writeInputs(inputs: Record<string, HostTensor>): void {
    for (const [name, data] of Object.entries(inputs))
      this.write(this.tensor(this.plan.inputs, name, 'input'), data);
  }

  /** Uploads parameters by timm name; every parameter of the plan must be given. */
  setParams(params: Map<string, Float32Array>): void {
    const missing = this.plan.params.filter((p) => !params.has(p.name)).map((p) => p.name);
    if (missing.length) throw new Error(`missing parameters: ${missing.join(', ')}`);
    for (const p of this.plan.params) this.write(p, params.get(p.name)!);
  }

  /** Reads parameters back (after training steps, or to check an upload). */
  async readParams(): Promise<Map<string, Float32Array>> {
    const out = await this.read(this.plan.params);
    return new Map(Object.entries(out) as [string, Float32Array][]);
  }

  /** One forward (or training step): writes inputs, runs every step in one encoder, reads outputs. */
  async run(
    inputs: Record<string, HostTensor>,
    outputs: string[] = this.plan.outputs.map((o) => o.name),
  ): Promise<Record<string, Float32Array>> {
    for (const [name, data] of Object.entries(inputs))
      this.write(this.tensor(this.plan.inputs, name, 'input'), data);
    const wanted = outputs.map((o) => this.tensor(this.plan.outputs, o, 'output'));
    const encoder = this.dev.device.createCommandEncoder({
      label: `${this.plan.spec} ${this.plan.mode}`,
    });
    this.encode(encoder);
    return this.read(wanted, encoder);
  }

  /** Records every dispatch of the plan into `encoder` (one compute pass). */
  encode(encoder: GPUCommandEncoder): void {
    const pass = encoder.beginComputePass({ label: this.plan.spec });
    this.plan.steps.forEach((_, i) => {
      const d = this.stepDispatch[i];
      pass.setPipeline(this.pipelines[this.stepKernel[i]]!);
      pass.setBindGroup(0, this.bindGroups[i]);
      pass.dispatchWorkgroups(d[0], d[1], d[2]);
    });
    pass.end();
  }

  /**
   * Per-dispatch wall time: each step in its own submit, awaited (bench/profile.ts). Slow, and
   * it loses the overlap of a real run; it says where the time goes, not what a run takes.
   */
  async profileSteps(): Promise<number[]> {
    const ms: number[] = [];
    for (let i = 0; i < this.plan.steps.length; i++) {
      const pipeline = this.pipelines[this.stepKernel[i]]!;
      ms.push(
        await timeSubmit(this.dev.device, pipeline, this.bindGroups[i], this.stepDispatch[i]),
      );
    }
    return ms;
  }

  /** The kernel name each step runs (after autotune: the chosen alternatives). */
  kernelNames(): string[] {
    return this.stepKernel.map((k) => this.plan.kernels[k].name);
  }

  /**
   * Times every step's alternatives (runtime/autotune.ts) and switches each step to the fastest,
   * reusing choices from `store` (same adapter, same shape) and recording new ones there.
   * Writes only scratch and output buffers (matmul results), never parameters.
   */
  async autotune(store: TuneStore): Promise<TuneReport> {
    const { device } = this.dev;
    const adapter = adapterKey(this.dev.info);
    const decided = new Map<string, TuneRecord>();
    const report: TuneReport = { steps: 0, shapes: 0, measured: 0, choices: [] };
    for (const [i, s] of this.plan.steps.entries()) {
      const variants = [{ kernel: s.kernel, dispatch: s.dispatch }, ...(s.alternatives ?? [])];
      const runnable = variants.filter((v) => this.pipelines[v.kernel] !== null);
      if (runnable.length < 2) continue; // nothing this device can choose between
      report.steps++;
      const name = (k: number) => this.plan.kernels[k].name;
      const key = `${runnable
        .map((v) => name(v.kernel))
        .sort()
        .join(' | ')} @ ${s.uniforms.join(',')}`;
      const bindFor = (k: number) =>
        makeBindGroup(
          device,
          this.plan,
          i,
          this.pipelines[k]!,
          this.buffers,
          this.uniformBuffer,
          this.uOffsets[i],
        );
      let rec = decided.get(key) ?? store.get(adapter, key);
      if (!rec || !runnable.some((v) => name(v.kernel) === rec!.kernel)) {
        const ms: Record<string, number> = {};
        for (const v of runnable) {
          const bg = bindFor(v.kernel);
          ms[name(v.kernel)] = await timeDispatch(
            device,
            this.pipelines[v.kernel]!,
            bg,
            v.dispatch,
          );
        }
        const best = Object.entries(ms).sort((a, b) => a[1] - b[1])[0][0];
        rec = { kernel: best, ms, date: new Date().toISOString() };
        store.set(adapter, key, rec);
        report.measured++;
      }
      if (!decided.has(key)) {
        decided.set(key, rec);
        report.choices.push({ key, kernel: rec.kernel, ms: rec.ms });
      }
      const v = variants.find((x) => name(x.kernel) === rec!.kernel)!;
      this.stepKernel[i] = v.kernel;
      this.stepDispatch[i] = v.dispatch;
      this.bindGroups[i] = bindFor(v.kernel);
    }
    report.shapes = decided.size;
    await store.save();
    return report;
  }

  private async read(
    tensors: PlanTensor[],
    encoder?: GPUCommandEncoder,
  ): Promise<Record<string, Float32Array>> {
    const { device } = this.dev;
    const enc = encoder ?? device.createCommandEncoder();
    const staging = tensors.map((t) => {
      const bytes = t.shape.reduce((a, b) => a * b, 1) * this.elemBytes(t);
      const buf = device.createBuffer({
        size: alignUp(bytes, 4),
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
      enc.copyBufferToBuffer(this.buffers[t.buffer], t.offset, buf, 0, alignUp(bytes, 4));
      return buf;
    });
    device.queue.submit([enc.finish()]);
    const out: Record<string, Float32Array> = {};
    await Promise.all(
      staging.map(async (buf, i) => {
        await buf.mapAsync(GPUMapMode.READ);
        const t = tensors[i];
        const raw = buf.getMappedRange().slice(0);
        const n = t.shape.reduce((a, b) => a * b, 1);
        out[t.name] =
          this.elemBytes(t) === 2 ? decodeF16(new Uint16Array(raw, 0, n)) : new Float32Array(raw);
        buf.destroy();
      }),
    );
    return out;
  }

  destroy(): void {
    for (const b of this.buffers) b.destroy();
    this.uniformBuffer?.destroy();
  }
}

/** Whether the device offers what a kernel requires (features, and its subgroup size). */
export function canRun(dev: VitcDevice, k: PlanKernel): boolean {
  const r = k.requires;
  if (!r) return true;
  if (!r.features.every((f) => dev.device.features.has(f as GPUFeatureName))) return false;
  if (r.subgroupSize === undefined) return true;
  const info = dev.adapter.info as GPUAdapterInfo & {
    subgroupMinSize?: number;
    subgroupMaxSize?: number;
  };
  const min = info.subgroupMinSize ?? 0;
  const max = info.subgroupMaxSize ?? 0;
  return r.subgroupSize >= min && r.subgroupSize <= max;
}

/** Step i's bind group for `pipeline` (auto layouts differ per pipeline, so one per kernel). */
function makeBindGroup(
  device: GPUDevice,
  plan: Plan,
  i: number,
  pipeline: GPUComputePipeline,
  buffers: GPUBuffer[],
  uniformBuffer: GPUBuffer | null,
  uOffset: number,
): GPUBindGroup {
  const s = plan.steps[i];
  const entries: GPUBindGroupEntry[] = s.bindings.map((b) => ({
    binding: b.binding,
    resource: { buffer: buffers[b.buffer], offset: b.offset, size: b.size },
  }));
  if (s.uniformBinding !== null && uniformBuffer) {
    entries.push({
      binding: s.uniformBinding,
      resource: {
        buffer: uniformBuffer,
        offset: uOffset,
        size: alignUp(s.uniforms.length * 4, 16),
      },
    });
  }
  return device.createBindGroup({
    label: s.label,
    layout: pipeline.getBindGroupLayout(0),
    entries,
  });
}
