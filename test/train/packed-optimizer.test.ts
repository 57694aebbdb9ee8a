// The packed optimizer (compiler/codegen/pack-optimizer.ts): every parameter, gradient and state
// in one arena per kind, the clip and the update as three dispatches. Checked against the float64
// interpreter running the reference training graph (per-parameter optimizer ops, optim.ts) for
// every optimizer the spec language has, with and without clipping, over two chained steps so the
// states written in place are read back; and against that graph compiled per parameter on the
// GPU (the same f32 arithmetic), to 1e-6.
import { describe, expect, it } from 'vitest';
import { optimizerScalars, optimizerStates } from '../../compiler/autodiff/optim.js';
import { buildTrainGraph } from '../../compiler/autodiff/train-graph.js';
import { selectKernels } from '../../compiler/codegen/select.js';
import { arenaLayout } from '../../compiler/codegen/pack-optimizer.js';
import { compileTrainPlan } from '../../compiler/codegen/train-plan.js';
import { interpret } from '../../compiler/ir/interp.js';
import { modelParams } from '../../compiler/spec/params.js';
import type { Spec } from '../../compiler/spec/types.js';
import { sharedDevice } from '../../runtime/device.js';
import { type HostTensor, PlanExecutor } from '../../runtime/executor.js';
import { initParams } from '../../runtime/init.js';
import { Trainer, dropoutSeed, readLocations } from '../../runtime/train/trainer.js';
import { exact, randomBatch, relL2, tinySpec } from './helpers.js';

type Opt = Spec['train']['optimizer'];
const base = tinySpec().train.optimizer;
// Batch 1 exercises gradients that other kernels also read (copied into the arena).
const variants: { name: string; optimizer: Opt; clip: number | null; batch: number }[] = [
  // A clip far below the gradient norm, so the coefficient really scales every gradient.
  {
    name: 'adamw, clipped',
    optimizer: { ...base, kind: 'adamw', weightDecay: 0.05 },
    clip: 0.05,
    batch: 8,
  },
  {
    name: 'adam (L2 decay), no clip',
    optimizer: { ...base, kind: 'adam', weightDecay: 0.01 },
    clip: null,
    batch: 1,
  },
  {
    name: 'sgd with momentum, clipped',
    optimizer: { ...base, kind: 'sgd', momentum: 0.9, weightDecay: 0.01 },
    clip: 0.5,
    batch: 8,
  },
  {
    name: 'plain sgd',
    optimizer: { ...base, kind: 'sgd', momentum: 0, weightDecay: 0 },
    clip: null,
    batch: 2,
  },
];

