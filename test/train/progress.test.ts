// The progress line (exact text, in-place redraws on a terminal, throttled plain lines otherwise)
// and the resampling behind curves.png.
import { describe, expect, it } from 'vitest';
import { resample, renderCurves } from '../../runtime/train/curves.js';
import type { MetricsRecord } from '../../runtime/train/metrics.js';
import { Progress, formatDuration, formatProgress } from '../../runtime/train/progress.js';

const state = {
  epoch: 1,
  epochs: 15,
  step: 300,
  total: 7020,
  loss: 0.61234,
  imagesPerSecond: 14.25,
  eta: 3725,
};

describe('progress', () => {
  it('formats durations and the line', () => {
    expect([5, 65, 3725, NaN].map(formatDuration)).toEqual(['5s', '1m05s', '1h02m', '--']);
    expect(formatProgress(state)).toBe(
      'epoch 2/15  step  300/7020 [#-------------------]  loss 0.6123  14.3 img/s  ETA 1h02m',
    );
  });

  it('redraws in place on a terminal, at most every 0.1 s', () => {
    const out: string[] = [];
    let t = 0;
    const p = new Progress(
      (s) => out.push(s),
      true,
      10,
      () => t,
    );
    p.update(state);
    t = 0.05;
    p.update({ ...state, step: 301 }); // too soon: skipped
    t = 0.2;
    p.update({ ...state, step: 302 });
    p.log('epoch done');
    expect(out.length).toBe(4);
    expect(out[0]).toMatch(/^\repoch 2\/15 {2}step {2}300\/7020 .*\x1b\[K$/);
    expect(out[1]).toMatch(/^\repoch 2\/15 {2}step {2}302\/7020/);
    expect(out.slice(2)).toEqual(['\n', 'epoch done\n']);
  });

  it('prints plain lines at most every interval without a terminal, unless forced', () => {
    const out: string[] = [];
    let t = 100;
    const p = new Progress(
      (s) => out.push(s),
      false,
      10,
      () => t,
    );
    p.update(state);
    t = 105;
    p.update(state);
    p.update({ ...state, step: 310 }, true);
    t = 116;
    p.update({ ...state, step: 320 });
    expect(out.map((l) => l.slice(12, 27))).toEqual([
      'step  300/7020 ',
      'step  310/7020 ',
      'step  320/7020 ',
    ]);
    expect(out.every((l) => l.endsWith('\n') && !l.includes('\r'))).toBe(true);
  });
});

describe('curves', () => {
  it('resamples linearly between points and leaves gaps outside', () => {
    const r = resample(
      [
        [2, 10],
        [4, 20],
        [8, 0],
      ],
      [0, 2, 3, 4, 6, 8, 9],
    );
    expect(r).toEqual([NaN, 10, 15, 20, 10, 0, NaN]);
  });

  it('draws both panels', () => {
    const rec = (
      kind: 'step' | 'epoch',
      step: number,
      loss: number,
      acc: number,
    ): MetricsRecord => ({
      kind,
      epoch: 0,
      step,
      lr: 1e-3,
      loss,
      train_acc: acc,
      test_acc: kind === 'epoch' ? acc : undefined,
      test_loss: kind === 'epoch' ? loss : undefined,
      images_per_s: 1,
      elapsed: 1,
    });
    const c = renderCurves([
      rec('step', 10, 2, 0.1),
      rec('step', 20, 1.5, 0.4),
      rec('epoch', 20, 1.4, 0.5),
      rec('step', 30, 1, 0.6),
      rec('epoch', 40, 0.9, 0.7),
    ]);
    expect([c.width, c.height]).toEqual([640, 300]);
    const count = (rgb: number[]) => {
      let n = 0;
      for (let i = 0; i < c.data.length; i += 3)
        if (c.data[i] === rgb[0] && c.data[i + 1] === rgb[1] && c.data[i + 2] === rgb[2]) n++;
      return n;
    };
    // Train (blue) and test (orange) curves are drawn in both panels, beyond the legend swatches.
    expect(count([31, 119, 180])).toBeGreaterThan(300);
    expect(count([255, 127, 14])).toBeGreaterThan(200);
  });
});
