import { describe, expect, it } from 'vitest';
import {
  DYNAMIC,
  ew,
  renderElementwise,
  UNARY_OPS,
  type UnaryOp,
} from '../../compiler/codegen/wgsl/elementwise.js';
import { runKernel } from './gpu-helpers.js';
import {
  erf64,
  expectClose,
  gelu64,
  geluTanh64,
  randomF32,
  sigmoid64,
  silu64,
} from './reference.js';

const UNARY64: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  sqrt: Math.sqrt,
  rsqrt: (x) => 1 / Math.sqrt(x),
  recip: (x) => 1 / x,
  square: (x) => x * x,
  abs: Math.abs,
  tanh: Math.tanh,
  erf: erf64,
  gelu: gelu64,
  gelu_tanh: geluTanh64,
  relu: (x) => Math.max(x, 0),
  silu: silu64,
  sigmoid: sigmoid64,
  step: (x) => (x > 0 ? 1 : 0),
};
/** Ops whose domain is (0, ∞) read the positive input. */
const POSITIVE_ONLY = new Set<UnaryOp>(['log', 'sqrt', 'rsqrt', 'recip']);

/** Row-major strides-based broadcast read, as numpy: the reference the kernel must match. */
function bcast(data: Float32Array, inShape: number[], outShape: number[], o: number): number {
  const pad = [...Array(outShape.length - inShape.length).fill(1), ...inShape];
  let idx = 0;
  let rest = o;
  let inStride = 1;
  const coords: number[] = [];
  for (let d = outShape.length - 1; d >= 0; d--) {
    coords[d] = rest % outShape[d];
    rest = Math.floor(rest / outShape[d]);
  }
  for (let d = outShape.length - 1; d >= 0; d--) {
    if (pad[d] !== 1) idx += coords[d] * inStride;
    inStride *= pad[d];
  }
  return data[idx];
}

