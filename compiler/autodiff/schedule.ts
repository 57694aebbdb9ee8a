// The learning-rate schedule, evaluated on the CPU once per optimizer step and fed to the
// training graph as its `lr` input (one compiled graph serves every step).
//
// It follows timm's schedulers updated per step (t_in_epochs=False, warmup_prefix=False, one
// cycle), as timm's train.py and DeiT use them, with t the 0-based index of the step:
//   t < W:   lr = warmupInit + t·(lr - warmupInit)/W                      (linear warmup)
//   cosine:  lr = minLr + (lr - minLr)·(1 + cos(π·t/T))/2                 (CosineLRScheduler)
//   linear:  lr = minLr + (lr - minLr)·(1 - t/T)                          (PolyLRScheduler, power 1)
//   constant: lr
// where W = warmup steps and T = total steps; t ≥ T gives minLr (constant: lr). As in timm the
// decay is measured from step 0, not from the end of the warmup.
import type { TrainSpec } from '../spec/types.js';

export interface LrSchedule {
  /** Peak learning rate. */
  lr: number;
  minLr: number;
  kind: TrainSpec['schedule']['kind'];
  warmupSteps: number;
  totalSteps: number;
  /** Learning rate of step 0 when there is a warmup. */
  warmupInit: number;
}

/**
 * The spec's schedule in steps. Warmup and decay are given in epochs; `stepsPerEpoch` is the
 * number of optimizer steps per epoch (ceil(dataset / batch) with a partial last batch).
 * warmupInit defaults to DeiT's warmup_lr 1e-6 (or lr, if that is smaller).
 */
export function scheduleFor(
  train: TrainSpec,
  stepsPerEpoch: number,
  opts: { warmupInit?: number } = {},
): LrSchedule {
  if (!(Number.isInteger(stepsPerEpoch) && stepsPerEpoch > 0))
    throw new Error(`scheduleFor: stepsPerEpoch must be a positive integer, got ${stepsPerEpoch}`);
  const lr = train.optimizer.lr;
  return {
    lr,
    minLr: train.schedule.minLr,
    kind: train.schedule.kind,
    warmupSteps: Math.round(train.schedule.warmup * stepsPerEpoch),
    totalSteps: train.epochs * stepsPerEpoch,
    warmupInit: opts.warmupInit ?? Math.min(1e-6, lr),
  };
}

/** The learning rate of 0-based step t. */
export function learningRate(s: LrSchedule, t: number): number {
  if (!(Number.isInteger(t) && t >= 0))
    throw new Error(`learningRate: step must be a non-negative integer, got ${t}`);
  if (t < s.warmupSteps) return s.warmupInit + (t * (s.lr - s.warmupInit)) / s.warmupSteps;
  if (s.kind === 'constant') return s.lr;
  if (t >= s.totalSteps) return s.minLr;
  const frac = t / s.totalSteps;
  const decay = s.kind === 'cosine' ? 0.5 * (1 + Math.cos(Math.PI * frac)) : 1 - frac;
  return s.minLr + (s.lr - s.minLr) * decay;
}
