/**
 * Autotune: a plan compiled with `tune` (compileSpec(spec, { tune: true })) offers, for each
 * matmul step, the same computation in other tile shapes (PlanStep.alternatives). The executor
 * times each candidate once on the device at hand, runs the fastest from then on, and remembers
 * the choice in a TuneStore keyed by adapter and kernel shape, so the next load times nothing.
 * The store is in memory here (browsers, tests); runtime/autotune-file.ts keeps it on disk.
 *
 * Timing is wall-clock around submit + onSubmittedWorkDone (timestamp queries are optional in
 * WebGPU): a candidate is dispatched several times in one pass and the median per-dispatch time of
 * a few rounds counts. Identical shapes (the same matmul in every block) are timed once.
 */
import type { DeviceInfo } from './device.js';

export interface TuneRecord {
  /** The chosen kernel's name. */
  kernel: string;
  /** Median milliseconds per dispatch of every candidate, by kernel name. */
  ms: Record<string, number>;
  /** ISO date of the measurement. */
  date: string;
}

export interface TuneStore {
  get(adapter: string, key: string): TuneRecord | undefined;
  set(adapter: string, key: string, record: TuneRecord): void;
  /** Persists what was set (a no-op in memory). */
  save(): Promise<void>;
}

export class MemoryTuneStore implements TuneStore {
  readonly records = new Map<string, TuneRecord>();
  get(adapter: string, key: string): TuneRecord | undefined {
    return this.records.get(`${adapter}\n${key}`);
  }
  set(adapter: string, key: string, record: TuneRecord): void {
    this.records.set(`${adapter}\n${key}`, record);
  }
  async save(): Promise<void> {}
}

/** What autotune did, for logs and `vitc bench --json`. */
export interface TuneReport {
  /** Steps that had alternatives. */
  steps: number;
  /** Distinct shapes among them. */
  shapes: number;
  /** Shapes timed now; the rest came from the store. */
  measured: number;
  choices: { key: string; kernel: string; ms: Record<string, number> }[];
}

/** Which adapter a record belongs to: the same GPU and driver reproduce the same timings. */
export function adapterKey(info: DeviceInfo): string {
  return [info.backend, info.vendor, info.architecture, info.description].join(' | ');
}

/** Wall-clock ms per dispatch of `count` dispatches in one pass, one submit, awaited. */
export async function timeSubmit(
  device: GPUDevice,
  pipeline: GPUComputePipeline,
  bindGroup: GPUBindGroup,
  dispatch: readonly [number, number, number],
  count = 1,
): Promise<number> {
  const enc = device.createCommandEncoder({ label: 'timing' });
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  for (let i = 0; i < count; i++) pass.dispatchWorkgroups(dispatch[0], dispatch[1], dispatch[2]);
  pass.end();
  const t0 = performance.now();
  device.queue.submit([enc.finish()]);
  await device.queue.onSubmittedWorkDone();
  return (performance.now() - t0) / count;
}

/**
 * Median milliseconds per dispatch of `pipeline` with `bindGroup`. A first dispatch warms up and
 * sizes the measurement: slow kernels (CPU adapters) get one more timed dispatch, fast ones
 * 3 rounds of 8 in one pass each, so the submit overhead is spread.
 */
export async function timeDispatch(
  device: GPUDevice,
  pipeline: GPUComputePipeline,
  bindGroup: GPUBindGroup,
  dispatch: readonly [number, number, number],
): Promise<number> {
  const run = (count: number) => timeSubmit(device, pipeline, bindGroup, dispatch, count);
  const first = await run(1);
  if (first > 50) return run(1);
  const rounds = [await run(8), await run(8), await run(8)].sort((a, b) => a - b);
  return rounds[1];
}
