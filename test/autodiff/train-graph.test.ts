// The training graph (forward in train mode + loss + backward + clip + AdamW) on the fixture
// models: its update against an independently written AdamW on gradients that grad-fixtures
// checks against PyTorch, its gradients with dropout active against finite differences, and
// the loss going down over ten interpreted steps.
import { describe, expect, it } from 'vitest';
import { buildGradients } from '../../compiler/autodiff/grad.js';
import { optimizerScalars } from '../../compiler/autodiff/optim.js';
import { buildTrainGraph } from '../../compiler/autodiff/train-graph.js';
import { graphInputs } from '../../compiler/ir/graph.js';
import { interpret } from '../../compiler/ir/interp.js';
import { lowerVit } from '../../compiler/lower/vit.js';
import { modelParams } from '../../compiler/spec/params.js';
import type { Spec } from '../../compiler/spec/types.js';
import { type Fixture, loadFixture } from './fixtures.js';
import { rand, relErr } from './helpers.js';

type Feeds = Map<string, Float64Array | Float32Array | Int32Array>;
const f64 = (v: ArrayLike<number>) => Float64Array.from(v);

function batchFeeds(fx: Fixture): Feeds {
  return new Map<string, Float32Array | Int32Array>([
    ['image', fx.image],
    ['labels', fx.labels],
  ]);
}

function withDropout(spec: Spec): Spec {
  const s = structuredClone(spec);
  s.dropout = { embed: 0.1, attn: 0.15, proj: 0.1, head: 0.2, path: 0.3 };
  return s;
}

