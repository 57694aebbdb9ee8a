// loadModel: a compiled model on a GPUDevice, ready for forward passes.
//   const model = await loadModel('specs/vit-base.vit', { weights: 'w.safetensors' });
//   const logits = await model.forward(images);   // Float32Array [n, classes]
//   model.destroy();
// The source is a spec file (compiled on the fly, in memory) or a generated/<name> folder
// (plan.json + spec.json written by `vitc compile`).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { halfStorage } from '../compiler/codegen/half-storage.js';
import { assertValidPlan } from '../compiler/codegen/plan-schema.js';
import type { Plan } from '../compiler/codegen/plan.js';
import { VitcError } from '../compiler/diagnostics.js';
import { compileSpec } from '../compiler/pipeline.js';
import type { TuneStore } from './autotune.js';
import { FileTuneStore } from './autotune-file.js';
import { resolveSpec } from '../compiler/spec/load.js';
import type { Spec } from '../compiler/spec/types.js';
import { type VitcDevice, sharedDevice } from './device.js';
import { PlanExecutor } from './executor.js';
import { initParams } from './init.js';
import { loadWeights } from './weights.js';

export interface LoadModelOptions {
  /** safetensors file (timm or Hugging Face names). Without it: seeded init, with a warning. */
  weights?: string | Uint8Array;
  /** Batch size to compile for (spec sources only; default 1). Larger inputs run in chunks. */
  batch?: number;
  /** Which model of the spec file (default: the last one). */
  model?: string;
  /** Compile the attention variant up front (otherwise it is compiled on the first forward(x, { attention: true })). */
  attention?: boolean;
  device?: VitcDevice;
  /**
   * Autotune the matmul tile shapes on this device (runtime/autotune.ts): true keeps the choices
   * in ~/.cache/vitc/autotune.json ($VITC_TUNE_CACHE), or pass a TuneStore. Spec sources only:
   * a compiled folder's plan has no alternatives to choose from.
   */
  tune?: boolean | TuneStore;
  /** Where warnings go (default stderr). */
  warn?: (line: string) => void;
  /**
   * 'f16' keeps weights and activations in f16 buffers (half the memory and traffic, f32
   * arithmetic; logits move by ~1e-3 relative). Needs an adapter with 'shader-f16'.
   */
  precision?: 'f32' | 'f16';
}

export interface ForwardResult {
  /** [n, classes] (or [n, width] when the head has 0 classes). */
  logits: Float32Array;
  /** attn.{i}: [n, heads, tokens, tokens], when asked for with { attention: true }. */
  attention?: Float32Array[];
}

export interface Model {
  spec: Spec;
  plan: Plan;
  /** Weights source: a file name, 'bytes', or 'init(seed N)'. */
  weightsSource: string;
  /** images: [n, C, H, W] preprocessed; returns the model output for each image. */
  forward(images: Float32Array): Promise<Float32Array>;
  /** The same, plus every block's attention probabilities (a separately compiled plan). */
  forward(images: Float32Array, opts: { attention: true }): Promise<ForwardResult>;
  forwardWithAttention(images: Float32Array): Promise<ForwardResult>;
  destroy(): void;
}

/** Compiles a spec (file path) into a plan, or throws a VitcError with located diagnostics. */
export function compile(
  specFile: string,
  opts: {
    batch?: number;
    model?: string;
    attention?: boolean;
    tune?: boolean;
    precision?: 'f32' | 'f16';
  } = {},
): { spec: Spec; plan: Plan } {
  const r = resolveSpec(specFile, opts.model);
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  if (!r.spec || errors.length) throw new VitcError(errors.length ? errors : r.diagnostics);
  const { plan } = compileSpec(r.spec, {
    batch: opts.batch ?? 1,
    specFile,
    attention: opts.attention,
    tune: opts.tune,
    precision: opts.precision,
    dump: [],
  });
  return { spec: r.spec, plan };
}

function loadGenerated(dir: string): { spec: Spec; plan: Plan } {
  const planPath = join(dir, 'plan.json');
  const specPath = join(dir, 'spec.json');
  if (!existsSync(planPath) || !existsSync(specPath))
    throw new Error(
      `${dir}: not a compiled model (expected plan.json and spec.json; run \`vitc compile\`)`,
    );
  const plan: unknown = JSON.parse(readFileSync(planPath, 'utf8'));
  assertValidPlan(plan, planPath);
  return { spec: JSON.parse(readFileSync(specPath, 'utf8')) as Spec, plan };
}

