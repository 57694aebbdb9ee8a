// Every VJP rule against central finite differences of the float64 interpreter. Each case is
// loss = Σ op(leaves)·W with a fixed random W; the VJP gradient of every leaf must match the
// differences to 1e-6 relative (truncation error at h = 1e-5 is ~1e-10, rounding ~1e-11).
import { afterAll, describe, expect, it } from 'vitest';
import type { GraphBuilder, Value } from '../../compiler/ir/builder.js';
import { UNARY_OPS } from '../../compiler/ir/ops.js';
import { type FdCase, fdCheck, rand } from './helpers.js';

const TOL = 1e-6;
const worst = { err: 0, what: '' };
afterAll(() =>
  console.log(`worst VJP vs finite differences: ${worst.err.toExponential(2)} (${worst.what})`),
);

function expectClose(c: FdCase): void {
  const r = fdCheck(c);
  for (const name of Object.keys(c.params)) {
    if (r.errors[name] > worst.err)
      Object.assign(worst, { err: r.errors[name], what: expect.getState().currentTestName });
    expect(r.norms[name], `‖fd grad ${name}‖`).toBeGreaterThan(1e-3);
    expect(r.errors[name], `relative error of grad.${name}`).toBeLessThan(TOL);
  }
}

const scaled = (n: number, seed: number, k: number, offset = 0) =>
  rand(n, seed).map((v) => v * k + offset);
/** Values bounded away from 0 (|v| in [0.5, 1.5]), for recip/div denominators. */
const awayFromZero = (n: number, seed: number) =>
  rand(n, seed).map((v) => Math.sign(v || 1) * (0.5 + Math.abs(v)));

describe('unary VJPs', () => {
  const positive = new Set(['log', 'sqrt', 'rsqrt']);
  for (const op of UNARY_OPS) {
    if (op === 'step') continue;
    it(op, () => {
      const shape = [3, 7];
      const values = positive.has(op)
        ? scaled(21, 3, 0.9, 1.2)
        : op === 'recip'
          ? awayFromZero(21, 3)
          : scaled(21, 3, 3); // [-3, 3): both GELU tails, tanh saturation
      expectClose({
        params: { x: shape },
        values: { x: values },
        fn: (b, p) => (op === 'scale' ? b.scale(p.x, -1.7) : b.unary(op, p.x)),
      });
    });
  }

  it('step passes no gradient (zero, like its derivative almost everywhere)', () => {
    const r = fdCheck({
      params: { x: [5], y: [5] },
      fn: (b, p) => b.addv(b.unary('step', p.x), b.mul(p.y, p.y)),
    });
    expect(r.norms.x).toBe(0);
    expect(r.errors.y).toBeLessThan(TOL);
  });
});

describe('binary VJPs with broadcasting', () => {
  const shapes: [readonly number[], readonly number[]][] = [
    [
      [2, 3, 4],
      [2, 3, 4],
    ],
    [
      [2, 3, 4],
      [3, 1],
    ],
    [
      [1, 4],
      [2, 3, 1],
    ],
    [[4], [2, 1, 4]],
    [[2, 1, 4], []],
  ];
  for (const op of ['add', 'sub', 'mul', 'div', 'max'] as const)
    for (const [sa, sb] of shapes)
      it(`${op} [${sa}] × [${sb}]`, () => {
        const nb = sb.reduce((p, d) => p * d, 1);
        expectClose({
          params: { a: sa, b: sb },
          values: op === 'div' ? { b: awayFromZero(nb, 8) } : {},
          fn: (b, p) => b.binary(op, p.a, p.b),
        });
      });
});