describe('buildTrainGraph', () => {
  it('has the documented inputs and outputs', async () => {
    const fx = await loadFixture('pre_gelu_cls');
    const g = buildTrainGraph(fx.spec, { batch: 3, clip: 1 });
    const names = modelParams(fx.spec).map((p) => p.name);
    const inputs = graphInputs(g).map((n) => n.attrs.name);
    expect(inputs.slice(0, 2)).toEqual(['image', 'labels']);
    expect(inputs).not.toContain('rng_seed'); // no active dropout site
    expect(new Set(inputs)).toEqual(
      new Set([
        'image',
        'labels',
        'lr',
        'bc1',
        'bc2',
        ...names.flatMap((n) => [`exp_avg.${n}`, `exp_avg_sq.${n}`]),
      ]),
    );
    expect(g.outputs.map((o) => o.name)).toEqual([
      'loss',
      'logits',
      'grad_norm',
      ...names.map((n) => `new.${n}`),
      ...names.map((n) => `new_exp_avg.${n}`),
      ...names.map((n) => `new_exp_avg_sq.${n}`),
    ]);
    const drop = buildTrainGraph(withDropout(fx.spec), { batch: 3, clip: null });
    expect(graphInputs(drop).map((n) => n.attrs.name)).toContain('rng_seed');
    expect(drop.outputs.map((o) => o.name)).not.toContain('grad_norm');
    expect(drop.nodes.some((n) => n.op === 'drop_path')).toBe(true);
  });

  it('one clipped AdamW step equals a hand-written AdamW on the reference gradients', async () => {
    const fx = await loadFixture('pre_gelu_cls');
    const infos = modelParams(fx.spec);
    const smoothing = 0.1;
    // Reference gradients: the plain gradient graph (matched against PyTorch elsewhere).
    const gradGraph = buildGradients(lowerVit(fx.spec, { batch: 3, loss: { smoothing } }), 'loss');
    const ref = interpret(gradGraph, batchFeeds(fx), fx.params);
    let sq = 0;
    for (const p of infos) for (const v of ref.get(`grad.${p.name}`)!) sq += v * v;
    const norm = Math.sqrt(sq);
    const clip = 0.4 * norm; // active: every gradient is scaled by ~0.4
    const opt = {
      ...fx.spec.train.optimizer,
      lr: 0,
      weightDecay: 0.05,
      betas: [0.9, 0.99] as [number, number],
      eps: 1e-8,
    };
    const step = 3;
    const lr = 2e-3;
    // Nonzero incoming state, as after two earlier steps.
    const state = new Map<string, Float64Array>();
    infos.forEach((p, k) => {
      const n = p.shape.reduce((a, d) => a * d, 1);
      state.set(
        `exp_avg.${p.name}`,
        rand(n, 100 + k).map((v) => 0.01 * v),
      );
      state.set(
        `exp_avg_sq.${p.name}`,
        rand(n, 500 + k).map((v) => 1e-4 * v * v),
      );
    });

    const g = buildTrainGraph(fx.spec, {
      batch: 3,
      smoothing,
      clip,
      optimizer: { ...opt, kind: 'adamw' },
    });
    const feeds: Feeds = new Map([...batchFeeds(fx), ...optimizerScalars(opt, step, lr), ...state]);
    const out = interpret(g, feeds, fx.params);
    expect(relErr(out.get('loss')!, ref.get('loss')!)).toBeLessThan(1e-14);
    expect(out.get('grad_norm')![0]).toBeCloseTo(norm, 12);

    // torch.optim.AdamW, written out element by element.
    const [b1, b2] = opt.betas;
    const coef = Math.min(1, clip / (norm + 1e-6));
    const bc1 = 1 - b1 ** step;
    const bc2 = 1 - b2 ** step;
    let decayed = 0;
    for (const p of infos) {
      const w = fx.params.get(p.name)!;
      const gr = ref.get(`grad.${p.name}`)!;
      const m0 = state.get(`exp_avg.${p.name}`)!;
      const v0 = state.get(`exp_avg_sq.${p.name}`)!;
      const [pw, pm, pv] = [
        new Float64Array(w.length),
        new Float64Array(w.length),
        new Float64Array(w.length),
      ];
      for (let i = 0; i < w.length; i++) {
        const gi = gr[i] * coef;
        pm[i] = b1 * m0[i] + (1 - b1) * gi;
        pv[i] = b2 * v0[i] + (1 - b2) * gi * gi;
        const shrunk = p.decay ? w[i] * (1 - lr * opt.weightDecay) : w[i];
        pw[i] = shrunk - (lr / bc1) * (pm[i] / (Math.sqrt(pv[i]) / Math.sqrt(bc2) + opt.eps));
      }
      if (p.decay) decayed++;
      expect(relErr(out.get(`new.${p.name}`)!, pw), p.name).toBeLessThan(1e-13);
      expect(relErr(out.get(`new_exp_avg.${p.name}`)!, pm), p.name).toBeLessThan(1e-13);
      expect(relErr(out.get(`new_exp_avg_sq.${p.name}`)!, pv), p.name).toBeLessThan(1e-13);
    }
    // timm's groups: matrices decay; biases, norms, tokens and position embeddings do not.
    const decays = new Map(infos.map((p) => [p.name, p.decay]));
    expect(decays.get('blocks.0.attn.qkv.weight')).toBe(true);
    expect(decays.get('patch_embed.proj.weight')).toBe(true);
    for (const n of ['blocks.0.attn.qkv.bias', 'blocks.0.norm1.weight', 'cls_token', 'pos_embed'])
      expect(decays.get(n), n).toBe(false);
    expect(decayed).toBeGreaterThan(5);
  });

  it('gradients with dropout and drop path active match finite differences', async () => {
    const fx = await loadFixture('pre_gelu_cls');
    const spec = withDropout(fx.spec);
    const opt = { ...spec.train.optimizer, kind: 'sgd' as const, momentum: 0 };
    const g = buildTrainGraph(spec, {
      batch: 3,
      clip: null,
      smoothing: 0.1,
      optimizer: opt,
      outputGrads: true,
    });
    const infos = modelParams(spec);
    const params = new Map(infos.map((p) => [p.name, f64(fx.params.get(p.name)!)]));
    const feeds: Feeds = new Map([
      ...batchFeeds(fx),
      ['rng_seed', Int32Array.of(77)],
      ['lr', f64([0])],
    ]);
    const out = interpret(g, feeds, params);
    const lossAt = (ps: Map<string, Float64Array>, seed = 77) =>
      interpret(g, new Map([...feeds, ['rng_seed', Int32Array.of(seed)]]), ps).get('loss')![0];
    // Dropout is really active: another seed gives another loss.
    expect(Math.abs(lossAt(params, 78) - out.get('loss')![0])).toBeGreaterThan(1e-6);
    // The direction moves every parameter at once through a sharp model (|∇L·d| ~ 300), so the
    // central difference's h² term needs a small h: 1e-5 gives ~1e-4, 1e-7 gives ~1e-8.
    const h = 1e-7;
    for (const dir of [1, 2, 3]) {
      let analytic = 0;
      const plus = new Map<string, Float64Array>();
      const minus = new Map<string, Float64Array>();
      infos.forEach((p, k) => {
        const v = params.get(p.name)!;
        const d = rand(v.length, 1000 * dir + k);
        const gr = out.get(`grad.${p.name}`)!;
        for (let i = 0; i < v.length; i++) analytic += gr[i] * d[i];
        plus.set(
          p.name,
          v.map((x, i) => x + h * d[i]),
        );
        minus.set(
          p.name,
          v.map((x, i) => x - h * d[i]),
        );
      });
      const fd = (lossAt(plus) - lossAt(minus)) / (2 * h);
      expect(Math.abs(analytic - fd) / Math.abs(fd), `direction ${dir}`).toBeLessThan(1e-6);
    }
  });

  it('ten AdamW steps on a fixed batch lower the loss', async () => {
    const fx = await loadFixture('pre_gelu_cls');
    const opt = { ...fx.spec.train.optimizer, kind: 'adamw' as const, lr: 0, weightDecay: 0.05 };
    // Smoothing 0: with 0.1 the loss cannot go below the smoothed target's entropy (≈0.50 for
    // 10 classes), which this over-parameterized model reaches within a few steps.
    const g = buildTrainGraph(fx.spec, { batch: 3, clip: 1, smoothing: 0, optimizer: opt });
    const infos = modelParams(fx.spec);
    let params: Map<string, Float64Array> = new Map(
      infos.map((p) => [p.name, f64(fx.params.get(p.name)!)]),
    );
    const state = new Map<string, Float64Array>();
    for (const p of infos)
      for (const s of ['exp_avg', 'exp_avg_sq'])
        state.set(`${s}.${p.name}`, new Float64Array(params.get(p.name)!.length));
    const losses: number[] = [];
    for (let t = 1; t <= 10; t++) {
      const out = interpret(
        g,
        new Map([...batchFeeds(fx), ...optimizerScalars(opt, t, 1e-3), ...state]),
        params,
      );
      losses.push(out.get('loss')![0]);
      params = new Map(infos.map((p) => [p.name, out.get(`new.${p.name}`)!]));
      for (const key of state.keys()) state.set(key, out.get(`new_${key}`)!);
    }
    console.log(`loss over 10 steps: ${losses.map((l) => l.toFixed(4)).join(' ')}`);
    for (let t = 1; t < losses.length; t++) expect(losses[t]).toBeLessThan(losses[t - 1]);
    expect(losses[9]).toBeLessThan(0.5 * losses[0]);
  });

  it('builds for every kind of model in the fixtures', async () => {
    for (const name of [
      'deit_distilled',
      'rmsnorm_swiglu',
      'layer_scale_qk_norm',
      'post_rmsnorm_gap',
    ]) {
      const fx = await loadFixture(name);
      const g = buildTrainGraph(withDropout(fx.spec), { batch: 2 });
      expect(g.outputs.filter((o) => o.name.startsWith('new.')).length).toBe(
        modelParams(fx.spec).length,
      );
    }
  });
});
