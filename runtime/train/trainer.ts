/**
 * Training on WebGPU. The whole step (forward, loss, backward, clipping, AdamW) is one compiled
 * plan (compiler/codegen/train-plan.ts); parameters and optimizer state stay on the GPU for the
 * whole run. A step is ONE command encoder: the plan's dispatches (the optimizer updates the
 * packed parameters and states in place, so `new.{p}` is `{p}`'s own memory and needs no copy;
 * a plan whose outputs are elsewhere gets copyBufferToBuffer of each over the next step's
 * inputs), then a copy of the loss and logits into a small mappable buffer of that step. The CPU only writes the batch,
 * the labels and the step's scalars (lr, bc1, bc2, rng_seed) and never waits inside a step.
 *
 * Reading results: each step's mappable buffer is mapped (mapAsync) right after the submit. The
 * map resolves when the GPU has finished that step and does not hold the queue back, so step
 * k's loss is read while step k+1 runs. The caller bounds how far the CPU runs ahead with
 * collect(maxInFlight) (backpressure: queued batches are staged memory) and drains with flush().
 */
import { optimizerScalars, optimizerStates } from '../../compiler/autodiff/optim.js';
import { compileTrainPlan } from '../../compiler/codegen/train-plan.js';
import { modelParams } from '../../compiler/spec/params.js';
import type { Spec } from '../../compiler/spec/types.js';
import { hashInts } from '../data/rng.js';
import type { VitcDevice } from '../device.js';
import { PlanExecutor, type HostTensor } from '../executor.js';
import { PipelineCache } from '../pipelines.js';

/** hashInts stream of the per-step dropout seed; the loader uses streams 1..3 (runtime/data/rng.ts). */
export const STREAM_DROPOUT = 4;

/** The `rng_seed` input of 0-based step t: a pure function of the run's seed and t (resumable). */
export function dropoutSeed(seed: number, step: number): number {
  return hashInts([seed, STREAM_DROPOUT, step]) | 0;
}

export { compileTrainPlan };

/** What one step gave back. */
export interface StepResult {
  /** 0-based global step. */
  step: number;
  loss: number;
  /** Samples of the batch whose argmax logit is the label (train mode: dropout active). */
  correct: number;
  size: number;
}

interface Copy {
  src: GPUBuffer;
  srcOffset: number;
  dst: GPUBuffer;
  dstOffset: number;
  bytes: number;
}

interface Pending {
  step: number;
  labels: Int32Array;
  buffer: GPUBuffer;
  mapped: Promise<void>;
}

export class Trainer {
  readonly classes: number;
  /** Submitted steps whose results were not collected yet, oldest first. */
  private pending: Pending[] = [];
  private readonly feedback: Copy[] = [];
  /** Mappable result buffers (loss, then logits) not in use by a pending step. */
  private readonly free: GPUBuffer[] = [];
  private readonly all: GPUBuffer[] = [];
  private readonly resultBytes: number;

  private constructor(
    readonly dev: VitcDevice,
    readonly spec: Spec,
    readonly exec: PlanExecutor,
    /** The most steps in flight (submitted, not collected). */
    readonly window: number,
  ) {
    const plan = exec.plan;
    this.classes = plan.outputs.find((o) => o.name === 'logits')!.shape[1];
    const states = optimizerStates(spec.train.optimizer);
    for (const p of modelParams(spec)) {
      this.link(exec.location('output', `new.${p.name}`), exec.location('param', p.name));
      for (const s of states)
        this.link(
          exec.location('output', `new_${s}.${p.name}`),
          exec.location('input', `${s}.${p.name}`),
        );
    }
    this.resultBytes = 4 + plan.batch * this.classes * 4;
  }

  private link(
    src: ReturnType<PlanExecutor['location']>,
    dst: ReturnType<PlanExecutor['location']>,
  ): void {
    if (src.buffer === dst.buffer) {
      // A plan that updated in place would need no copy; overlapping ranges cannot be copied.
      if (src.offset === dst.offset) return;
      throw new Error('training plan: an updated tensor shares a buffer with its input');
    }
    this.feedback.push({
      src: src.buffer,
      srcOffset: src.offset,
      dst: dst.buffer,
      dstOffset: dst.offset,
      bytes: src.bytes,
    });
  }

  /** Compiles the training plan for `spec.train` (optimizer, smoothing, clip) and `batch`. */
  static async create(
    dev: VitcDevice,
    spec: Spec,
    opts: { batch: number; specFile?: string; window?: number; cache?: PipelineCache },
  ): Promise<Trainer> {
    const plan = compileTrainPlan(spec, opts.batch, opts.specFile);
    const exec = await PlanExecutor.create(dev, plan, opts.cache);
    return new Trainer(dev, spec, exec, opts.window ?? 16);
  }

  get batch(): number {
    return this.exec.plan.batch;
  }

  get pendingSteps(): number {
    return this.pending.length;
  }

  /** Uploads parameters and optimizer state (`{state}.{param}`; missing ones start at zero). */
  setState(
    params: ReadonlyMap<string, Float32Array>,
    optim: ReadonlyMap<string, Float32Array> = new Map(),
  ): void {
    this.exec.setParams(params as Map<string, Float32Array>);
    const feeds: Record<string, HostTensor> = {};
    for (const t of this.exec.plan.inputs) {
      if (!t.name.includes('.')) continue; // image, labels, lr, bc1, bc2, rng_seed
      feeds[t.name] = optim.get(t.name) ?? new Float32Array(t.shape.reduce((a, b) => a * b, 1));
    }
    this.exec.writeInputs(feeds);
  }

