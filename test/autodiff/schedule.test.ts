// The learning-rate schedule: values computed by hand from timm's formulas (schedule.ts).
import { describe, expect, it } from 'vitest';
import { type LrSchedule, learningRate, scheduleFor } from '../../compiler/autodiff/schedule.js';
import type { TrainSpec } from '../../compiler/spec/types.js';

const train = (kind: 'cosine' | 'linear' | 'constant'): TrainSpec => ({
  batch: 8,
  epochs: 10,
  optimizer: {
    kind: 'adamw',
    lr: 1e-3,
    weightDecay: 0.05,
    betas: [0.9, 0.999],
    eps: 1e-8,
    momentum: 0.9,
  },
  schedule: { warmup: 2, kind, minLr: 1e-5 },
  smoothing: 0.1,
  clip: null,
  precision: 'f32',
  seed: 0,
  augment: { flip: false, cropPadding: 0 },
});

describe('learning-rate schedule', () => {
  const cos = scheduleFor(train('cosine'), 5); // W = 10 steps, T = 50 steps

  it('converts epochs to steps', () => {
    expect(cos).toEqual({
      lr: 1e-3,
      minLr: 1e-5,
      kind: 'cosine',
      warmupSteps: 10,
      totalSteps: 50,
      warmupInit: 1e-6,
    } satisfies LrSchedule);
  });

  it('warms up linearly from warmupInit', () => {
    expect(learningRate(cos, 0)).toBe(1e-6);
    expect(learningRate(cos, 5)).toBeCloseTo(5.005e-4, 15); // 1e-6 + 5·(1e-3 - 1e-6)/10
    expect(learningRate(cos, 9)).toBeCloseTo(9.001e-4, 15);
  });

  it('decays by cosine measured from step 0, to minLr', () => {
    // 1e-5 + 0.99e-3·(1 + cos(π/5))/2 = 1e-5 + 0.99e-3·0.904508497…
    expect(learningRate(cos, 10)).toBeCloseTo(9.05463412e-4, 12);
    expect(learningRate(cos, 25)).toBeCloseTo(5.05e-4, 15);
    expect(learningRate(cos, 49)).toBeCloseTo(
      1e-5 + 0.99e-3 * 0.5 * (1 + Math.cos((49 * Math.PI) / 50)),
      18,
    );
    expect(learningRate(cos, 50)).toBe(1e-5);
    expect(learningRate(cos, 1000)).toBe(1e-5);
  });

  it('linear and constant decays', () => {
    const lin = scheduleFor(train('linear'), 5);
    expect(learningRate(lin, 25)).toBeCloseTo(5.05e-4, 15);
    expect(learningRate(lin, 40)).toBeCloseTo(1e-5 + 0.99e-3 * 0.2, 15);
    expect(learningRate(lin, 60)).toBe(1e-5);
    const con = scheduleFor(train('constant'), 5);
    expect(learningRate(con, 3)).toBeCloseTo(1e-6 + 3 * 0.999e-4, 15);
    expect(learningRate(con, 10)).toBe(1e-3);
    expect(learningRate(con, 500)).toBe(1e-3);
  });

  it('rises during warmup and never rises after it', () => {
    const lrs = Array.from({ length: 60 }, (_, t) => learningRate(cos, t));
    for (let t = 1; t < 10; t++) expect(lrs[t]).toBeGreaterThan(lrs[t - 1]);
    for (let t = 11; t < 60; t++) expect(lrs[t]).toBeLessThanOrEqual(lrs[t - 1]);
  });

  it('no warmup starts at the peak; bad arguments throw', () => {
    const t = train('cosine');
    t.schedule.warmup = 0;
    expect(learningRate(scheduleFor(t, 5), 0)).toBe(1e-3);
    expect(() => scheduleFor(t, 0)).toThrow(/stepsPerEpoch/);
    expect(() => learningRate(cos, -1)).toThrow(/non-negative/);
  });
});
