// Layout ops for the reference interpreter (reshape is free: same buffer, new shape).
import { stridesOf } from '../graph.js';

type Buf = Float64Array | Int32Array;

function like<T extends Buf>(x: T, n: number): T {
  return (x instanceof Int32Array ? new Int32Array(n) : new Float64Array(n)) as T;
}

export function transpose<T extends Buf>(
  x: T,
  shape: readonly number[],
  perm: readonly number[],
): T {
  const r = shape.length;
  const out = like(x, x.length);
  if (x.length === 0) return out;
  const outShape = perm.map((p) => shape[p]);
  const inStrides = stridesOf(shape);
  // Stride in x of each output axis; walk the output in order with an odometer.
  const s = perm.map((p) => inStrides[p]);
  const idx = new Array<number>(r).fill(0);
  let src = 0;
  for (let o = 0; o < out.length; o++) {
    out[o] = x[src];
    for (let d = r - 1; d >= 0; d--) {
      idx[d]++;
      src += s[d];
      if (idx[d] < outShape[d]) break;
      src -= s[d] * outShape[d];
      idx[d] = 0;
    }
  }
  return out;
}

export function slice<T extends Buf>(
  x: T,
  shape: readonly number[],
  axis: number,
  start: number,
  end: number,
): T {
  const outer = shape.slice(0, axis).reduce((p, d) => p * d, 1);
  const inner = shape.slice(axis + 1).reduce((p, d) => p * d, 1);
  const len = shape[axis];
  const w = (end - start) * inner;
  const out = like(x, outer * w);
  for (let o = 0; o < outer; o++)
    out.set(x.subarray(o * len * inner + start * inner, o * len * inner + end * inner), o * w);
  return out;
}

export function concat<T extends Buf>(
  xs: readonly T[],
  shapes: readonly (readonly number[])[],
  axis: number,
): T {
  const s0 = shapes[0];
  const outer = s0.slice(0, axis).reduce((p, d) => p * d, 1);
  const inner = s0.slice(axis + 1).reduce((p, d) => p * d, 1);
  const widths = shapes.map((s) => s[axis] * inner);
  const total = widths.reduce((p, w) => p + w, 0);
  const out = like(xs[0], outer * total);
  for (let o = 0; o < outer; o++) {
    let at = o * total;
    xs.forEach((x, i) => {
      out.set(x.subarray(o * widths[i], (o + 1) * widths[i]), at);
      at += widths[i];
    });
  }
  return out;
}

/** im2col (ops.ts): [B,C,H,W] → [B, (H/ph)(W/pw), C·ph·pw], patch vector ordered (c, i, j). */
export function im2col(
  x: Float64Array,
  shape: readonly number[],
  ph: number,
  pw: number,
): Float64Array {
  const [B, C, H, W] = shape;
  const rows = H / ph;
  const cols = W / pw;
  const P = rows * cols;
  const F = C * ph * pw;
  const out = new Float64Array(B * P * F);
  for (let b = 0; b < B; b++)
    for (let r = 0; r < rows; r++)
      for (let c = 0; c < cols; c++) {
        let o = (b * P + r * cols + c) * F;
        for (let ch = 0; ch < C; ch++)
          for (let i = 0; i < ph; i++) {
            const src = ((b * C + ch) * H + r * ph + i) * W + c * pw;
            for (let j = 0; j < pw; j++) out[o++] = x[src + j];
          }
      }
  return out;
}
