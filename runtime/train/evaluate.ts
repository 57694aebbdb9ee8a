/**
 * Evaluation on WebGPU: the eval-mode plan (no dropout) over a data split in order, logits
 * gathered on the GPU and read back every `chunk` batches, then accuracy, per-class accuracy,
 * a confusion matrix and the mean cross-entropy computed on the CPU. The trainer hands over its
 * parameters GPU to GPU (copyParamsFrom), so a per-epoch evaluation reads nothing back but logits.
 */
import type { Plan } from '../../compiler/codegen/plan.js';
import { selectKernels } from '../../compiler/codegen/select.js';
import { lowerVit } from '../../compiler/lower/vit.js';
import type { Spec } from '../../compiler/spec/types.js';
import { BatchLoader } from '../data/loader.js';
import { DataError } from '../data/errors.js';
import type { Dataset } from '../data/types.js';
import type { VitcDevice } from '../device.js';
import { PlanExecutor } from '../executor.js';
import type { PipelineCache } from '../pipelines.js';
import { argmax } from './trainer.js';

export interface EvalSummary {
  samples: number;
  /** Fraction correct (0..1). */
  accuracy: number;
  /** Mean cross-entropy of the logits (no label smoothing). */
  loss: number;
  classes: readonly string[];
  /** Per class: fraction of that class's samples predicted correctly (NaN for an absent class). */
  perClass: number[];
  /** confusion[true][predicted] counts. */
  confusion: number[][];
}

export function compileEvalPlan(spec: Spec, batch: number, specFile = `${spec.name}.vit`): Plan {
  const graph = lowerVit(spec, { batch, mode: 'eval' });
  return selectKernels(graph, { spec: spec.name, specFile, batch, mode: 'eval' });
}

/**
 * One name per model class: the data set's names, then `class k` for head outputs the data set
 * does not use. A data set with more classes than the head is refused (its labels cannot match).
 */
export function classNames(names: readonly string[], K: number, source = 'data set'): string[] {
  if (names.length > K)
    throw new DataError(
      'labelRange',
      source,
      `the data set has ${names.length} classes but the model's head has ${K}`,
    );
  return Array.from({ length: K }, (_, k) => names[k] ?? `class ${k}`);
}

/** Accuracy, per-class accuracy, confusion matrix and mean cross-entropy from logits [n, K]. */
export function summarize(
  logits: Float32Array,
  labels: Int32Array,
  classes: readonly string[],
): EvalSummary {
  const K = classes.length;
  const n = labels.length;
  const confusion = Array.from({ length: K }, () => new Array<number>(K).fill(0));
  let correct = 0;
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const o = i * K;
    const pred = argmax(logits, o, K);
    confusion[labels[i]][pred]++;
    if (pred === labels[i]) correct++;
    // log-sum-exp in float64 with the max subtracted, as torch's cross_entropy does.
    let max = -Infinity;
    for (let k = 0; k < K; k++) max = Math.max(max, logits[o + k]);
    let s = 0;
    for (let k = 0; k < K; k++) s += Math.exp(logits[o + k] - max);
    loss += Math.log(s) + max - logits[o + labels[i]];
  }
  const perClass = confusion.map((row, k) => {
    const total = row.reduce((a, b) => a + b, 0);
    return total === 0 ? NaN : row[k] / total;
  });
  return {
    samples: n,
    accuracy: n ? correct / n : NaN,
    loss: n ? loss / n : NaN,
    classes,
    perClass,
    confusion,
  };
}

export class Evaluator {
  private constructor(
    readonly dev: VitcDevice,
    readonly spec: Spec,
    readonly exec: PlanExecutor,
  ) {}

  static async create(
    dev: VitcDevice,
    spec: Spec,
    opts: { batch: number; specFile?: string; cache?: PipelineCache },
  ): Promise<Evaluator> {
    const exec = await PlanExecutor.create(
      dev,
      compileEvalPlan(spec, opts.batch, opts.specFile),
      opts.cache,
    );
    return new Evaluator(dev, spec, exec);
  }

