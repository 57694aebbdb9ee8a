/**
 * Training checkpoints: one safetensors file holding the timm-named weights (so `vitc run
 * --weights` and timm read it as a plain state_dict), the optimizer state as `optim.{state}.{p}`
 * tensors, and in `__metadata__` everything else a bit-identical resume needs (global step,
 * epoch, the data loader's JSON state, the seeds, the effective training configuration).
 *
 * Writes are atomic: the bytes go to `PATH.tmp-PID`, are flushed to disk, and only then renamed
 * over PATH; a failure (or a kill) at any point leaves the previous checkpoint as it was.
 */
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { optimizerStates, type OptimizerConfig } from '../../compiler/autodiff/optim.js';
import { modelParams } from '../../compiler/spec/params.js';
import type { Spec, TrainSpec } from '../../compiler/spec/types.js';
import type { LoaderState } from '../data/loader.js';
import {
  type TensorToWrite,
  WeightsError,
  encodeSafetensors,
  parseSafetensors,
  readFileBytes,
  tensorData,
} from '../safetensors.js';
import { readWeights } from '../weights.js';

/** Tensors whose names start with this are optimizer state, not weights (loaders skip them). */
export const OPTIM_PREFIX = 'optim.';
/** The `ignore` option for runtime/weights.ts loadWeights: reads a checkpoint as plain weights. */
export const OPTIM_TENSORS = /^optim\./;
export const CHECKPOINT_FORMAT = 'vitc-checkpoint-1';

/** The run-level facts saved with a checkpoint (`__metadata__`, JSON-encoded where not a string). */
export interface CheckpointMeta {
  /** Model name (spec.name); a resume with another model is refused. */
  spec: string;
  version: string;
  /** Optimizer steps done (the next step is `step`, 0-based). */
  step: number;
  /** Epochs fully done. */
  epoch: number;
  loader: LoaderState;
  /** The effective training configuration (spec.train after command-line overrides). */
  train: TrainSpec;
  /** Parameter initialization seed used at step 0. */
  initSeed: number;
  /** Dropout seed of step t = hashInts([train.seed, STREAM_DROPOUT, t]); stored for the record. */
  rng: { scheme: string; seed: number };
  /** The `--data` source and `--limit` of the run. */
  /** `val`: the held-out fraction of a run trained with `--val` (absent otherwise). */
  data: { source: string; limit: number | null; testLimit: number | null; val?: number };
  /**
   * Best accuracy so far (for best.safetensors) and the step it was reached at: on the held-out
   * validation part with `--val`, else on the test split.
   */
  best: { accuracy: number; step: number } | null;
  /** Seconds of training so far, so elapsed time continues across resumes. */
  elapsed: number;
  /** Sums of the unfinished epoch and metrics window, so a mid-epoch resume logs the same means. */
  sums: { epoch: WindowSums; window: WindowSums };
}

export interface WindowSums {
  loss: number;
  correct: number;
  samples: number;
  steps: number;
}

export interface Checkpoint {
  params: Map<string, Float32Array>;
  /** `{state}.{param}` → values (e.g. `exp_avg.head.weight`). */
  optim: Map<string, Float32Array>;
  meta: CheckpointMeta;
}

export interface WriteHooks {
  /** Called after the temporary file is complete and before the rename (tests inject failures). */
  beforeRename?: (tmpPath: string) => void | Promise<void>;
}

function fail(file: string, detail: string, code = 414): never {
  throw new WeightsError(code, file, detail);
}

/** Safetensors bytes of a checkpoint. */
export function encodeCheckpoint(spec: Spec, ck: Checkpoint, target = '<bytes>'): Uint8Array {
  const tensors: TensorToWrite[] = [];
  for (const p of modelParams(spec)) {
    const data = ck.params.get(p.name);
    if (!data) fail(target, `parameter ${p.name} is missing`, 415);
    tensors.push({ name: p.name, dtype: 'F32', shape: p.shape, data });
  }
  for (const s of optimizerStates(ck.meta.train.optimizer))
    for (const p of modelParams(spec)) {
      const data = ck.optim.get(`${s}.${p.name}`);
      if (!data) fail(target, `optimizer state ${s}.${p.name} is missing`, 415);
      tensors.push({ name: `${OPTIM_PREFIX}${s}.${p.name}`, dtype: 'F32', shape: p.shape, data });
    }
  const m = ck.meta;
  const metadata: Record<string, string> = {
    format: 'pt',
    'vitc.format': CHECKPOINT_FORMAT,
    'vitc.spec': m.spec,
    'vitc.version': m.version,
    'vitc.step': String(m.step),
    'vitc.epoch': String(m.epoch),
    'vitc.loader': JSON.stringify(m.loader),
    'vitc.train': JSON.stringify(m.train),
    'vitc.init_seed': String(m.initSeed),
    'vitc.rng': JSON.stringify(m.rng),
    'vitc.data': JSON.stringify(m.data),
    'vitc.best': JSON.stringify(m.best),
    'vitc.elapsed': String(m.elapsed),
    'vitc.sums': JSON.stringify(m.sums),
  };
  return encodeSafetensors(tensors, metadata, target);
}

