// vitc's side of a benchmark: the compiled forward plan (and the training-step plan) on a
// PlanExecutor, with the plan's own facts (dispatches, buffer bytes) for the report.
import { buildTrainGraph } from '../compiler/autodiff/train-graph.js';
import { optimizerScalars, optimizerStates } from '../compiler/autodiff/optim.js';
import type { Plan } from '../compiler/codegen/plan.js';
import { selectKernels } from '../compiler/codegen/select.js';
import { compileSpec } from '../compiler/pipeline.js';
import { modelParams } from '../compiler/spec/params.js';
import type { Spec } from '../compiler/spec/types.js';
import type { VitcDevice } from '../runtime/device.js';
import { PlanExecutor } from '../runtime/executor.js';

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
): Promise<VitcRunner> {
  const t0 = performance.now();
  const { plan } = compileSpec(spec, { batch, dump: [] });
  const compileMs = performance.now() - t0;
  const ex = await PlanExecutor.create(dev, plan);
  ex.setParams(new Map(params));
  const out = plan.outputs[0].name;
  return {
    plan,
    facts: planFacts(plan, compileMs),
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
 * The training-step plan (forward in train mode, loss, backward, clipping, optimizer update: one
 * graph, one command encoder). Parameters and optimizer states are uploaded once; each step
 * writes the batch and reads the loss. The step's new parameters and states land in the plan's
 * output buffers; swapping them into place for the next step is the training runtime's job and
 * is not timed here (it changes no number of FLOPs, only a copy of 3× the parameter bytes).
 */
export async function vitcTrain(
  dev: VitcDevice,
  spec: Spec,
  params: ReadonlyMap<string, Float32Array>,
  batch: number,
): Promise<VitcTrainer> {
  const t0 = performance.now();
  const graph = buildTrainGraph(spec, { batch });
  const plan = selectKernels(graph, {
    spec: spec.name,
    specFile: `${spec.name}.vit`,
    batch,
    mode: 'train',
  });
  const compileMs = performance.now() - t0;
  const ex = await PlanExecutor.create(dev, plan);
  ex.setParams(new Map(params));
  const opt = spec.train.optimizer;
  const once: Record<string, Float32Array | Int32Array> = {};
  for (const [name, v] of optimizerScalars(opt, 1, opt.lr)) once[name] = Float32Array.from(v);
  for (const state of optimizerStates(opt))
    for (const p of modelParams(spec))
      once[`${state}.${p.name}`] = new Float32Array(p.shape.reduce((a, b) => a * b, 1));
  if (plan.inputs.some((i) => i.name === 'rng_seed')) once.rng_seed = Int32Array.of(1);
  const known = new Set(plan.inputs.map((i) => i.name));
  for (const k of Object.keys(once)) if (!known.has(k)) delete once[k];
  let first = true;
  return {
    plan,
    facts: planFacts(plan, compileMs),
    async step(images, labels) {
      const feeds = first ? { ...once, image: images, labels } : { image: images, labels };
      first = false;
      return (await ex.run(feeds, ['loss'])).loss[0];
    },
    destroy: () => ex.destroy(),
  };
}
