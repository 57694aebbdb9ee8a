// Memory planning: scratch tensors share buffers only when their lifetimes (first to last step
// binding them) do not overlap — checked by replaying the steps of the unshared plan against the
// shared one — the forward peak of ViT-Ti/16 stays within weights + inputs/outputs + the two
// largest activations + 10%, and sharing changes no result on the device.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildTrainGraph } from '../../compiler/autodiff/train-graph.js';
import { bufferLifetimes, liveScratchPeak, memoryReport } from '../../compiler/codegen/memory.js';
import type { Plan } from '../../compiler/codegen/plan.js';
import { type SelectOptions, selectKernels } from '../../compiler/codegen/select.js';
import type { Graph } from '../../compiler/ir/graph.js';
import { lowerVit } from '../../compiler/lower/vit.js';
import { specFacts } from '../../compiler/spec/facts.js';
import { resolveSpec } from '../../compiler/spec/load.js';
import type { Spec } from '../../compiler/spec/types.js';
import { sharedDevice } from '../../runtime/device.js';
import { PlanExecutor } from '../../runtime/executor.js';
import { readSafetensors, tensorData } from '../../runtime/safetensors.js';

const tiny = resolveSpec('specs/vit-tiny.vit').spec!;
const fixture = (c: string) =>
  JSON.parse(readFileSync(join('test/fixtures', c, 'spec.json'), 'utf8')) as Spec;

function both(g: Graph, mode: 'eval' | 'train', batch: number): { flat: Plan; shared: Plan } {
  const o: SelectOptions = { spec: 'm', specFile: 'm.vit', batch, mode };
  return { flat: selectKernels(g, { ...o, reuseMemory: false }), shared: selectKernels(g, o) };
}

/**
 * Replays the steps: the unshared plan gives each tensor its own buffer, the shared plan the same
 * steps with remapped buffers. Returns the tensor → buffer map after checking it is a function,
 * that big enough buffers host each tensor, and that no two tensors live at once share one.
 */
function checkSharing(flat: Plan, shared: Plan): Map<number, number> {
  expect(shared.steps.length).toBe(flat.steps.length);
  const home = new Map<number, number>();
  flat.steps.forEach((s, i) => {
    const t = shared.steps[i];
    expect(t.kernel).toBe(s.kernel);
    s.bindings.forEach((b, j) => {
      const to = t.bindings[j].buffer;
      expect(
        home.get(b.buffer) ?? to,
        `tensor ${flat.buffers[b.buffer].name} maps to one buffer`,
      ).toBe(to);
      home.set(b.buffer, to);
      expect(shared.buffers[to].bytes).toBeGreaterThanOrEqual(flat.buffers[b.buffer].bytes);
    });
  });
  // Tensors that outlive a run (parameters, inputs, outputs, constants) keep their own buffers.
  for (const b of flat.buffers) {
    if (b.role === 'scratch' || !home.has(b.id)) continue;
    expect(shared.buffers[home.get(b.id)!]).toMatchObject({
      name: b.name,
      role: b.role,
      bytes: b.bytes,
    });
  }
  const life = bufferLifetimes(flat);
  // Step by step, the set of live tensors must map to distinct buffers.
  for (let i = 0; i < flat.steps.length; i++) {
    const owner = new Map<number, number>();
    for (const b of flat.buffers) {
      const l = life[b.id];
      if (!l || l.first > i || l.last < i) continue;
      const at = home.get(b.id)!;
      const other = owner.get(at);
      expect(
        other,
        `step ${i}: ${b.name} and ${other !== undefined ? flat.buffers[other].name : ''} share a buffer while both live`,
      ).toBeUndefined();
      owner.set(at, b.id);
    }
  }
  return home;
}

