/**
 * A whole training run, as `vitc train` does it: data, the compiled training and eval plans,
 * epochs of steps with the learning-rate schedule, per-epoch evaluation, metrics.jsonl,
 * curves.png, last/best checkpoints, resume and interruption.
 *
 * Determinism: step t's batch is a pure function of (data, seed, epoch, position) (the loader),
 * its dropout seed of (seed, t), its lr of t; parameters and optimizer state are saved as the
 * exact float32 values on the GPU. So stopping anywhere and resuming from last.safetensors gives
 * the same loss sequence, bit for bit, as a run that never stopped.
 *
 * The last partial batch of every epoch is dropped: the plan is compiled for one batch size and
 * a padded batch would change the mean loss. Steps per epoch = floor(train images / batch).
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { learningRate, scheduleFor } from '../../compiler/autodiff/schedule.js';
import type { Spec, TrainSpec } from '../../compiler/spec/types.js';
import { BatchLoader, type LoaderOptions } from '../data/loader.js';
import { openDataset } from '../data/dataset.js';
import { DataError } from '../data/errors.js';
import { holdOut, subset } from '../data/holdout.js';
import type { Dataset } from '../data/types.js';
import { sharedDevice, type VitcDevice } from '../device.js';
import { initParams } from '../init.js';
import { PipelineCache } from '../pipelines.js';
import { WeightsError } from '../safetensors.js';
import {
  type Checkpoint,
  type CheckpointMeta,
  type WriteHooks,
  loadCheckpoint,
  saveCheckpoint,
} from './checkpoint.js';
import { writeCurves } from './curves.js';
import { Evaluator, classNames } from './evaluate.js';
import { MetricsLog, Window } from './metrics.js';
import { Progress } from './progress.js';
import { type StepResult, Trainer } from './trainer.js';

/** Command-line values that replace the spec's train block. */
export interface TrainOverrides {
  epochs?: number;
  batch?: number;
  lr?: number;
  weightDecay?: number;
  warmup?: number;
  smoothing?: number;
  /** null: no clipping. */
  clip?: number | null;
  /** Sets train.seed (data order, augmentation, dropout) and the initialization seed. */
  seed?: number;
}

export interface TrainRunOptions {
  spec: Spec;
  specFile: string;
  /** `--data` source; on resume defaults to the checkpoint's. */
  data?: string;
  out: string;
  /** A run folder holding last.safetensors to continue from. */
  resume?: string;
  overrides?: TrainOverrides;
  /** Use only the first N training (test) images. */
  limit?: number;
  testLimit?: number;
  /**
   * Hold this fraction of the training images out as a validation part (runtime/data/holdout.ts);
   * the best checkpoint is then chosen by validation accuracy, not test accuracy. On resume
   * defaults to the checkpoint's.
   */
  val?: number;
  device?: VitcDevice;
  /** Progress and notices (stderr), and the per-epoch summary lines (stdout). */
  log?: (text: string) => void;
  print?: (text: string) => void;
  tty?: boolean;
  /** Seconds between plain progress lines without a terminal (default 10). */
  progressInterval?: number;
  /** Aborting finishes the current step, saves last.safetensors and returns 'interrupted'. */
  signal?: AbortSignal;
  /** Every step's loss, in order, as it is read back. */
  onStep?: (r: StepResult) => void;
  /** A metrics.jsonl step record every N steps (default 50). */
  logEvery?: number;
  /**
   * Steps the CPU may run ahead of the GPU (default 2): results are read as steps finish, and
   * step t+1 is queued before step t's result is awaited, so the GPU never idles on the CPU.
   */
  inFlight?: number;
  hooks?: WriteHooks;
  version?: string;
}

export interface TrainRunResult {
  status: 'done' | 'interrupted';
  step: number;
  totalSteps: number;
  epoch: number;
  last: string;
  /** The best checkpoint; `on`: the split it was chosen by. */
  best: { accuracy: number; step: number; path: string; on: 'val' | 'test' } | null;
  records: number;
}