export async function loadModel(source: string, opts: LoadModelOptions = {}): Promise<Model> {
  const warn = opts.warn ?? ((l: string) => void process.stderr.write(l + '\n'));
  const isDir = existsSync(source) && statSync(source).isDirectory();
  const loaded = isDir ? loadGenerated(source) : compile(source, { ...opts, tune: !!opts.tune });
  const { spec } = loaded;
  // A compiled folder holds the f32 plan; the f16 one is the same plan through halfStorage.
  const plan = isDir && opts.precision === 'f16' ? halfStorage(loaded.plan) : loaded.plan;
  if (opts.tune && isDir)
    warn(
      `vitc: ${source} is a compiled folder: its plan has no tile alternatives, nothing to tune`,
    );
  const store =
    opts.tune === true ? await FileTuneStore.open(undefined, warn) : opts.tune || undefined;
  let params: Map<string, Float32Array>;
  let weightsSource: string;
  if (opts.weights !== undefined) {
    // `optim.*` tensors are the optimizer state of a vitc training checkpoint (runtime/train), not weights.
    params = await loadWeights(spec, opts.weights, { onNotice: warn, ignore: /^optim\./ });
    weightsSource = typeof opts.weights === 'string' ? opts.weights : 'bytes';
  } else {
    warn(
      `vitc: WARNING: no --weights given: using RANDOM seeded initialization (seed ${spec.init.seed}); outputs are meaningless`,
    );
    params = initParams(spec);
    weightsSource = `init(seed ${spec.init.seed})`;
  }
  const dev = opts.device ?? (await sharedDevice());
  const executors: PlanExecutor[] = [];
  const runnerFor = async (p: Plan): Promise<Runner> => {
    const ex = await PlanExecutor.create(dev, p);
    executors.push(ex);
    if (store) await ex.autotune(store);
    ex.setParams(params);
    return makeRunner(p, ex);
  };
  const main = await runnerFor(plan);
  // Attention maps come from a separately compiled plan that also outputs every block's softmax
  // probabilities, built on first request: the normal forward keeps its fused kernels and pays
  // nothing. A model loaded with { attention: true } compiled that plan up front.
  let attn: Promise<Runner> | undefined = opts.attention ? Promise.resolve(main) : undefined;
  const attentionRunner = () =>
    (attn ??= runnerFor(
      compileSpec(spec, {
        batch: plan.batch,
        specFile: plan.specFile,
        attention: true,
        tune: !!store,
        precision: opts.precision,
        dump: [],
      }).plan,
    ));

  async function forward(images: Float32Array): Promise<Float32Array>;
  async function forward(images: Float32Array, o: { attention: true }): Promise<ForwardResult>;
  async function forward(
    images: Float32Array,
    o?: { attention?: boolean },
  ): Promise<Float32Array | ForwardResult> {
    if (o?.attention) return (await attentionRunner())(images, true);
    return (await main(images, false)).logits;
  }

  return {
    spec,
    plan,
    weightsSource,
    forward,
    forwardWithAttention: (images) => forward(images, { attention: true }),
    destroy: () => executors.forEach((e) => e.destroy()),
  };
}

type Runner = (images: Float32Array, withAttn: boolean) => Promise<ForwardResult>;

/** Runs images through a fixed-batch plan in chunks, padding the last one with zeros. */
function makeRunner(plan: Plan, ex: PlanExecutor): Runner {
  const image = plan.inputs.find((i) => i.name === 'image')!;
  const per = image.shape.slice(1).reduce((a, b) => a * b, 1);
  const outName = plan.outputs[0].name;
  const attnNames = plan.outputs.filter((o) => o.name.startsWith('attn.')).map((o) => o.name);
  return async (images, withAttn) => {
    if (images.length % per !== 0)
      throw new Error(
        `input has ${images.length} values, not a multiple of one image [${image.shape.slice(1)}] (${per})`,
      );
    const n = images.length / per;
    const outWidth = plan.outputs[0].shape[1];
    const logits = new Float32Array(n * outWidth);
    const attnParts: Float32Array[][] = attnNames.map(() => []);
    for (let s = 0; s < n; s += plan.batch) {
      const m = Math.min(plan.batch, n - s);
      const chunk = new Float32Array(plan.batch * per);
      chunk.set(images.subarray(s * per, (s + m) * per));
      const out = await ex.run({ image: chunk }, withAttn ? [outName, ...attnNames] : [outName]);
      logits.set(out[outName].subarray(0, m * outWidth), s * outWidth);
      if (withAttn)
        attnNames.forEach((a, i) => {
          const t = out[a];
          attnParts[i].push(t.slice(0, (t.length / plan.batch) * m));
        });
    }
    if (!withAttn) return { logits };
    const attention = attnParts.map((parts) => {
      const all = new Float32Array(parts.reduce((x, p) => x + p.length, 0));
      let at = 0;
      for (const p of parts) {
        all.set(p, at);
        at += p.length;
      }
      return all;
    });
    return { logits, attention };
  };
}
