// Shared test helpers: deterministic random data, relative errors, and the finite-difference
// gradient check that every VJP rule is held to.
import { GraphBuilder, type Value } from '../../compiler/ir/builder.js';
import { type Graph, numel } from '../../compiler/ir/graph.js';
import { interpret } from '../../compiler/ir/interp.js';
import { buildGradients } from '../../compiler/autodiff/grad.js';

/** Deterministic values in [-1, 1) (an LCG; the same seed gives the same numbers). */
export function rand(n: number, seed: number): Float64Array {
  const out = new Float64Array(n);
  let s = (seed * 2654435761 + 12345) >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

/** ‖got − want‖ / ‖want‖. */
export function relErr(got: ArrayLike<number>, want: ArrayLike<number>): number {
  if (got.length !== want.length) throw new Error(`length ${got.length} vs ${want.length}`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num += (got[i] - want[i]) ** 2;
    den += want[i] ** 2;
  }
  return Math.sqrt(num / den);
}

export function maxAbs(xs: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < xs.length; i++) m = Math.max(m, Math.abs(xs[i]));
  return m;
}

export interface FdCase {
  /** Differentiable leaves: name → shape. Values are rand(...) unless `values` says otherwise. */
  params: Record<string, readonly number[]>;
  /** Fixed values for some params (e.g. positive inputs of log, well-separated maxima). */
  values?: Record<string, Float64Array>;
  /** Non-differentiable inputs (labels, seeds): name → [shape, data]. */
  inputs?: Record<string, [readonly number[], Int32Array | Float64Array]>;
  /** The op under test, applied to the leaves. */
  fn: (b: GraphBuilder, p: Record<string, Value>, x: Record<string, Value>) => Value;
  seed?: number;
}

export interface FdResult {
  /** Per param: relative L2 error of the VJP gradient against central differences. */
  errors: Record<string, number>;
  /** Per param: ‖fd gradient‖ (so a test can check the gradient is not trivially zero). */
  norms: Record<string, number>;
  graph: Graph;
}

/**
 * Builds loss = Σ op(leaves) · W (W a fixed random tensor, so every output element matters
 * with a different weight), differentiates it with buildGradients, and compares each
 * parameter's gradient with central differences of the interpreted loss (float64, step h).
 */
export function fdCheck(c: FdCase, h = 1e-5): FdResult {
  const b = new GraphBuilder();
  const p: Record<string, Value> = {};
  for (const [name, shape] of Object.entries(c.params)) p[name] = b.param(name, shape);
  const x: Record<string, Value> = {};
  const feeds = new Map<string, Int32Array | Float64Array>();
  for (const [name, [shape, data]] of Object.entries(c.inputs ?? {})) {
    x[name] = b.input(name, shape, data instanceof Int32Array ? 'i32' : 'f32');
    feeds.set(name, data);
  }
  const y = c.fn(b, p, x);
  const ys = b.shape(y);
  const w = b.constant('W', ys, { kind: 'values', values: [...rand(numel(ys), 999)] });
  let l = b.mul(y, w);
  if (ys.length > 0) l = b.reduce('reduce_sum', b.reshape(l, [numel(ys)]), 0);
  b.output('loss', l);
  const forward = b.build();
  const graph = buildGradients(forward, 'loss');

  let seed = c.seed ?? 1;
  const params = new Map<string, Float64Array>();
  for (const [name, shape] of Object.entries(c.params))
    params.set(name, c.values?.[name] ?? rand(numel(shape), seed++));
  const out = interpret(graph, feeds, params);
  const lossAt = () => interpret(forward, feeds, params).get('loss')![0];

  const errors: Record<string, number> = {};
  const norms: Record<string, number> = {};
  for (const name of Object.keys(c.params)) {
    const v = params.get(name)!;
    const fd = new Float64Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const keep = v[i];
      v[i] = keep + h;
      const up = lossAt();
      v[i] = keep - h;
      const down = lossAt();
      v[i] = keep;
      fd[i] = (up - down) / (2 * h);
    }
    errors[name] = relErr(out.get(`grad.${name}`)!, fd);
    norms[name] = Math.sqrt(fd.reduce((s, e) => s + e * e, 0));
  }
  return { errors, norms, graph };
}
