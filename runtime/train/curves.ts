/**
 * DIR/curves.png: training and test loss (left) and accuracy (right) against the optimizer step,
 * drawn with runtime/image (plotSeries, drawText). Step records give the training curves, epoch
 * records the test curves (marked with a dot per epoch). Both panels share the step axis, so the
 * series are resampled onto one grid of x positions (linear between records, gaps outside).
 */
import type { RGB } from '../image/colormap.js';
import { type Canvas, createCanvas, drawText, fillRect, plotSeries } from '../image/draw.js';
import { writePng } from '../image/png.js';
import type { MetricsRecord } from './metrics.js';

const TRAIN: RGB = [31, 119, 180];
const TEST: RGB = [255, 127, 14];
const VAL: RGB = [44, 160, 44];
const GREY: RGB = [120, 120, 120];

/** Values of points (x, y), x increasing, at each grid x: linear between points, NaN outside. */
export function resample(points: readonly [number, number][], grid: readonly number[]): number[] {
  return grid.map((x) => {
    if (!points.length || x < points[0][0] || x > points[points.length - 1][0]) return NaN;
    let j = 0;
    while (j + 1 < points.length && points[j + 1][0] < x) j++;
    const [x0, y0] = points[j];
    if (x0 === x || j + 1 >= points.length) return y0;
    const [x1, y1] = points[j + 1];
    return x1 === x0 ? y1 : y0 + ((y1 - y0) * (x - x0)) / (x1 - x0);
  });
}

function fmt(v: number): string {
  if (!Number.isFinite(v)) return '-';
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
}

interface Panel {
  title: string;
  train: [number, number][];
  test: [number, number][];
  /** Held-out validation points (empty without `--val`). */
  val: [number, number][];
  min?: number;
  max?: number;
}

function drawPanel(
  c: Canvas,
  p: Panel,
  x: number,
  y: number,
  w: number,
  h: number,
  maxStep: number,
): void {
  drawText(c, p.title, x, y - 14, [0, 0, 0], 1);
  const G = Math.max(2, w - 3);
  const grid = Array.from({ length: G }, (_, i) => (i * maxStep) / (G - 1));
  const train = resample(p.train, grid);
  const test = resample(p.test, grid);
  const vals = [...p.train, ...p.test, ...p.val].map((q) => q[1]).filter(Number.isFinite);
  let lo = p.min ?? (vals.length ? Math.min(...vals) : 0);
  let hi = p.max ?? (vals.length ? Math.max(...vals) : 1);
  if (hi - lo < 1e-9) [lo, hi] = [lo - 0.5, hi + 0.5];
  const box = { x, y, width: w, height: h };
  const series = p.val.length ? [train, test, resample(p.val, grid)] : [train, test];
  plotSeries(c, series, box, { colors: [TRAIN, TEST, VAL], min: lo, max: hi });
  // Epoch markers on the test (and validation) curves, at the same positions plotSeries uses.
  for (const [points, color] of [
    [p.test, TEST],
    [p.val, VAL],
  ] as const)
    for (const [sx, sy] of points) {
      const px = Math.round(x + 1 + (maxStep > 0 ? (sx * (w - 3)) / maxStep : 0));
      const py = Math.round(y + 1 + ((hi - Math.min(hi, Math.max(lo, sy))) * (h - 3)) / (hi - lo));
      fillRect(c, px - 1, py - 1, 3, 3, color);
    }
  drawText(c, fmt(hi), x - 4 - fmt(hi).length * 6, y, GREY);
  drawText(c, fmt(lo), x - 4 - fmt(lo).length * 6, y + h - 7, GREY);
  drawText(c, '0', x, y + h + 4, GREY);
  const last = `STEP ${maxStep}`;
  drawText(c, last, x + w - last.length * 6 + 1, y + h + 4, GREY);
}

/** The figure as a canvas (640 × 300). */
export function renderCurves(records: readonly MetricsRecord[], title = ''): Canvas {
  const W = 640;
  const H = 300;
  const c = createCanvas(W, H);
  const steps = records.filter((r) => r.kind === 'step');
  const epochs = records.filter((r) => r.kind === 'epoch');
  const maxStep = Math.max(1, ...records.map((r) => r.step));
  if (title) drawText(c, title, 10, 8, [0, 0, 0]);
  // Legend, top right.
  fillRect(c, W - 150, 10, 12, 3, TRAIN);
  drawText(c, 'TRAIN', W - 134, 8, TRAIN);
  fillRect(c, W - 90, 10, 12, 3, TEST);
  drawText(c, 'TEST', W - 74, 8, TEST);
  const hasVal = epochs.some((r) => r.val_acc !== undefined);
  if (hasVal) {
    fillRect(c, W - 42, 10, 12, 3, VAL);
    drawText(c, 'VAL', W - 26, 8, VAL);
  }
  const pt = (r: MetricsRecord, v: number | undefined): [number, number] => [r.step, v ?? NaN];
  // Training points: every step record, and epoch records (their loss covers the whole epoch).
  const trainLoss = steps.map((r) => pt(r, r.loss)).filter((q) => Number.isFinite(q[1]));
  const trainAcc = steps.map((r) => pt(r, r.train_acc * 100)).filter((q) => Number.isFinite(q[1]));
  const testLoss = epochs.map((r) => pt(r, r.test_loss)).filter((q) => Number.isFinite(q[1]));
  const testAcc = epochs
    .map((r) => pt(r, (r.test_acc ?? NaN) * 100))
    .filter((q) => Number.isFinite(q[1]));
  const series = (v: (r: MetricsRecord) => number | undefined) =>
    epochs.map((r) => pt(r, v(r))).filter((q) => Number.isFinite(q[1]));
  const valLoss = series((r) => r.val_loss);
  const valAcc = series((r) => (r.val_acc === undefined ? undefined : r.val_acc * 100));
  drawPanel(
    c,
    { title: 'LOSS', train: trainLoss, test: testLoss, val: valLoss },
    50,
    50,
    250,
    200,
    maxStep,
  );
  drawPanel(
    c,
    { title: 'ACCURACY %', train: trainAcc, test: testAcc, val: valAcc },
    370,
    50,
    250,
    200,
    maxStep,
  );
  const last = epochs[epochs.length - 1];
  if (last?.test_acc !== undefined) {
    const text = `EPOCH ${last.epoch + 1}: TEST ACC ${(last.test_acc * 100).toFixed(2)}%`;
    drawText(c, text, 370, 276, [0, 0, 0]);
  }
  return c;
}

export async function writeCurves(
  path: string,
  records: readonly MetricsRecord[],
  title = '',
): Promise<void> {
  await writePng(path, renderCurves(records, title));
}