describe('elementwise kernels on WebGPU vs float64', () => {
  // Five ops per kernel keeps each dispatch within 8 storage buffers (the WebGPU default limit).
  for (let first = 0; first < UNARY_OPS.length; first += 5) {
    const ops = UNARY_OPS.slice(first, first + 5);
    it(`unary ops ${ops.join(', ')} as outputs of one multi-output kernel`, async () => {
      const n = 3001;
      const x = randomF32(n, 1, -6, 6);
      const pos = randomF32(n, 2, 0.01, 50);
      const outputs = ops.map((op) => ew.unary(op, ew.input(POSITIVE_ONLY.has(op) ? 1 : 0)));
      const inputs = [{ shape: [n] }, { shape: [n] }];
      const kernel = renderElementwise({ shape: [n], inputs, outputs });
      const outInit = Object.fromEntries(outputs.map((_, j) => [`out${j}`, n]));
      const ins: Record<string, Float32Array> = {};
      if (kernel.bindings.some((b) => b.name === 'in0')) ins.in0 = x;
      if (kernel.bindings.some((b) => b.name === 'in1')) ins.in1 = pos;
      const out = await runKernel(kernel, {}, ins, outInit);
      ops.forEach((op, j) => {
        const src = POSITIVE_ONLY.has(op) ? pos : x;
        expectClose(out[`out${j}`], Array.from(src, UNARY64[op]), op);
      });
    });
  }

  it('binary ops with numpy broadcasting: [2,3,5] with [5], [2,3,1], [1,3,5], scalar constant', async () => {
    const shapes = [[2, 3, 5], [5], [2, 3, 1], [1, 3, 5]];
    const out = [2, 3, 5];
    const data = shapes.map((s, i) =>
      randomF32(
        s.reduce((a, b) => a * b, 1),
        10 + i,
        0.5,
        2,
      ),
    );
    const [a, b, c, d] = [0, 1, 2, 3].map((i) => ew.input(i));
    // ((a + b) · c − d) / max(a, 0.75) − min(b, c), and a − 2.5
    const e0 = ew.sub(
      ew.div(ew.sub(ew.mul(ew.add(a, b), c), d), ew.binary('max', a, ew.c(0.75))),
      ew.binary('min', b, c),
    );
    const e1 = ew.sub(a, ew.c(2.5));
    const kernel = renderElementwise({
      shape: out,
      inputs: shapes.map((shape) => ({ shape })),
      outputs: [e0, e1],
    });
    const res = await runKernel(kernel, {}, Object.fromEntries(data.map((v, i) => [`in${i}`, v])), {
      out0: 30,
      out1: 30,
    });
    const at = (i: number, o: number) => bcast(data[i], shapes[i], out, o);
    const ref0 = Array.from({ length: 30 }, (_, o) => {
      const [va, vb, vc, vd] = [0, 1, 2, 3].map((i) => at(i, o));
      return ((va + vb) * vc - vd) / Math.max(va, 0.75) - Math.min(vb, vc);
    });
    expectClose(res.out0, ref0, 'broadcast expression');
    expectClose(
      res.out1,
      Array.from({ length: 30 }, (_, o) => at(0, o) - 2.5),
      'a - 2.5',
    );
  });

  it('one pipeline for any batch: dynamic leading axis with batched and broadcast inputs', async () => {
    const shape = [DYNAMIC, 4, 6];
    const inputs = [
      { shape: [DYNAMIC, 4, 6] },
      { shape: [1, 4, 6] },
      { shape: [6] },
      { shape: [DYNAMIC, 4, 1] },
    ];
    const e = ew.mul(ew.add(ew.add(ew.input(0), ew.input(1)), ew.input(2)), ew.input(3));
    const kernel = renderElementwise({ shape, inputs, outputs: [e] });
    for (const lead of [3, 1]) {
      const concrete = inputs.map((s) => s.shape.map((v) => (v === DYNAMIC ? lead : v)));
      const data = concrete.map((s, i) =>
        randomF32(
          s.reduce((p, q) => p * q, 1),
          20 + i + lead,
        ),
      );
      const outShape = [lead, 4, 6];
      const count = lead * 24;
      const res = await runKernel(
        kernel,
        { lead },
        Object.fromEntries(data.map((v, i) => [`in${i}`, v])),
        { out0: count },
      );
      const ref = Array.from({ length: count }, (_, o) => {
        const v = [0, 1, 2, 3].map((i) => bcast(data[i], concrete[i], outShape, o));
        return (v[0] + v[1] + v[2]) * v[3];
      });
      expectClose(res.out0, ref, `lead=${lead}`);
    }
  });

  it('AdamW-style update: run-time scalars, shared subexpressions, three outputs in place', async () => {
    const n = 77;
    const [p, g, m, v] = [0, 1, 2, 3].map((i) => ew.input(i));
    const [lr, b1, b2, eps, wd, bc1, bc2] = ['lr', 'beta1', 'beta2', 'eps', 'wd', 'bc1', 'bc2'].map(
      ew.param,
    );
    const one = ew.c(1);
    const m1 = ew.add(ew.mul(b1, m), ew.mul(ew.sub(one, b1), g));
    const v1 = ew.add(ew.mul(b2, v), ew.mul(ew.sub(one, b2), ew.unary('square', g)));
    const step = ew.div(ew.div(m1, bc1), ew.add(ew.unary('sqrt', ew.div(v1, bc2)), eps));
    const p1 = ew.sub(ew.mul(p, ew.sub(one, ew.mul(lr, wd))), ew.mul(lr, step));
    const kernel = renderElementwise({
      shape: [n],
      inputs: [{ shape: [n] }, { shape: [n] }, { shape: [n] }, { shape: [n] }],
      outputs: [p1, m1, v1],
      inPlace: [
        { output: 0, input: 0 },
        { output: 1, input: 2 },
        { output: 2, input: 3 },
      ],
    });
    expect(kernel.bindings.map((b) => b.name)).toEqual(['in1', 'out0', 'out1', 'out2', 'u']);
    const P = randomF32(n, 31);
    const G = randomF32(n, 32);
    const Mm = randomF32(n, 33, -0.1, 0.1);
    const V = randomF32(n, 34, 0, 0.01);
    const s = {
      lr: 1e-3,
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      wd: 0.05,
      bc1: 1 - 0.9 ** 3,
      bc2: 1 - 0.999 ** 3,
    };
    const res = await runKernel(
      kernel,
      s,
      { in1: G },
      { out0: P.slice(), out1: Mm.slice(), out2: V.slice() },
    );
    const f = (x: number) => Math.fround(x); // the kernel sees the scalars as f32
    const refM = Array.from(Mm, (mv, i) => f(s.beta1) * mv + (1 - f(s.beta1)) * G[i]);
    const refV = Array.from(V, (vv, i) => f(s.beta2) * vv + (1 - f(s.beta2)) * G[i] ** 2);
    const refP = Array.from(P, (pv, i) => {
      const st = refM[i] / f(s.bc1) / (Math.sqrt(refV[i] / f(s.bc2)) + f(s.eps));
      return pv * (1 - f(s.lr) * f(s.wd)) - f(s.lr) * st;
    });
    expectClose(res.out1, refM, 'm');
    expectClose(res.out2, refV, 'v');
    expectClose(res.out0, refP, 'param');
  });

  it('grids beyond 65535 workgroups fold into two dimensions', async () => {
    const n = 70001;
    const kernel = renderElementwise({
      shape: [n],
      inputs: [{ shape: [n] }],
      outputs: [ew.mul(ew.input(0), ew.c(3))],
      workgroupSize: 1,
    });
    expect(kernel.dispatch({})).toEqual([35001, 2, 1]);
    const x = randomF32(n, 41);
    const res = await runKernel(kernel, {}, { in0: x }, { out0: n });
    expectClose(
      res.out0,
      Array.from(x, (v) => 3 * v),
      'x·3',
    );
  });
});
