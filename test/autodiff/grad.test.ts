// buildGradients itself: accumulation over several readers, pruning to the paths from the
// requested parameters to the loss, zero gradients where there is no path, and a backward
// pass without dead nodes.
import { describe, expect, it } from 'vitest';
import { activeNodes, buildGradients } from '../../compiler/autodiff/grad.js';
import { buildTrainGraph } from '../../compiler/autodiff/train-graph.js';
import { GraphBuilder } from '../../compiler/ir/builder.js';
import type { Graph } from '../../compiler/ir/graph.js';
import { interpret } from '../../compiler/ir/interp.js';
import { lowerVit } from '../../compiler/lower/vit.js';
import { loadFixture } from './fixtures.js';

/** Ids of non-leaf nodes that no output depends on. */
function deadNodes(g: Graph): number[] {
  const live = g.nodes.map(() => false);
  for (const o of g.outputs) live[o.node] = true;
  for (let id = g.nodes.length - 1; id >= 0; id--)
    if (live[id]) for (const i of g.nodes[id].inputs) live[i] = true;
  return g.nodes.filter((n) => !live[n.id] && n.inputs.length > 0).map((n) => n.id);
}

describe('buildGradients', () => {
  it('sums the contributions of every reader and keeps the forward outputs', () => {
    // loss = Σ (a·a + exp(a))·c: d/da = (2a + e^a)·c, d/dc = a² + e^a.
    const b = new GraphBuilder();
    const a = b.param('a', [3]);
    const c = b.param('c', [3]);
    const y = b.mul(b.addv(b.mul(a, a), b.unary('exp', a)), c);
    b.output('y', y);
    b.output('loss', b.reduce('reduce_sum', y, 0));
    const g = buildGradients(b.build(), 'loss');
    expect(g.outputs.map((o) => o.name)).toEqual(['y', 'loss', 'grad.a', 'grad.c']);
    const av = Float64Array.of(0.5, -1, 2);
    const cv = Float64Array.of(1.5, 0.25, -2);
    const out = interpret(
      g,
      new Map(),
      new Map([
        ['a', av],
        ['c', cv],
      ]),
    );
    const ga = out.get('grad.a')!;
    const gc = out.get('grad.c')!;
    for (let i = 0; i < 3; i++) {
      expect(ga[i]).toBeCloseTo((2 * av[i] + Math.exp(av[i])) * cv[i], 14);
      expect(gc[i]).toBeCloseTo(av[i] * av[i] + Math.exp(av[i]), 14);
    }
  });

  it('gives a zero gradient, and builds nothing, where no path reaches the loss', () => {
    const b = new GraphBuilder();
    const a = b.param('a', [2, 2]);
    const unused = b.param('unused', [2, 2]);
    const side = b.param('side', [2, 2]);
    const flat = (v: number) => b.reshape(v, [4]);
    // `side` reaches the loss only through `step` (no gradient flows) and feeds a branch
    // the loss does not read; `unused` feeds only that branch.
    const stepped = b.mul(b.unary('step', side), b.scalar(3));
    const total = b.addv(b.unary('tanh', a), stepped);
    b.output('loss', b.reduce('reduce_sum', flat(total), 0));
    b.output('other', b.matmul(side, unused));
    const fwd = b.build();
    const g = buildGradients(fwd, 'loss');
    const out = interpret(
      g,
      new Map(),
      new Map([
        ['a', Float64Array.of(1, 2, 3, 4)],
        ['unused', new Float64Array(4)],
        ['side', Float64Array.of(1, 0, 0, 1)],
      ]),
    );
    expect([...out.get('grad.unused')!]).toEqual([0, 0, 0, 0]);
    expect([...out.get('grad.side')!]).toEqual([0, 0, 0, 0]);
    expect(out.get('grad.a')![0]).toBeCloseTo(1 - Math.tanh(1) ** 2, 15);
    // Backward nodes: the seed, tanh's derivative, reshape, broadcast … but no matmul.
    expect(g.nodes.filter((n) => n.op === 'matmul').length).toBe(1);
    expect(deadNodes(g)).toEqual([]);
  });

  it('only differentiates toward the requested parameters', async () => {
    const fx = await loadFixture('pre_gelu_cls');
    const fwd = lowerVit(fx.spec, { batch: 3, loss: { smoothing: 0 } });
    const all = buildGradients(fwd, 'loss');
    const head = buildGradients(fwd, 'loss', ['head.weight']);
    expect(head.outputs.filter((o) => o.name.startsWith('grad.')).map((o) => o.name)).toEqual([
      'grad.head.weight',
    ]);
    // The head's gradient needs no backward pass through the blocks.
    expect(head.nodes.some((n) => n.name?.startsWith('bwd.blocks'))).toBe(false);
    expect(all.nodes.some((n) => n.name?.startsWith('bwd.blocks'))).toBe(true);
    expect(head.nodes.length - fwd.nodes.length).toBeLessThan(12);
    // q, k and v's gradients are assembled by one concat per block, without zero fills.
    const split = all.nodes.filter((n) => n.op === 'concat' && n.shape.length === 5);
    expect(split.length).toBe(fx.spec.depth);
    for (const n of split) expect(n.inputs.map((i) => all.nodes[i].op)).not.toContain('const');
    // The image is not a parameter: im2col's VJP (a rank-6 transpose) is never built.
    expect(all.nodes.some((n) => n.op === 'transpose' && n.shape.length === 6)).toBe(false);
    const feeds = new Map<string, Float32Array | Int32Array>([
      ['image', fx.image],
      ['labels', fx.labels],
    ]);
    const a = interpret(all, feeds, fx.params).get('grad.head.weight')!;
    const h = interpret(head, feeds, fx.params).get('grad.head.weight')!;
    expect([...h]).toEqual([...a]);
    expect(() => buildGradients(fwd, 'loss', ['nope'])).toThrow(/no parameter "nope"/);
    expect(() => buildGradients(fwd, 'lost')).toThrow(/no output "lost"/);
  });

  it('leaves no dead nodes in ViT gradient and training graphs', async () => {
    for (const name of [
      'pre_gelu_cls',
      'deit_distilled',
      'rmsnorm_swiglu',
      'layer_scale_qk_norm',
    ]) {
      const fx = await loadFixture(name);
      const fwd = lowerVit(fx.spec, { batch: 2, loss: { smoothing: 0.1 } });
      expect(deadNodes(buildGradients(fwd, 'loss')), name).toEqual([]);
      const spec = structuredClone(fx.spec);
      spec.dropout = { embed: 0.1, attn: 0.1, proj: 0.1, head: 0.1, path: 0.1 };
      expect(deadNodes(buildTrainGraph(spec, { batch: 2, clip: 1 })), name).toEqual([]);
    }
  });

  it('differentiates the sum of a non-scalar output', () => {
    const b = new GraphBuilder();
    const a = b.param('a', [2, 3]);
    b.output('y', b.unary('square', a));
    const g = buildGradients(b.build(), 'y');
    const av = Float64Array.of(1, -2, 3, 0.5, 0, -1);
    const ga = interpret(g, new Map(), new Map([['a', av]])).get('grad.a')!;
    expect([...ga]).toEqual([...av].map((v) => 2 * v));
  });

  it('marks exactly the nodes between the parameters and the loss active', () => {
    const b = new GraphBuilder();
    const x = b.input('x', [2]);
    const p = b.param('p', [2]);
    const px = b.mul(p, x); // active
    const xx = b.mul(x, x); // no parameter behind it
    const loss = b.reduce('reduce_sum', b.addv(px, xx), 0);
    const late = b.unary('exp', p); // after the loss, not read by it
    const g = b.build();
    const act = activeNodes(g, loss, new Set([p]));
    expect(act[p]).toBe(true);
    expect(act[px]).toBe(true);
    expect(act[x]).toBe(false);
    expect(act[xx]).toBe(false);
    expect(act[loss]).toBe(true);
    expect(act[late]).toBe(false);
  });
});