  /**
   * Records and submits step `t` (0-based, global) on a full batch at learning rate `lr`.
   * Returns at once; the GPU runs it after the steps already queued. At most `window` steps may
   * be in flight: collect() before submitting more.
   */
  step(images: Float32Array, labels: Int32Array, t: number, lr: number): void {
    if (this.pending.length >= this.window)
      throw new Error(`Trainer: ${this.window} steps in flight; collect() results first`);
    if (labels.length !== this.batch)
      throw new Error(`Trainer: the plan trains on batches of ${this.batch}, got ${labels.length}`);
    const feeds: Record<string, HostTensor> = { image: images, labels };
    for (const [k, v] of optimizerScalars(this.spec.train.optimizer, t + 1, lr))
      feeds[k] = Float32Array.of(v[0]);
    if (this.exec.plan.inputs.some((i) => i.name === 'rng_seed'))
      feeds.rng_seed = Int32Array.of(dropoutSeed(this.spec.train.seed, t));
    this.exec.writeInputs(feeds);

    const { device } = this.dev;
    let buffer = this.free.pop();
    if (!buffer) {
      buffer = device.createBuffer({
        label: 'step result',
        size: this.resultBytes,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
      this.all.push(buffer);
    }
    const enc = device.createCommandEncoder({ label: `train step ${t}` });
    this.exec.encode(enc);
    for (const c of this.feedback)
      enc.copyBufferToBuffer(c.src, c.srcOffset, c.dst, c.dstOffset, c.bytes);
    const loss = this.exec.location('output', 'loss');
    const logits = this.exec.location('output', 'logits');
    enc.copyBufferToBuffer(loss.buffer, loss.offset, buffer, 0, 4);
    enc.copyBufferToBuffer(logits.buffer, logits.offset, buffer, 4, logits.bytes);
    device.queue.submit([enc.finish()]);
    const mapped = buffer.mapAsync(GPUMapMode.READ);
    mapped.catch(() => {}); // surfaced by collect(); never an unhandled rejection
    this.pending.push({ step: t, labels: labels.slice(), buffer, mapped });
  }

  /**
   * Waits until at most `maxInFlight` steps are pending, then returns the results of every
   * finished step at the head of the queue, in step order (possibly none).
   */
  async collect(maxInFlight: number): Promise<StepResult[]> {
    const out: StepResult[] = [];
    const K = this.classes;
    while (this.pending.length > 0) {
      const head = this.pending[0];
      if (this.pending.length <= maxInFlight && !(await settledNow(head.mapped))) break;
      await head.mapped;
      const data = new Float32Array(head.buffer.getMappedRange());
      out.push({
        step: head.step,
        loss: data[0],
        correct: countCorrect(data.subarray(1), head.labels, K),
        size: head.labels.length,
      });
      head.buffer.unmap();
      this.free.push(head.buffer);
      this.pending.shift();
    }
    return out;
  }

  /** Waits for every submitted step and returns their results. */
  flush(): Promise<StepResult[]> {
    return this.collect(0);
  }

  /** Reads parameters and optimizer state back (for checkpoints); waits for queued steps. */
  async readState(): Promise<{
    params: Map<string, Float32Array>;
    optim: Map<string, Float32Array>;
  }> {
    const names = [
      ...this.exec.plan.params.map((p) => ({
        key: p.name,
        loc: this.exec.location('param', p.name),
        param: true,
      })),
      ...this.exec.plan.inputs
        .filter((t) => t.name.includes('.'))
        .map((t) => ({ key: t.name, loc: this.exec.location('input', t.name), param: false })),
    ];
    const values = await readLocations(
      this.dev,
      names.map((n) => n.loc),
    );
    const params = new Map<string, Float32Array>();
    const optim = new Map<string, Float32Array>();
    names.forEach((n, i) => (n.param ? params : optim).set(n.key, values[i]));
    return { params, optim };
  }

  destroy(): void {
    this.exec.destroy();
    for (const b of this.all) b.destroy();
  }
}

/** Whether a promise has already settled (checked after one macrotask, so resolved maps show). */
async function settledNow(p: Promise<void>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await new Promise((r) => setImmediate(r));
  return done;
}

/** Samples whose first maximal logit (torch.argmax's choice) is the label. */
export function countCorrect(
  logits: Float32Array,
  labels: Int32Array,
  K: number,
  n = labels.length,
): number {
  let correct = 0;
  for (let i = 0; i < n; i++) if (argmax(logits, i * K, K) === labels[i]) correct++;
  return correct;
}

export function argmax(v: ArrayLike<number>, offset: number, K: number): number {
  let best = 0;
  for (let k = 1; k < K; k++) if (v[offset + k] > v[offset + best]) best = k;
  return best;
}

/** Copies GPU ranges to one staging buffer and reads them with a single map. */
export async function readLocations(
  dev: VitcDevice,
  locs: { buffer: GPUBuffer; offset: number; bytes: number }[],
): Promise<Float32Array[]> {
  const { device } = dev;
  let total = 0;
  const at = locs.map((l) => {
    const o = total;
    total += l.bytes;
    return o;
  });
  const staging = device.createBuffer({
    size: Math.max(4, total),
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  });
  const enc = device.createCommandEncoder({ label: 'read state' });
  locs.forEach((l, i) => enc.copyBufferToBuffer(l.buffer, l.offset, staging, at[i], l.bytes));
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(GPUMapMode.READ);
  const all = staging.getMappedRange().slice(0);
  staging.destroy();
  return locs.map((l, i) => new Float32Array(all, at[i], l.bytes / 4));
}