describe('memory planning', () => {
  it('ViT-Ti/16 forward: buffers reused, peak ≤ weights + I/O + 1.1 × the two largest activations', () => {
    const { flat, shared } = both(lowerVit(tiny, { batch: 1 }), 'eval', 1);
    const home = checkSharing(flat, shared);
    const flatScratch = flat.buffers.filter((b) => b.role === 'scratch');
    // Many tensors, few buffers: every block's tensors land in the same handful.
    const used = new Set(flatScratch.map((b) => home.get(b.id)));
    expect(flatScratch.length).toBeGreaterThan(50);
    expect(used.size).toBeLessThanOrEqual(5);
    const m = memoryReport(shared);
    const largest = flatScratch.map((b) => b.bytes).sort((a, b) => b - a);
    const fixed =
      m.byRole.param + (m.byRole.input ?? 0) + (m.byRole.output ?? 0) + (m.byRole.const ?? 0);
    expect(m.byRole.param).toBe(4 * specFacts(tiny).params.total);
    expect(m.total).toBeLessThanOrEqual(fixed + 1.1 * (largest[0] + largest[1]));
    // Here: one buffer for the MLP hidden [N, 4D] (qkv [N, 3D] reuses it) and four [N, D] for the
    // residual stream around the projection (it reads attention's output and x, writes x + f(x)
    // and its norm): 8·N·D floats, what a step's inputs and outputs being in different buffers
    // allows, and exactly the two largest tensors.
    expect(largest.slice(0, 2)).toEqual([197 * 768 * 4, 197 * 768 * 4]);
    expect(m.byRole.scratch).toBe(197 * 8 * 192 * 4);
    // No sharing scheme can go below the most bytes live at one step.
    expect(m.byRole.scratch).toBeGreaterThanOrEqual(liveScratchPeak(flat));
    expect(memoryReport(flat).byRole.scratch).toBeGreaterThan(15 * m.byRole.scratch);
  });

  it('ViT-Ti/16 at batch 8 and a training step share safely too', () => {
    const e = both(lowerVit(tiny, { batch: 8 }), 'eval', 8);
    checkSharing(e.flat, e.shared);
    const sizes = e.flat.buffers
      .filter((b) => b.role === 'scratch')
      .map((b) => b.bytes)
      .sort((a, b) => b - a);
    expect(memoryReport(e.shared).byRole.scratch).toBeLessThanOrEqual(1.1 * (sizes[0] + sizes[1]));
    const t = both(buildTrainGraph(fixture('layer_scale_qk_norm'), { batch: 2 }), 'train', 2);
    checkSharing(t.flat, t.shared);
    const [a, b] = [memoryReport(t.flat).byRole.scratch, memoryReport(t.shared).byRole.scratch];
    expect(b).toBeLessThan(a / 2);
    expect(b).toBeGreaterThanOrEqual(liveScratchPeak(t.flat));
  });

  it('sharing buffers changes no output bit on the device (forward with attention maps, and a training step)', async () => {
    const c = 'deit_distilled';
    const spec = fixture(c);
    const weights = await readSafetensors(join('test/fixtures', c, 'weights.safetensors'));
    const input = await readSafetensors(join('test/fixtures', c, 'input.safetensors'));
    const batch = input.tensors.get('image')!.shape[0];
    const params = (plan: Plan) =>
      new Map(plan.params.map((p) => [p.name, tensorData(weights, p.name) as Float32Array]));
    const image = tensorData(input, 'image') as Float32Array;
    const labels = tensorData(input, 'labels') as Int32Array;
    const cases: [Graph, 'eval' | 'train'][] = [
      [lowerVit(spec, { batch, attention: true }), 'eval'],
      [buildTrainGraph(spec, { batch }), 'train'],
    ];
    for (const [g, mode] of cases) {
      const { flat, shared } = both(g, mode, batch);
      const outs = [];
      for (const plan of [flat, shared]) {
        const ex = await PlanExecutor.create(await sharedDevice(), plan);
        ex.setParams(params(plan));
        const feeds: Record<string, Float32Array | Int32Array> = { image };
        for (const t of plan.inputs) {
          if (t.name === 'labels') feeds.labels = labels;
          else if (t.name !== 'image')
            feeds[t.name] = new Float32Array(t.shape.reduce((x, y) => x * y, 1)).fill(
              t.name === 'lr' ? 1e-3 : 0.5,
            );
        }
        outs.push(await ex.run(feeds));
        ex.destroy();
      }
      for (const o of flat.outputs)
        expect(Array.from(outs[1][o.name]), `${mode} ${o.name}`).toEqual(
          Array.from(outs[0][o.name]),
        );
    }
  });
});
