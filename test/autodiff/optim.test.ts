// Clipping and the optimizer updates, built as graphs and interpreted, against torch itself:
// torch-optim-reference.json holds three steps of clip_grad_norm_ + AdamW / Adam / SGD from
// torch_optim_reference.py (float64), with weight decay on the matrix and not on the bias.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  type OptimizerConfig,
  appendOptimizerUpdate,
  clipGradNorm,
  optimizerScalars,
  optimizerStates,
} from '../../compiler/autodiff/optim.js';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import { interpret } from '../../compiler/ir/interp.js';
import type { ParamInfo } from '../../compiler/spec/params.js';
import { relErr } from './helpers.js';

type Ref = Record<string, number[]>;
const REF = JSON.parse(
  readFileSync(new URL('./torch-optim-reference.json', import.meta.url), 'utf8'),
) as Record<'adamw' | 'adam' | 'sgd', Ref>;

const P0 = { w: [0.5, -1.25, 2.0, 0.75, -0.3, 0.1], b: [0.2, -0.4, 0.05] };
const G = [
  { w: [0.3, -0.2, 0.9, 1.1, 0.0, -0.7], b: [0.5, -0.25, 0.4] },
  { w: [-0.1, 0.4, 0.2, 0.3, -0.6, 0.05], b: [-0.2, 0.1, 0.3] },
  { w: [0.02, 0.01, -0.03, 0.0, 0.04, 0.01], b: [0.01, -0.02, 0.0] },
];
const LRS = [1e-2, 2e-2, 5e-3];
const base = { lr: 0, weightDecay: 0.1, betas: [0.8, 0.95] as [number, number], eps: 1e-6 };
const CONFIGS: Record<'adamw' | 'adam' | 'sgd', OptimizerConfig> = {
  adamw: { ...base, kind: 'adamw', momentum: 0 },
  adam: { ...base, kind: 'adam', momentum: 0 },
  sgd: { ...base, kind: 'sgd', momentum: 0.9 },
};

const INFOS: ParamInfo[] = [
  { name: 'w', shape: [2, 3], init: { kind: 'zeros' }, decay: true },
  { name: 'b', shape: [3], init: { kind: 'zeros' }, decay: false },
];

/** A graph: params w, b; their gradients as inputs; clip to 1; one optimizer step. */
function stepGraph(opt: OptimizerConfig) {
  const b = new GraphBuilder();
  const params = INFOS.map((p) => b.param(p.name, p.shape));
  const grads = INFOS.map((p) => b.input(`g.${p.name}`, p.shape));
  const clipped = clipGradNorm(b, grads, 1.0);
  const up = appendOptimizerUpdate(
    b,
    opt,
    INFOS.map((info, k) => ({ info, value: params[k], grad: clipped.grads[k] })),
  );
  b.output('grad_norm', clipped.total);
  for (const u of up) {
    b.output(`new.${u.name}`, u.value);
    for (const [s, v] of u.states) b.output(`new_${s}.${u.name}`, v);
  }
  return b.build();
}

describe('optimizer update graphs vs torch.optim', () => {
  for (const kind of ['adamw', 'adam', 'sgd'] as const)
    it(`${kind}: three clipped steps`, () => {
      const opt = CONFIGS[kind];
      const graph = stepGraph(opt);
      const params = new Map<string, Float64Array>(
        Object.entries(P0).map(([k, v]) => [k, Float64Array.from(v)]),
      );
      const states = new Map<string, Float64Array>();
      for (const s of optimizerStates(opt))
        for (const p of INFOS)
          states.set(`${s}.${p.name}`, new Float64Array(p.shape[0] * (p.shape[1] ?? 1)));
      const norms: number[] = [];
      G.forEach((g, t) => {
        const feeds = new Map<string, Float64Array>([
          ...optimizerScalars(opt, t + 1, LRS[t]),
          ...states,
          ['g.w', Float64Array.from(g.w)],
          ['g.b', Float64Array.from(g.b)],
        ]);
        const out = interpret(graph, feeds, params);
        norms.push(out.get('grad_norm')![0]);
        for (const p of INFOS) params.set(p.name, out.get(`new.${p.name}`)!);
        for (const key of states.keys()) states.set(key, out.get(`new_${key}`)!);
      });
      const ref = REF[kind];
      expect(relErr(norms, ref.norms)).toBeLessThan(1e-14);
      for (const p of INFOS)
        expect(relErr(params.get(p.name)!, ref[p.name]), p.name).toBeLessThan(1e-13);
      expect(states.size).toBe(kind === 'sgd' ? 2 : 4);
      for (const [key, v] of states) expect(relErr(v, ref[key]), key).toBeLessThan(1e-13);
      // The decayed matrix and the undecayed bias differ between AdamW and Adam only through
      // the decay, so the bias must come out identical for both.
      if (kind === 'adam') expect(relErr(params.get('b')!, REF.adamw.b)).toBeLessThan(1e-15);
    });

  it("the scalar inputs are torch's bias corrections", () => {
    const s = optimizerScalars(CONFIGS.adamw, 3, 0.5);
    expect(s.get('lr')![0]).toBe(0.5);
    expect(s.get('bc1')![0]).toBeCloseTo(1 - 0.512, 15);
    expect(s.get('bc2')![0]).toBeCloseTo(1 - 0.857375, 15);
    expect([...optimizerScalars(CONFIGS.sgd, 1, 0.1).keys()]).toEqual(['lr']);
    expect(() => optimizerScalars(CONFIGS.adamw, 0, 0.1)).toThrow(/1-based/);
  });

  it('clipping leaves gradients below the bound untouched', () => {
    const b = new GraphBuilder();
    const g = b.input('g', [4]);
    const c = clipGradNorm(b, [g], 10);
    b.output('g', c.grads[0]);
    b.output('n', c.total);
    const v = Float64Array.of(1, -2, 2, 4);
    const out = interpret(b.build(), new Map([['g', v]]), new Map());
    expect(out.get('n')![0]).toBe(5);
    expect([...out.get('g')!]).toEqual([...v]);
  });
});
