import { stridesOf } from '../graph.js';

// Batched matmul for the reference interpreter. Each operand pair is brought to the form
// A [M, K] and Bᵀ [N, K], both row-major (a transposed copy only where needed: weights used as
// x·Wᵀ need none), so that every C[i, j] is a dot product of two contiguous rows. A 4×4 tile of
// C is accumulated in registers over k: 8 loads per 16 multiply-adds, all sequential. Float64
// throughout; the sum over k runs in increasing k.

/** C[M,N] = A[M,K]·Btᵀ where Bt is [N,K]; all row-major at the given offsets. */
export function gemmNT(
  a: Float64Array,
  aOff: number,
  bt: Float64Array,
  bOff: number,
  c: Float64Array,
  cOff: number,
  M: number,
  K: number,
  N: number,
): void {
  const M4 = M - (M % 4);
  const N4 = N - (N % 4);
  for (let i = 0; i < M4; i += 4) {
    const a0 = aOff + i * K;
    const a1 = a0 + K;
    const a2 = a1 + K;
    const a3 = a2 + K;
    for (let j = 0; j < N4; j += 4) {
      const b0 = bOff + j * K;
      const b1 = b0 + K;
      const b2 = b1 + K;
      const b3 = b2 + K;
      let c00 = 0,
        c01 = 0,
        c02 = 0,
        c03 = 0,
        c10 = 0,
        c11 = 0,
        c12 = 0,
        c13 = 0;
      let c20 = 0,
        c21 = 0,
        c22 = 0,
        c23 = 0,
        c30 = 0,
        c31 = 0,
        c32 = 0,
        c33 = 0;
      for (let k = 0; k < K; k++) {
        const x0 = a[a0 + k];
        const x1 = a[a1 + k];
        const x2 = a[a2 + k];
        const x3 = a[a3 + k];
        const y0 = bt[b0 + k];
        const y1 = bt[b1 + k];
        const y2 = bt[b2 + k];
        const y3 = bt[b3 + k];
        c00 += x0 * y0;
        c01 += x0 * y1;
        c02 += x0 * y2;
        c03 += x0 * y3;
        c10 += x1 * y0;
        c11 += x1 * y1;
        c12 += x1 * y2;
        c13 += x1 * y3;
        c20 += x2 * y0;
        c21 += x2 * y1;
        c22 += x2 * y2;
        c23 += x2 * y3;
        c30 += x3 * y0;
        c31 += x3 * y1;
        c32 += x3 * y2;
        c33 += x3 * y3;
      }
      let o = cOff + i * N + j;
      c[o] = c00;
      c[o + 1] = c01;
      c[o + 2] = c02;
      c[o + 3] = c03;
      o += N;
      c[o] = c10;
      c[o + 1] = c11;
      c[o + 2] = c12;
      c[o + 3] = c13;
      o += N;
      c[o] = c20;
      c[o + 1] = c21;
      c[o + 2] = c22;
      c[o + 3] = c23;
      o += N;
      c[o] = c30;
      c[o + 1] = c31;
      c[o + 2] = c32;
      c[o + 3] = c33;
    }
  }
  // Edges the 4×4 tiles did not cover: the last M % 4 rows, and the last N % 4 columns.
  const dot = (i: number, j: number) => {
    const ai = aOff + i * K;
    const bj = bOff + j * K;
    let s = 0;
    for (let k = 0; k < K; k++) s += a[ai + k] * bt[bj + k];
    c[cOff + i * N + j] = s;
  };
  for (let i = 0; i < M4; i++) for (let j = N4; j < N; j++) dot(i, j);
  for (let i = M4; i < M; i++) for (let j = 0; j < N; j++) dot(i, j);
}

/** Copies the R×C matrix at `off` transposed into a fresh C×R array. */
function transposed(x: Float64Array, off: number, R: number, C: number): Float64Array {
  const t = new Float64Array(R * C);
  for (let r = 0; r < R; r++) {
    const row = off + r * C;
    for (let c = 0; c < C; c++) t[c * R + r] = x[row + c];
  }
  return t;
}

/** The matmul op (ops.ts): batch dims broadcast, trans flags per operand. */
export function matmul(
  a: Float64Array,
  aShape: readonly number[],
  b: Float64Array,
  bShape: readonly number[],
  transA: boolean,
  transB: boolean,
  outShape: readonly number[],
): Float64Array {
  const ra = aShape.length;
  const rb = bShape.length;
  const M = transA ? aShape[ra - 1] : aShape[ra - 2];
  const K = transA ? aShape[ra - 2] : aShape[ra - 1];
  const N = transB ? bShape[rb - 2] : bShape[rb - 1];
  const batchShape = outShape.slice(0, -2);
  const nb = batchShape.reduce((p, d) => p * d, 1);
  // Offsets of each output batch's A and B matrices; a broadcast dim has stride 0.
  const aStride = batchStrides(aShape.slice(0, -2), batchShape, M * K);
  const bStride = batchStrides(bShape.slice(0, -2), batchShape, K * N);
  const out = new Float64Array(nb * M * N);
  const outBatchStrides = stridesOf(batchShape);
  // Copies are cached per source offset: a weight shared by every batch is copied once.
  let lastA = -1;
  let lastB = -1;
  let aMat = a;
  let bMat = b;
  for (let t = 0; t < nb; t++) {
    let ao = 0;
    let bo = 0;
    let rem = t;
    for (let d = 0; d < batchShape.length; d++) {
      const idx = Math.floor(rem / outBatchStrides[d]);
      rem -= idx * outBatchStrides[d];
      ao += idx * aStride[d];
      bo += idx * bStride[d];
    }
    let aUse = ao;
    let bUse = bo;
    if (transA) {
      if (ao !== lastA) aMat = transposed(a, ao, K, M);
      lastA = ao;
      aUse = 0;
    }
    if (!transB) {
      if (bo !== lastB) bMat = transposed(b, bo, K, N);
      lastB = bo;
      bUse = 0;
    }
    gemmNT(aMat, aUse, bMat, bUse, out, t * M * N, M, K, N);
  }
  return out;
}

/** Element strides of an operand's batch dims against the broadcast batch shape. */
function batchStrides(own: readonly number[], batch: readonly number[], matSize: number): number[] {
  const r = batch.length;
  const out = new Array<number>(r).fill(0);
  let acc = matSize;
  for (let i = own.length - 1; i >= 0; i--) {
    const d = r - own.length + i;
    out[d] = own[i] === 1 ? 0 : acc;
    acc *= own[i];
  }
  return out;
}