/** Writes `bytes` to `path` atomically: temp file, fsync, rename, fsync of the folder. */
export async function writeAtomic(
  path: string,
  bytes: Uint8Array,
  hooks: WriteHooks = {},
): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const fh = await open(tmp, 'w');
    try {
      await fh.writeFile(bytes);
      // Without the fsync a power loss after the rename could leave an empty file at `path`.
      await fh.sync();
    } finally {
      await fh.close();
    }
    await hooks.beforeRename?.(tmp);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true }).catch(() => undefined);
    if (e instanceof WeightsError) throw e;
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    fail(
      path,
      `cannot write the checkpoint: ${why} (the previous file, if any, is unchanged)`,
      412,
    );
  }
  // Make the rename itself durable; not every file system lets a folder be opened, so best effort.
  try {
    const dir = await open(dirname(path), 'r');
    await dir.sync().finally(() => dir.close());
  } catch {
    // ignored: the data is safe, only the directory entry's durability is not forced
  }
}

export async function saveCheckpoint(
  path: string,
  spec: Spec,
  ck: Checkpoint,
  hooks: WriteHooks = {},
): Promise<void> {
  await writeAtomic(path, encodeCheckpoint(spec, ck, path), hooks);
}

function parseMeta(path: string, md: Record<string, string>): CheckpointMeta {
  if (md['vitc.format'] !== CHECKPOINT_FORMAT)
    fail(
      path,
      `not a vitc training checkpoint (metadata vitc.format is ${JSON.stringify(md['vitc.format'] ?? null)}, expected "${CHECKPOINT_FORMAT}"); ` +
        'plain weights can be evaluated or run, but not resumed',
    );
  const json = (key: string): unknown => {
    try {
      return JSON.parse(md[key] ?? '');
    } catch {
      return fail(path, `checkpoint metadata ${key} is missing or not valid JSON`, 410);
    }
  };
  const int = (key: string): number => {
    const v = Number(md[key]);
    if (!Number.isSafeInteger(v) || v < 0)
      fail(path, `checkpoint metadata ${key} is not a non-negative integer (${md[key]})`, 410);
    return v;
  };
  const elapsed = Number(md['vitc.elapsed']);
  const train = json('vitc.train') as TrainSpec;
  if (!train || typeof train !== 'object' || !train.optimizer)
    fail(path, 'checkpoint metadata vitc.train is not a training configuration', 410);
  return {
    spec: md['vitc.spec'] ?? '',
    version: md['vitc.version'] ?? 'unknown',
    step: int('vitc.step'),
    epoch: int('vitc.epoch'),
    loader: json('vitc.loader') as LoaderState,
    train,
    initSeed: int('vitc.init_seed'),
    rng: json('vitc.rng') as CheckpointMeta['rng'],
    data: json('vitc.data') as CheckpointMeta['data'],
    best: json('vitc.best') as CheckpointMeta['best'],
    elapsed: Number.isFinite(elapsed) ? elapsed : 0,
    sums: json('vitc.sums') as CheckpointMeta['sums'],
  };
}

/**
 * Reads a checkpoint written by saveCheckpoint for `spec`: weights checked as runtime/weights.ts
 * checks them, every optimizer state tensor present with its parameter's shape, metadata parsed.
 * Any problem is a WeightsError naming the file.
 */
export async function loadCheckpoint(path: string, spec: Spec): Promise<Checkpoint> {
  const bytes = await readFileBytes(path);
  const file = parseSafetensors(bytes, path);
  const meta = parseMeta(path, file.metadata);
  if (meta.spec !== spec.name)
    fail(path, `checkpoint is of model "${meta.spec}", not "${spec.name}"`);
  const { params } = readWeights(spec, bytes, {
    source: path,
    ignore: OPTIM_TENSORS,
    onNotice: () => {},
  });
  const optim = new Map<string, Float32Array>();
  const problems: string[] = [];
  const opt: OptimizerConfig = meta.train.optimizer;
  for (const s of optimizerStates(opt))
    for (const p of modelParams(spec)) {
      const name = `${OPTIM_PREFIX}${s}.${p.name}`;
      const info = file.tensors.get(name);
      const count = p.shape.reduce((a, b) => a * b, 1);
      if (!info) problems.push(`  missing    ${name}`);
      else if (info.dtype !== 'F32' || info.shape.reduce((a, b) => a * b, 1) !== count)
        problems.push(
          `  shape      ${name}: expected F32 [${p.shape.join(', ')}], found ${info.dtype} [${info.shape.join(', ')}]`,
        );
      else optim.set(`${s}.${p.name}`, tensorData(file, name) as Float32Array);
    }
  if (problems.length)
    fail(
      path,
      `optimizer state does not match model "${spec.name}" (${opt.kind}):\n${problems.slice(0, 20).join('\n')}`,
    );
  return { params, optim, meta };
}

/** Optimizer state for a fresh run: every `{state}.{param}` zero, as torch starts it. */
export function zeroOptimizerState(spec: Spec, opt: OptimizerConfig): Map<string, Float32Array> {
  const m = new Map<string, Float32Array>();
  for (const s of optimizerStates(opt))
    for (const p of modelParams(spec))
      m.set(`${s}.${p.name}`, new Float32Array(p.shape.reduce((a, b) => a * b, 1)));
  return m;
}