describe('matmul VJP', () => {
  const cases: [readonly number[], readonly number[], boolean, boolean][] = [
    [[3, 4], [4, 5], false, false],
    [[4, 3], [4, 5], true, false],
    [[3, 4], [5, 4], false, true],
    [[4, 3], [5, 4], true, true],
    [[2, 3, 4], [4, 5], false, false], // a linear layer: batch folded into rows
    [[2, 3, 4], [5, 4], false, true],
    [[2, 4, 3], [5, 4], true, true],
    [[3, 4], [2, 4, 5], false, false], // matrix times a batch
    [[2, 1, 3, 4], [3, 4, 5], false, false], // batch dims broadcast both ways
    [[2, 1, 4, 3], [3, 5, 4], true, true],
  ];
  for (const [sa, sb, transA, transB] of cases)
    it(`[${sa}]${transA ? 'ᵀ' : ''} · [${sb}]${transB ? 'ᵀ' : ''}`, () =>
      expectClose({
        params: { a: sa, b: sb },
        fn: (b, p) => b.matmul(p.a, p.b, { transA, transB }),
      }));
});

describe('reduction, softmax and logsoftmax VJPs', () => {
  for (const op of ['reduce_sum', 'reduce_mean', 'reduce_max'] as const)
    for (const axis of [0, 1, 2])
      for (const keep of [false, true])
        it(`${op} axis ${axis}${keep ? ' keepdims' : ''}`, () =>
          expectClose({
            params: { x: [3, 4, 5] },
            fn: (b, p) => b.reduce(op, p.x, axis, keep),
          }));

  it('reduce_max shares the gradient between tied maxima (as torch.amax)', () => {
    // x = [a, a, c] with a > c: each tied element gets half; perturbing both moves the max.
    const r = fdCheck({
      params: { a: [1], c: [1] },
      values: { a: Float64Array.of(0.8), c: Float64Array.of(-0.2) },
      fn: (b, p) => b.reduce('reduce_max', b.concat([p.a, p.a, p.c], 0), 0, true),
    });
    expect(r.errors.a).toBeLessThan(TOL);
  });

  for (const op of ['softmax', 'logsoftmax'] as const)
    for (const axis of [0, 1, 2])
      it(`${op} axis ${axis}`, () =>
        expectClose({
          params: { x: [3, 4, 5] },
          values: { x: scaled(60, 4, 3) },
          fn: (b, p) => (op === 'softmax' ? b.softmax(p.x, axis) : b.logsoftmax(p.x, axis)),
        }));
});

describe('norm VJPs', () => {
  for (const [w, bias] of [
    [true, true],
    [true, false],
    [false, true],
    [false, false],
  ])
    for (const eps of [1e-6, 1e-5])
      it(`layernorm weight=${w} bias=${bias} eps=${eps}`, () =>
        expectClose({
          params: { x: [2, 3, 6], ...(w ? { w: [6] } : {}), ...(bias ? { c: [6] } : {}) },
          values: { x: scaled(36, 5, 2, 0.3) },
          fn: (b, p) => b.layernorm(p.x, w ? p.w : null, bias ? p.c : null, eps),
        }));
  for (const w of [true, false])
    it(`rmsnorm weight=${w}`, () =>
      expectClose({
        params: { x: [2, 3, 6], ...(w ? { w: [6] } : {}) },
        fn: (b, p) => b.rmsnorm(p.x, w ? p.w : null, 1e-5),
      }));
});

describe('layout VJPs', () => {
  it('reshape', () =>
    expectClose({ params: { x: [2, 3, 4] }, fn: (b, p) => b.reshape(p.x, [4, 6]) }));
  for (const perm of [
    [2, 0, 1],
    [1, 2, 0],
    [0, 2, 1, 3],
    [3, 1, 0, 2],
  ])
    it(`transpose [${perm}]`, () =>
      expectClose({
        params: { x: perm.length === 3 ? [2, 3, 4] : [2, 3, 4, 2] },
        fn: (b, p) => b.transpose(p.x, perm),
      }));
  for (const [axis, start, end] of [
    [0, 0, 1],
    [0, 1, 3],
    [1, 1, 3],
    [1, 0, 4],
    [2, 2, 5],
    [2, 0, 3],
  ])
    it(`slice axis ${axis} [${start}, ${end})`, () =>
      expectClose({ params: { x: [3, 4, 5] }, fn: (b, p) => b.slice(p.x, axis, start, end) }));
  for (const axis of [0, 1, 2])
    it(`concat axis ${axis}`, () => {
      const shape = (n: number) => [2, 3, 4].map((d, i) => (i === axis ? n : d));
      expectClose({
        params: { a: shape(1), b: shape(2), c: shape(3) },
        fn: (b, p) => b.concat([p.a, p.b, p.c], axis),
      });
    });
  it('concat of one value used twice', () =>
    expectClose({ params: { a: [2, 3] }, fn: (b, p) => b.concat([p.a, p.a], 1) }));
  for (const [from, to] of [
    [
      [1, 3],
      [2, 4, 3],
    ],
    [
      [3, 1],
      [2, 3, 5],
    ],
    [[], [2, 3]],
    [
      [2, 1, 3],
      [2, 4, 3],
    ],
  ])
    it(`broadcast_to [${from}] → [${to}]`, () =>
      expectClose({ params: { x: from }, fn: (b, p) => b.broadcastTo(p.x, to) }));
  it('im2col (non-square patches, 2 channels)', () =>
    expectClose({ params: { x: [2, 2, 4, 6] }, fn: (b, p) => b.im2col(p.x, 2, 3) }));
});