export function applyOverrides(train: TrainSpec, o: TrainOverrides = {}): TrainSpec {
  return {
    ...train,
    epochs: o.epochs ?? train.epochs,
    batch: o.batch ?? train.batch,
    optimizer: {
      ...train.optimizer,
      lr: o.lr ?? train.optimizer.lr,
      weightDecay: o.weightDecay ?? train.optimizer.weightDecay,
    },
    schedule: { ...train.schedule, warmup: o.warmup ?? train.schedule.warmup },
    smoothing: o.smoothing ?? train.smoothing,
    clip: o.clip === undefined ? train.clip : o.clip,
    seed: o.seed ?? train.seed,
  };
}

/** The first `n` samples of a data set (`--limit`). */
export function firstN(ds: Dataset, n: number | undefined | null): Dataset {
  if (n === undefined || n === null || n >= ds.size) return ds;
  return subset(
    ds,
    Array.from({ length: n }, (_, i) => i),
    ds.name,
  );
}

const now = () => performance.now() / 1000;

export async function trainModel(opts: TrainRunOptions): Promise<TrainRunResult> {
  const log = opts.log ?? ((t: string) => void process.stderr.write(t));
  const print = opts.print ?? ((t: string) => void process.stdout.write(t));
  const ck: Checkpoint | null = opts.resume
    ? await loadCheckpoint(join(opts.resume, 'last.safetensors'), opts.spec)
    : null;
  const meta = ck?.meta;
  const train = applyOverrides(meta ? meta.train : opts.spec.train, opts.overrides);
  const initSeed = meta ? meta.initSeed : (opts.overrides?.seed ?? opts.spec.init.seed);
  const spec: Spec = { ...opts.spec, train, init: { ...opts.spec.init, seed: initSeed } };
  const source = opts.data ?? meta?.data.source;
  if (!source) throw new Error('trainModel: no data source');
  const limit = opts.limit ?? meta?.data.limit ?? null;
  const testLimit = opts.testLimit ?? meta?.data.testLimit ?? null;

  const val = opts.val ?? meta?.data.val ?? null;
  if (meta && (meta.data.val ?? null) !== val)
    throw new DataError(
      'options',
      join(opts.resume!, 'last.safetensors'),
      `the run held out ${meta.data.val ?? 'no'} validation fraction; --val ${val} would change the training images`,
      'resume without --val (the checkpoint keeps the split)',
    );
  const fullTrain = firstN(await openDataset(source, 'train'), limit);
  const split = val !== null ? holdOut(fullTrain, val, train.seed) : null;
  const trainDs = split ? split.train : fullTrain;
  const valDs = split?.val ?? null;
  const testDs = firstN(await openDataset(source, 'test'), testLimit);
  const K = spec.head.classes;
  classNames(trainDs.classes, K, trainDs.name); // refuses a data set with more classes than the head
  const loaderOpts: LoaderOptions = {
    batch: train.batch,
    shuffle: true,
    seed: train.seed,
    spec,
    augment: train.augment,
    dropLast: true,
    prefetch: 2,
  };
  const loader = meta
    ? BatchLoader.restore(trainDs, loaderOpts, meta.loader)
    : new BatchLoader(trainDs, loaderOpts);
  const stepsPerEpoch = loader.batchesPerEpoch;
  const totalSteps = train.epochs * stepsPerEpoch;
  const schedule = scheduleFor(train, stepsPerEpoch);

  try {
    await mkdir(opts.out, { recursive: true });
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new WeightsError(412, opts.out, `cannot create the run folder: ${why}`);
  }
  const lastPath = join(opts.out, 'last.safetensors');
  const bestPath = join(opts.out, 'best.safetensors');
  const metricsPath = join(opts.out, 'metrics.jsonl');
  const curvesPath = join(opts.out, 'curves.png');
  let step = meta?.step ?? 0;
  let best = meta?.best ?? null;
  const metrics = meta
    ? await MetricsLog.resume(metricsPath, join(opts.resume!, 'metrics.jsonl'), step)
    : MetricsLog.fresh(metricsPath);

  const dev = opts.device ?? (await sharedDevice());
  const cache = new PipelineCache(dev.device);
  const trainer = await Trainer.create(dev, spec, {
    batch: train.batch,
    specFile: opts.specFile,
    cache,
  });
  const evaluator = await Evaluator.create(dev, spec, {
    batch: train.batch,
    specFile: opts.specFile,
    cache,
  });
  const progress = new Progress(log, opts.tty ?? false, opts.progressInterval ?? 10);
  try {
    trainer.setState(ck ? ck.params : initParams(spec, initSeed), ck?.optim);
    log(
      `vitc: training ${spec.name} on ${trainDs.name} (${trainDs.size} images${valDs ? `, ${valDs.size} held out for validation` : ''}, ${stepsPerEpoch} steps of ${train.batch} per epoch` +
        `${trainDs.size % train.batch ? `, last ${trainDs.size % train.batch} dropped` : ''}), ` +
        `${train.epochs} epochs; device: ${dev.info.description}\n`,
    );
    if (meta)
      log(
        `vitc: resuming ${resolve(opts.resume!, 'last.safetensors')} at step ${step} (epoch ${meta.loader.epoch + 1}, batch ${meta.loader.position})\n`,
      );

    const window = new Window();
    const epochSums = new Window();
    window.restore(meta?.sums.window);
    epochSums.restore(meta?.sums.epoch);
    const elapsed0 = meta?.elapsed ?? 0;
    const t0 = now();
    const elapsed = () => elapsed0 + now() - t0;
    const logEvery = opts.logEvery ?? 50;
    const inFlight = Math.max(0, Math.min(opts.inFlight ?? 2, trainer.window - 1));
    let lastDone = now();
    let stepsDone = step; // collected (finished) steps; `step` counts submitted ones
    let windowStart = now();
    let epochStart = now();
    let epochImages = 0;
    let secondsPerStep = NaN;
    let lastLoss = NaN;

    const makeMeta = (): CheckpointMeta => ({
      spec: spec.name,
      version: opts.version ?? 'unknown',
      step,
      epoch: Math.floor(step / stepsPerEpoch),
      loader: loader.state(),
      train,
      initSeed,
      rng: { scheme: 'rng_seed(t) = hashInts([train.seed, 4, t]) | 0', seed: train.seed },
      data: { source, limit, testLimit, ...(val !== null ? { val } : {}) },
      best,
      elapsed: elapsed(),
      sums: { epoch: epochSums.sums(), window: window.sums() },
    });
    const save = async (paths: string[]) => {
      const state = await trainer.readState();
      const c: Checkpoint = { ...state, meta: makeMeta() };
      for (const p of paths) await saveCheckpoint(p, spec, c, opts.hooks);
    };
    const show = (force = false) =>
      progress.update(
        {
          // The epoch of the last step done (the loader already points at the next batch).
          epoch: Math.min(train.epochs - 1, Math.floor(Math.max(0, stepsDone - 1) / stepsPerEpoch)),
          epochs: train.epochs,
          step: stepsDone,
          total: totalSteps,
          loss: lastLoss,
          imagesPerSecond: epochImages / Math.max(1e-9, now() - epochStart),
          eta: (totalSteps - stepsDone) * secondsPerStep,
        },
        force,
      );
    // Bookkeeping of finished steps: losses, metrics records, timing, the progress line.
    const consume = async (results: StepResult[]) => {
      if (results.length === 0) return;
      const t0 = lastDone;
      const dt = (now() - t0) / results.length;
      secondsPerStep = Number.isFinite(secondsPerStep) ? 0.8 * secondsPerStep + 0.2 * dt : dt;
      lastDone = now();
      for (const [k, r] of results.entries()) {
        // Steps read back together finished at roughly even intervals since the last read.
        const t = t0 + (k + 1) * dt;
        stepsDone = r.step + 1;
        opts.onStep?.(r);
        lastLoss = r.loss;
        window.add(r.loss, r.correct, r.size);
        epochSums.add(r.loss, r.correct, r.size);
        epochImages += r.size;
        if ((r.step + 1) % logEvery === 0) {
          await metrics.append({
            kind: 'step',
            epoch: Math.floor(r.step / stepsPerEpoch),
            step: r.step + 1,
            lr: learningRate(schedule, r.step),
            loss: window.meanLoss,
            train_acc: window.accuracy,
            images_per_s: window.samples / Math.max(1e-9, t - windowStart),
            elapsed: elapsed(),
          });
          window.reset();
          windowStart = t;
        }
      }
      show();
    };

    // The end of an epoch: evaluate, log, checkpoint, redraw the curves.
    const finishEpoch = async (epoch: number) => {
      show(true); // a plain-line log gets the epoch's final state whatever the interval
      progress.end();
      const trainSeconds = Math.max(1e-9, now() - epochStart);
      const te = now();
      evaluator.copyParamsFrom(trainer.exec);
      const evaluate = (ds: Dataset) =>
        evaluator.evaluate(ds, {
          onProgress: (d, n) => opts.tty && log(`\revaluating ${ds.name} ${d}/${n}\x1b[K`),
        });
      const v = valDs ? await evaluate(valDs) : null;
      const s = await evaluate(testDs);
      if (opts.tty) log('\r\x1b[K');
      // The best checkpoint is chosen on the held-out part when there is one.
      const chosen = v ?? s;
      const improved = best === null || chosen.accuracy > best.accuracy;
      if (improved) best = { accuracy: chosen.accuracy, step };
      const ips = epochImages / trainSeconds;
      await metrics.append({
        kind: 'epoch',
        epoch,
        step,
        lr: learningRate(schedule, step - 1),
        loss: epochSums.meanLoss,
        train_acc: epochSums.accuracy,
        test_acc: s.accuracy,
        test_loss: s.loss,
        ...(v ? { val_acc: v.accuracy, val_loss: v.loss } : {}),
        images_per_s: ips,
        elapsed: elapsed(),
      });
      const pct = (v: number) => `${(v * 100).toFixed(2)}%`;
      print(
        `epoch ${epoch + 1}/${train.epochs}  train loss ${epochSums.meanLoss.toFixed(4)} acc ${pct(epochSums.accuracy)}` +
          (v ? `  val loss ${v.loss.toFixed(4)} acc ${pct(v.accuracy)}` : '') +
          `  test loss ${s.loss.toFixed(4)} acc ${pct(s.accuracy)}${improved ? ' (best)' : ''}` +
          `  [${ips.toFixed(1)} img/s, eval ${(now() - te).toFixed(1)}s]\n`,
      );
      epochSums.reset();
      await save(improved ? [lastPath, bestPath] : [lastPath]);
      await writeCurves(curvesPath, metrics.records, spec.name);
    };

    // A run stopped right after an epoch's last step (before its evaluation) evaluates it now.
    const epochDone = step > 0 && step % stepsPerEpoch === 0;
    if (epochDone && !metrics.records.some((r) => r.kind === 'epoch' && r.step === step))
      await finishEpoch(step / stepsPerEpoch - 1);

    let interrupted = false;
    while (step < totalSteps && !interrupted) {
      const epoch = loader.epoch;
      epochStart = lastDone = windowStart = now();
      epochImages = 0;
      for await (const b of loader) {
        trainer.step(b.images, b.labels, step, learningRate(schedule, step));
        step++;
        await consume(await trainer.collect(inFlight));
        if (opts.signal?.aborted) {
          interrupted = true;
          break;
        }
      }
      await consume(await trainer.flush());
      if (interrupted) {
        // Mid-epoch (or before the epoch's evaluation): the loader state says where to go on.
        progress.end();
        await save([lastPath]);
        if (metrics.records.length) await writeCurves(curvesPath, metrics.records, spec.name);
        break;
      }
      await finishEpoch(epoch);
      if (opts.signal?.aborted && step < totalSteps) interrupted = true;
    }
    progress.end();
    return {
      status: interrupted ? 'interrupted' : 'done',
      step,
      totalSteps,
      epoch: Math.floor(step / stepsPerEpoch),
      last: lastPath,
      best: best && { ...best, path: bestPath, on: valDs ? 'val' : 'test' },
      records: metrics.records.length,
    };
  } finally {
    trainer.destroy();
    evaluator.destroy();
  }
}
