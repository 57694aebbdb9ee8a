import { describe, expect, it } from 'vitest';
import { renderReduce, type ReduceDesc } from '../../compiler/codegen/wgsl/reduce.js';
import { renderSoftmax } from '../../compiler/codegen/wgsl/softmax.js';
import { runKernel } from './gpu-helpers.js';
import { expectClose, randomF32 } from './reference.js';

function reduce64(
  x: Float32Array,
  outer: number,
  axis: number,
  inner: number,
  op: ReduceDesc['op'],
) {
  const y = new Float64Array(outer * inner);
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < inner; i++) {
      let acc = op === 'max' ? -Infinity : 0;
      for (let a = 0; a < axis; a++) {
        const v = x[(o * axis + a) * inner + i];
        acc = op === 'max' ? Math.max(acc, v) : acc + v;
      }
      y[o * inner + i] = op === 'mean' ? acc / axis : acc;
    }
  return y;
}

function softmax64(x: Float32Array, rows: number, cols: number, log: boolean): Float64Array {
  const y = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    const row = x.subarray(r * cols, (r + 1) * cols);
    const mx = Math.max(...row);
    const sum = row.reduce((s, v) => s + Math.exp(v - mx), 0);
    for (let c = 0; c < cols; c++) {
      y[r * cols + c] = log ? row[c] - mx - Math.log(sum) : Math.exp(row[c] - mx) / sum;
    }
  }
  return y;
}

describe('reduce kernels on WebGPU vs float64', () => {
  const cases: { desc: ReduceDesc; outer: number; axis: number; inner: number; lo?: number }[] = [
    { desc: { op: 'sum' }, outer: 3, axis: 50, inner: 7 },
    { desc: { op: 'mean' }, outer: 2, axis: 1, inner: 5 },
    { desc: { op: 'max' }, outer: 4, axis: 9, inner: 3 },
    { desc: { op: 'sum', strategy: 'workgroup' }, outer: 5, axis: 1000, inner: 1 },
    { desc: { op: 'mean', strategy: 'workgroup' }, outer: 1, axis: 3, inner: 1 },
    {
      desc: { op: 'max', strategy: 'workgroup', workgroupSize: 32 },
      outer: 3,
      axis: 300,
      inner: 2,
      lo: -5,
    },
  ];
  for (const c of cases) {
    const { op, strategy = 'serial' } = c.desc;
    it(`${op} (${strategy}) over [${c.outer}, ${c.axis}, ${c.inner}]`, async () => {
      const x = randomF32(
        c.outer * c.axis * c.inner,
        90 + c.axis,
        c.lo ?? -1,
        c.lo === undefined ? 1 : -1,
      );
      const kernel = renderReduce(c.desc);
      const { outer, axis, inner } = c;
      const out = await runKernel(kernel, { outer, axis, inner }, { x }, { y: outer * inner });
      expectClose(out.y, reduce64(x, outer, axis, inner, op), kernel.name);
    });
  }

  it('a 50000-long sum keeps float32 accuracy (compensated), e.g. a bias gradient over tokens', async () => {
    const outer = 1;
    const axis = 50000;
    const inner = 3;
    // Positive values: the running sum grows to ~25000, so each plain f32 add would drop ~1e-3.
    const x = randomF32(axis * inner, 7, 0, 1);
    const kernel = renderReduce({ op: 'sum' });
    const out = await runKernel(kernel, { outer, axis, inner }, { x }, { y: inner });
    expectClose(out.y, reduce64(x, outer, axis, inner, 'sum'), kernel.name, {
      rel: 1e-7,
      maxTol: 1e-7,
    });
  });

  it('rejects max/mean over an empty axis', () => {
    expect(() => renderReduce({ op: 'max' }).dispatch({ outer: 1, axis: 0, inner: 1 })).toThrow(
      /empty/,
    );
  });
});

describe('softmax / log-softmax kernels on WebGPU vs float64', () => {
  const cases = [
    { kind: 'softmax' as const, rows: 6, cols: 10, range: 3 },
    { kind: 'softmax' as const, rows: 4, cols: 1, range: 3 },
    { kind: 'logsoftmax' as const, rows: 3, cols: 1000, range: 50 },
    { kind: 'softmax' as const, rows: 2, cols: 300, range: 120 },
  ];
  for (const c of cases) {
    it(`${c.kind} rows=${c.rows} cols=${c.cols}, logits in ±${c.range}`, async () => {
      const x = randomF32(c.rows * c.cols, c.cols, -c.range, c.range);
      const kernel = renderSoftmax({ kind: c.kind });
      const out = await runKernel(
        kernel,
        { rows: c.rows, cols: c.cols },
        { x },
        { y: c.rows * c.cols },
      );
      expectClose(out.y, softmax64(x, c.rows, c.cols, c.kind === 'logsoftmax'), kernel.name);
    });
  }
});