describe('packed optimizer', () => {
  it('lays out decayed parameters first, each at a 256-byte boundary', () => {
    const spec = tinySpec();
    const infos = modelParams(spec);
    const layout = arenaLayout(infos, spec.train.optimizer);
    const decayed = infos.filter((p) => p.decay);
    expect(decayed.length).toBeGreaterThan(0);
    expect(decayed.length).toBeLessThan(infos.length);
    for (const p of infos) {
      const at = layout.offsets.get(p.name)!;
      expect(at % 64, p.name).toBe(0);
      expect(at < layout.decayEnd, p.name).toBe(p.decay);
    }
    // No overlaps: sorted by offset, each tensor ends before the next begins.
    const spans = infos
      .map((p) => [layout.offsets.get(p.name)!, p.shape.reduce((a, b) => a * b, 1)])
      .sort((a, b) => a[0] - b[0]);
    spans.forEach(([o, n], i) => {
      expect(o + n).toBeLessThanOrEqual(i + 1 < spans.length ? spans[i + 1][0] : layout.length);
    });
    // Without weight decay nothing is "decayed".
    expect(arenaLayout(infos, { ...spec.train.optimizer, weightDecay: 0 }).decayEnd).toBe(0);
  });

  it('replaces the per-parameter clip and update with three dispatches', () => {
    const spec = tinySpec();
    const plan = compileTrainPlan(spec, 8);
    const labels = plan.steps.map((s) => s.label);
    expect(labels.filter((l) => l.includes('(optimizer.'))).toEqual([]);
    expect(labels.filter((l) => l.startsWith('optimizer:')).length).toBe(1);
    expect(labels.filter((l) => l.startsWith('clip_grad_norm:')).length).toBe(2);
    // Parameters and their updated values share memory: the update is in place.
    for (const p of plan.params) {
      const next = plan.outputs.find((o) => o.name === `new.${p.name}`)!;
      expect([next.buffer, next.offset]).toEqual([p.buffer, p.offset]);
    }
    expect(new Set(plan.params.map((p) => p.buffer)).size).toBe(1);
    expect(labels.filter((l) => l.startsWith('pack '))).toEqual([]);
    // At batch 1 some gradients are other values' gradients with no reduction over the batch
    // (the head bias's is the logits' gradient, which the head weight's gradient also reads):
    // those are copied into the arena instead of written there.
    const one = compileTrainPlan(spec, 1).steps.map((s) => s.label);
    expect(one.filter((l) => l.startsWith('pack '))).toContain('pack grad.head.bias');
  });

  for (const v of variants)
    it(`${v.name}: two steps equal the reference graph in float64`, async () => {
      const spec0 = tinySpec();
      const spec: Spec = {
        ...spec0,
        train: { ...spec0.train, optimizer: v.optimizer, clip: v.clip },
      };
      const B = v.batch;
      const trainer = await Trainer.create(await sharedDevice(), spec, { batch: B, window: 4 });
      const params = initParams(spec, 11);
      trainer.setState(params);
      const lrs = [2e-2, 1e-2];
      const batches = [randomBatch(B, 5), randomBatch(B, 6)];
      const norms: number[] = [];
      const gpuLosses: number[] = [];
      for (let t = 0; t < 2; t++) {
        trainer.step(batches[t].images, batches[t].labels, t, lrs[t]);
        gpuLosses.push(...(await trainer.flush()).map((r) => r.loss));
        if (v.clip !== null)
          norms.push(
            (
              await readLocations(trainer.dev, [trainer.exec.location('output', 'grad_norm')])
            )[0][0],
          );
      }
      const state = await trainer.readState();
      trainer.destroy();

      const g = buildTrainGraph(spec, { batch: B });
      const states = optimizerStates(v.optimizer);
      const infos = modelParams(spec);
      const zeros = () =>
        new Map(
          infos.flatMap((i) =>
            states.map((s) => [
              `${s}.${i.name}`,
              new Float32Array(i.shape.reduce((a, b) => a * b, 1)),
            ]),
          ),
        );
      // Two references: the interpreter (float64) and the per-parameter plan on the GPU (f32).
      let p = new Map<string, Float64Array | Float32Array>(params);
      let opt = new Map<string, Float64Array | Float32Array>(zeros());
      const ref = await PlanExecutor.create(
        trainer.dev,
        selectKernels(g, { spec: spec.name, specFile: 'tiny.vit', batch: B, mode: 'train' }),
      );
      let pg = new Map<string, Float32Array>(params);
      let og = new Map<string, Float32Array>(zeros());
      for (let t = 0; t < 2; t++) {
        const feeds = new Map<string, Float64Array | Float32Array | Int32Array>([
          ['image', batches[t].images],
          ['labels', batches[t].labels],
          ['rng_seed', Int32Array.of(dropoutSeed(spec.train.seed, t))],
        ]);
        for (const [k, x] of optimizerScalars(v.optimizer, t + 1, lrs[t]))
          feeds.set(k, Float32Array.of(x[0]));
        const out = interpret(g, new Map([...feeds, ...opt]), p);
        expect(Math.abs(gpuLosses[t] - out.get('loss')![0]) / out.get('loss')![0]).toBeLessThan(
          1e-5,
        );
        ref.setParams(pg);
        const outG = await ref.run(
          Object.fromEntries([...feeds, ...og]) as Record<string, HostTensor>,
        );
        if (v.clip !== null) {
          const norm = out.get('grad_norm')![0];
          expect(norm, 'the clip is active').toBeGreaterThan(v.clip);
          expect(Math.abs(norms[t] - norm) / norm).toBeLessThan(1e-5);
        }
        p = new Map(infos.map((i) => [i.name, out.get(`new.${i.name}`)!]));
        pg = new Map(infos.map((i) => [i.name, outG[`new.${i.name}`]]));
        opt = new Map(
          infos.flatMap((i) =>
            states.map((s) => [`${s}.${i.name}`, out.get(`new_${s}.${i.name}`)!]),
          ),
        );
        og = new Map(
          infos.flatMap((i) => states.map((s) => [`${s}.${i.name}`, outG[`new_${s}.${i.name}`]])),
        );
      }
      ref.destroy();
      for (const i of modelParams(spec)) {
        // The step moved the parameter (so the comparison below is not of untouched values).
        expect(relL2(p.get(i.name)!, params.get(i.name)!), i.name).toBeGreaterThan(1e-6);
        // Against the same f32 arithmetic per parameter: equal up to the order of Σg².
        expect(relL2(state.params.get(i.name)!, pg.get(i.name)!), i.name).toBeLessThan(1e-6);
        // Against float64, without the key bias: its gradient is zero in exact arithmetic
        // (softmax ignores it), so in f32 it is rounding noise that Adam's g/√v amplifies.
        expect(
          relL2(exact(i.name, state.params.get(i.name)!), exact(i.name, p.get(i.name)!)),
          i.name,
        ).toBeLessThan(1e-5);
        for (const s of states) {
          expect(
            relL2(state.optim.get(`${s}.${i.name}`)!, og.get(`${s}.${i.name}`)!),
            `${s}.${i.name}`,
          ).toBeLessThan(1e-6);
          expect(
            relL2(
              exact(i.name, state.optim.get(`${s}.${i.name}`)!),
              exact(i.name, opt.get(`${s}.${i.name}`)!),
            ),
            `${s}.${i.name}`,
          ).toBeLessThan(1e-5);
        }
      }
    });
});
