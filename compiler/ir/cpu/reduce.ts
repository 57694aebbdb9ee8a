// Reductions, softmax, norms and the loss for the reference interpreter. An op over `axis`
// views its input as [outer, len, inner] (inner = product of the dims after the axis).
import type { ReduceOp } from '../ops.js';

function split(shape: readonly number[], axis: number): [number, number, number] {
  const outer = shape.slice(0, axis).reduce((p, d) => p * d, 1);
  const inner = shape.slice(axis + 1).reduce((p, d) => p * d, 1);
  return [outer, shape[axis], inner];
}

export function reduce(
  op: ReduceOp,
  x: Float64Array,
  shape: readonly number[],
  axis: number,
): Float64Array {
  const [outer, len, inner] = split(shape, axis);
  const out = new Float64Array(outer * inner);
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < inner; i++) {
      const base = o * len * inner + i;
      let acc = op === 'reduce_max' ? -Infinity : 0;
      for (let k = 0; k < len; k++) {
        const v = x[base + k * inner];
        if (op === 'reduce_max') acc = v > acc || Number.isNaN(v) ? v : acc;
        else acc += v;
      }
      out[o * inner + i] = op === 'reduce_mean' ? acc / len : acc;
    }
  return out;
}

/** softmax (log = false) or logsoftmax (log = true) along `axis`, max-subtracted. */
export function softmax(
  x: Float64Array,
  shape: readonly number[],
  axis: number,
  log: boolean,
): Float64Array {
  const [outer, len, inner] = split(shape, axis);
  const out = new Float64Array(x.length);
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < inner; i++) {
      const base = o * len * inner + i;
      let m = -Infinity;
      for (let k = 0; k < len; k++) m = Math.max(m, x[base + k * inner]);
      let s = 0;
      for (let k = 0; k < len; k++) s += Math.exp(x[base + k * inner] - m);
      if (log) {
        const ls = Math.log(s);
        for (let k = 0; k < len; k++) out[base + k * inner] = x[base + k * inner] - m - ls;
      } else {
        for (let k = 0; k < len; k++) out[base + k * inner] = Math.exp(x[base + k * inner] - m) / s;
      }
    }
  return out;
}

/** layernorm over the last axis (C = its size); weight/bias may be null. */
export function layernorm(
  x: Float64Array,
  C: number,
  weight: Float64Array | null,
  bias: Float64Array | null,
  eps: number,
): Float64Array {
  const out = new Float64Array(x.length);
  const rows = C === 0 ? 0 : x.length / C;
  for (let r = 0; r < rows; r++) {
    const o = r * C;
    let mean = 0;
    for (let c = 0; c < C; c++) mean += x[o + c];
    mean /= C;
    let v = 0;
    for (let c = 0; c < C; c++) {
      const d = x[o + c] - mean;
      v += d * d;
    }
    const inv = 1 / Math.sqrt(v / C + eps);
    for (let c = 0; c < C; c++) {
      let y = (x[o + c] - mean) * inv;
      if (weight) y *= weight[c];
      if (bias) y += bias[c];
      out[o + c] = y;
    }
  }
  return out;
}

/** rmsnorm over the last axis: x / √(mean(x²) + eps) · weight. */
export function rmsnorm(
  x: Float64Array,
  C: number,
  weight: Float64Array | null,
  eps: number,
): Float64Array {
  const out = new Float64Array(x.length);
  const rows = C === 0 ? 0 : x.length / C;
  for (let r = 0; r < rows; r++) {
    const o = r * C;
    let ms = 0;
    for (let c = 0; c < C; c++) ms += x[o + c] * x[o + c];
    const inv = 1 / Math.sqrt(ms / C + eps);
    for (let c = 0; c < C; c++) out[o + c] = x[o + c] * inv * (weight ? weight[c] : 1);
  }
  return out;
}

/**
 * Gradients of layernorm (center) / rmsnorm over the last axis (ops.ts norm_grad): part
 * 'input' dx = r·(d − mean(d) − x̂·mean(d·x̂)), d = g·weight (rmsnorm drops the mean(d) term);
 * part 'weight' g·x̂.
 */
export function normGrad(
  x: Float64Array,
  g: Float64Array,
  weight: Float64Array | null,
  C: number,
  eps: number,
  center: boolean,
  part: 'input' | 'weight' = 'input',
): Float64Array {
  const out = new Float64Array(x.length);
  const rows = C === 0 ? 0 : x.length / C;
  const xhat = new Float64Array(C);
  const d = new Float64Array(C);
  for (let row = 0; row < rows; row++) {
    const o = row * C;
    let mean = 0;
    if (center) {
      for (let c = 0; c < C; c++) mean += x[o + c];
      mean /= C;
    }
    let v = 0;
    for (let c = 0; c < C; c++) v += (x[o + c] - mean) ** 2;
    const r = 1 / Math.sqrt(v / C + eps);
    if (part === 'weight') {
      for (let c = 0; c < C; c++) out[o + c] = g[o + c] * ((x[o + c] - mean) * r);
      continue;
    }
    let md = 0;
    let mdx = 0;
    for (let c = 0; c < C; c++) {
      xhat[c] = (x[o + c] - mean) * r;
      d[c] = g[o + c] * (weight ? weight[c] : 1);
      md += d[c];
      mdx += d[c] * xhat[c];
    }
    md = center ? md / C : 0;
    mdx /= C;
    for (let c = 0; c < C; c++) out[o + c] = r * (d[c] - md - xhat[c] * mdx);
  }
  return out;
}

function checkLabel(y: number, K: number, op: string): void {
  if (!(Number.isInteger(y) && y >= 0 && y < K))
    throw new Error(`${op}: label ${y} outside [0, ${K})`);
}

/** torch.nn.functional.cross_entropy(logits [B,K], labels [B], label_smoothing=s), mean. */
export function crossEntropy(
  logits: Float64Array,
  labels: Int32Array,
  B: number,
  K: number,
  s: number,
): number {
  const logp = softmax(logits, [B, K], 1, true);
  let total = 0;
  for (let b = 0; b < B; b++) {
    const y = labels[b];
    checkLabel(y, K, 'cross_entropy');
    let sumAll = 0;
    for (let k = 0; k < K; k++) sumAll += logp[b * K + k];
    total += -(1 - s) * logp[b * K + y] - (s * sumAll) / K;
  }
  return total / B;
}

export function oneHot(labels: Int32Array, K: number): Float64Array {
  const out = new Float64Array(labels.length * K);
  for (let i = 0; i < labels.length; i++) {
    checkLabel(labels[i], K, 'one_hot');
    out[i * K + labels[i]] = 1;
  }
  return out;
}