  get batch(): number {
    return this.exec.plan.batch;
  }

  setParams(params: Map<string, Float32Array>): void {
    this.exec.setParams(params);
  }

  /** Copies every parameter from another plan on the same device, GPU to GPU (queued). */
  copyParamsFrom(other: PlanExecutor): void {
    const enc = this.dev.device.createCommandEncoder({ label: 'params → eval plan' });
    for (const p of this.exec.plan.params) {
      const src = other.location('param', p.name);
      const dst = this.exec.location('param', p.name);
      enc.copyBufferToBuffer(src.buffer, src.offset, dst.buffer, dst.offset, dst.bytes);
    }
    this.dev.device.queue.submit([enc.finish()]);
  }

  /**
   * Logits of every sample of `dataset` in order (a short last batch is padded with zeros and
   * trimmed). `onBatch` is told how many samples are done after each read-back.
   */
  async logits(
    dataset: Dataset,
    opts: { chunk?: number; onProgress?: (done: number, total: number) => void } = {},
  ): Promise<{ logits: Float32Array; labels: Int32Array }> {
    const { device } = this.dev;
    const B = this.batch;
    const K = this.exec.plan.outputs[0].shape[1];
    const chunk = opts.chunk ?? 16;
    const loader = new BatchLoader(dataset, {
      batch: B,
      shuffle: false,
      spec: this.spec,
      prefetch: 2,
    });
    const all = new Float32Array(dataset.size * K);
    const labels = new Int32Array(dataset.size);
    const per = this.exec.plan.inputs
      .find((i) => i.name === 'image')!
      .shape.slice(1)
      .reduce((a, b) => a * b, 1);
    const gather = device.createBuffer({
      label: 'eval logits',
      size: chunk * B * K * 4,
      usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    });
    const out = this.exec.location('output', this.exec.plan.outputs[0].name);
    let queued: { at: number; size: number }[] = [];
    let done = 0;
    const drain = async () => {
      if (!queued.length) return;
      const bytes = queued.length * B * K * 4;
      const staging = device.createBuffer({
        size: bytes,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
      const enc = device.createCommandEncoder();
      enc.copyBufferToBuffer(gather, 0, staging, 0, bytes);
      device.queue.submit([enc.finish()]);
      await staging.mapAsync(GPUMapMode.READ);
      const data = new Float32Array(staging.getMappedRange().slice(0));
      staging.destroy();
      queued.forEach((q, j) => all.set(data.subarray(j * B * K, j * B * K + q.size * K), q.at * K));
      done += queued.reduce((a, q) => a + q.size, 0);
      queued = [];
      opts.onProgress?.(done, dataset.size);
    };
    try {
      let at = 0;
      for await (const b of loader) {
        let images = b.images;
        if (b.size < B) {
          images = new Float32Array(B * per);
          images.set(b.images);
        }
        labels.set(b.labels, at);
        this.exec.writeInputs({ image: images });
        const enc = device.createCommandEncoder({ label: `eval batch ${b.index}` });
        this.exec.encode(enc);
        enc.copyBufferToBuffer(
          out.buffer,
          out.offset,
          gather,
          queued.length * B * K * 4,
          out.bytes,
        );
        device.queue.submit([enc.finish()]);
        queued.push({ at, size: b.size });
        at += b.size;
        if (queued.length === chunk) await drain();
      }
      await drain();
    } finally {
      gather.destroy();
    }
    return { logits: all, labels };
  }

  async evaluate(
    dataset: Dataset,
    opts: { onProgress?: (done: number, total: number) => void } = {},
  ): Promise<EvalSummary> {
    const { logits, labels } = await this.logits(dataset, opts);
    return summarize(
      logits,
      labels,
      classNames(dataset.classes, this.exec.plan.outputs[0].shape[1]),
    );
  }

  destroy(): void {
    this.exec.destroy();
  }
}
