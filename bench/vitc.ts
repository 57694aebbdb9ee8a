// vitc's side of a benchmark: the compiled forward plan (and the training-step plan) on a
// PlanExecutor, with the plan's own facts (dispatches, buffer bytes) for the report.
import type { Plan } from '../compiler/codegen/plan.js';
import { compileSpec } from '../compiler/pipeline.js';
import type { Spec } from '../compiler/spec/types.js';
import type { VitcDevice } from '../runtime/device.js';
import { FileTuneStore } from '../runtime/autotune-file.js';
import { PlanExecutor } from '../runtime/executor.js';
import { Trainer } from '../runtime/train/trainer.js';

/** Facts of a plan that explain its speed: dispatches per run and GPU memory it allocates. */
export interface PlanFacts {
  dispatches: number;
  kernels: number;
  /** Every buffer of the plan (params, inputs, outputs, scratch, consts): the peak it holds. */
  buffer_bytes: number;
  param_bytes: number;
  /** Scratch (activations, gradients) after memory planning. */
  scratch_bytes: number;
  compile_ms: number;
  /** With --tune: shapes tuned (matmul tiles, flash schedules; timed now or cached) and the kernels chosen. */
  autotune?: { shapes: number; measured: number; kernels: string[] };
}

export function planFacts(plan: Plan, compileMs: number): PlanFacts {
  const sum = (f: (role: string) => boolean) =>
    plan.buffers.filter((b) => f(b.role)).reduce((a, b) => a + b.bytes, 0);
  return {
    dispatches: plan.steps.length,
    kernels: plan.kernels.length,
    buffer_bytes: sum(() => true),
    param_bytes: sum((r) => r === 'param'),
    scratch_bytes: sum((r) => r === 'scratch'),
    compile_ms: Math.round(compileMs),
  };
}

export interface VitcRunner {
  plan: Plan;
  facts: PlanFacts;
  /** One batch → output; resolves after the readback. */
  run(images: Float32Array): Promise<Float32Array>;
  destroy(): void;
}

export async function vitcForward(
  dev: VitcDevice,
  spec: Spec,
  params: ReadonlyMap<string, Float32Array>,
  batch: number,
  tune = false,
  precision: 'f32' | 'f16' = 'f32',
): Promise<VitcRunner> {
  const t0 = performance.now();
  const { plan } = compileSpec(spec, { batch, dump: [], tune, precision });
  const compileMs = performance.now() - t0;
  const ex = await PlanExecutor.create(dev, plan);
  const facts = planFacts(plan, compileMs);
  if (tune) {
    const r = await ex.autotune(await FileTuneStore.open());
    const kernels = [...new Set(ex.kernelNames())].filter((k) => /^(matmul|flash)/.test(k));
    facts.autotune = { shapes: r.shapes, measured: r.measured, kernels };
  }
  ex.setParams(new Map(params));
  const out = plan.outputs[0].name;
  return {
    plan,
    facts,
    run: async (images) => (await ex.run({ image: images }, [out]))[out],
    destroy: () => ex.destroy(),
  };
}

export interface VitcTrainer {
  plan: Plan;
  facts: PlanFacts;
  /** One training step; resolves with the loss after it was read back. */
  step(images: Float32Array, labels: Int32Array): Promise<number>;
  destroy(): void;
}

/**
 * A training step as `vitc train` runs it (runtime/train/trainer.ts): the training plan (forward
 * in train mode, loss, backward, clipping, AdamW: one graph) and the copies of the new
 * parameters and optimizer states over the ones the next step reads, all in one command encoder.
 * Each timed step writes the batch and the step's scalars, submits, and waits for its loss.
 */
export async function vitcTrain(
  dev: VitcDevice,
  spec: Spec,
  params: ReadonlyMap<string, Float32Array>,
  batch: number,
): Promise<VitcTrainer> {
  const t0 = performance.now();
  const trainer = await Trainer.create(dev, spec, { batch, window: 1 });
  const compileMs = performance.now() - t0;
  trainer.setState(params);
  let t = 0;
  return {
    plan: trainer.exec.plan,
    facts: planFacts(trainer.exec.plan, compileMs),
    async step(images, labels) {
      trainer.step(images, labels, t++, spec.train.optimizer.lr);
      const [r] = await trainer.flush();
      return r.loss;
    },
    destroy: () => trainer.destroy(),
  };
}