describe('loss and randomness VJPs', () => {
  const labels = Int32Array.of(2, 0, 4, 2);
  for (const s of [0, 0.1])
    it(`cross_entropy smoothing ${s}`, () =>
      expectClose({
        params: { logits: [4, 5] },
        values: { logits: scaled(20, 6, 3) },
        inputs: { labels: [[4], labels] },
        fn: (b, p, x) => b.crossEntropy(p.logits, x.labels, s),
      }));
  const seedIn = { seed: [[], Int32Array.of(1234)] as [number[], Int32Array] };
  it('dropout (same mask forward and backward)', () =>
    expectClose({
      params: { x: [4, 6] },
      inputs: seedIn,
      fn: (b, p, x) => b.dropout(p.x, x.seed, 0.3, 5),
    }));
  it('drop_path (per sample)', () =>
    expectClose({
      params: { x: [6, 3, 2] },
      inputs: seedIn,
      fn: (b, p, x) => b.dropPath(p.x, x.seed, 0.5, 2),
    }));
});

describe('composition', () => {
  it('accumulates the gradient of a value read several times', () => {
    const fn = (b: GraphBuilder, p: Record<string, Value>): Value => {
      const h = b.unary('tanh', b.matmul(p.x, p.w, { transB: true }));
      return b.addv(b.mul(h, h), b.softmax(b.addv(h, p.x), 1));
    };
    expectClose({ params: { x: [3, 4], w: [4, 4] }, fn });
  });

  it('disjoint slices of one value: one concat, zeros only in the gap', () => {
    const c: FdCase = {
      params: { x: [3, 7, 2] },
      fn: (b, p) =>
        b.concat(
          [
            b.unary('tanh', b.slice(p.x, 1, 5, 7)),
            b.unary('square', b.slice(p.x, 1, 0, 2)),
            b.unary('exp', b.slice(p.x, 1, 3, 5)),
          ],
          1,
        ),
    };
    expectClose(c);
    const { graph } = fdCheck(c);
    const back = graph.nodes.filter((n) => n.name?.startsWith('bwd.') && n.op === 'concat');
    const assembled = back.filter((n) => n.shape[1] === 7);
    expect(assembled.length).toBe(1);
    // slabs [0,2), gap [2,3), [3,5), [5,7): four parts, one of them a zero fill.
    expect(assembled[0].inputs.length).toBe(4);
    expect(graph.nodes.filter((n) => n.op === 'add').length).toBe(0);
  });

  it('overlapping slices and slices along two axes', () =>
    expectClose({
      params: { x: [4, 6] },
      fn: (b, p) => {
        const a = b.slice(p.x, 1, 0, 4);
        const c = b.slice(p.x, 1, 2, 6); // overlaps a: both rules' gradients are added
        const r = b.slice(p.x, 0, 1, 3); // another axis
        const rs = b.reduce('reduce_sum', b.unary('sigmoid', r), 1, true); // [2, 1]
        return b.addv(b.mul(a, c), b.reduce('reduce_sum', rs, 0, true));
      },
    }));
});
