import { describe, expect, it } from 'vitest';
import { type Graph, graphInputs, outputNode } from '../../compiler/ir/graph.js';
import { type Params, evaluate, interpret } from '../../compiler/ir/interp.js';
import { lowerVit } from '../../compiler/lower/vit.js';
import { modelParams } from '../../compiler/spec/params.js';
import type { Spec } from '../../compiler/spec/types.js';
import { pseudoRandom, tinySpec } from './helpers.js';

const B = 2;

function randomParams(spec: Spec, seed = 1): Map<string, Float64Array> {
  const m = new Map<string, Float64Array>();
  modelParams(spec).forEach((p, i) =>
    m.set(
      p.name,
      pseudoRandom(
        p.shape.reduce((a, b) => a * b, 1),
        seed * 1000 + i,
      ).map((v) => v * 0.5),
    ),
  );
  return m;
}

function feedsFor(spec: Spec, extra: [string, Float64Array | Int32Array][] = []) {
  const image = pseudoRandom(B * spec.image.channels * spec.image.height * spec.image.width, 77);
  return new Map<string, Float64Array | Int32Array>([
    ['image', image],
    ['labels', Int32Array.of(1, 3)],
    ...extra,
  ]);
}

function run(
  spec: Spec,
  g: Graph,
  params: Params = randomParams(spec),
  extra: [string, Float64Array | Int32Array][] = [],
) {
  return interpret(g, feedsFor(spec, extra), params);
}

describe('lowerVit interface', () => {
  it('has the documented inputs and outputs', () => {
    const spec = tinySpec();
    const g = lowerVit(spec, { batch: B, loss: { smoothing: 0.1 }, attention: true });
    expect(graphInputs(g).map((n) => [n.attrs.name, n.dtype, [...n.shape]])).toEqual([
      ['image', 'f32', [2, 3, 8, 8]],
      ['labels', 'i32', [2]],
    ]);
    expect(g.outputs.map((o) => o.name)).toEqual(['logits', 'loss', 'attn.0', 'attn.1']);
    expect(outputNode(g, 'logits').shape).toEqual([2, 5]);
    expect(outputNode(g, 'loss').shape).toEqual([]);
    expect(outputNode(g, 'attn.1').shape).toEqual([2, 2, 5, 5]);
  });

  it('outputs features when the head has no classes, and refuses a loss then', () => {
    const spec = tinySpec({ head: { classes: 0 } });
    const g = lowerVit(spec, { batch: B });
    expect(g.outputs.map((o) => o.name)).toEqual(['features']);
    expect(outputNode(g, 'features').shape).toEqual([2, 16]);
    expect(() => lowerVit(spec, { batch: B, loss: { smoothing: 0 } })).toThrow(
      'a loss needs a classifier head',
    );
    expect(() => lowerVit(spec, { batch: 0 })).toThrow('batch must be a positive integer');
  });

  it('names nodes after timm modules', () => {
    const s = tinySpec({ dropout: { embed: 0.1, attn: 0.1, proj: 0.1, head: 0.1, path: 0.1 } });
    const names = new Set(lowerVit(s, { batch: B, mode: 'train' }).nodes.map((n) => n.name));
    for (const n of [
      'patch_embed.proj',
      'pos_drop',
      'blocks.0.attn.qkv',
      'blocks.0.attn.attn_drop',
      'blocks.0.attn.proj_drop',
      'blocks.1.mlp.fc1',
      'blocks.1.mlp.act',
      'blocks.1.mlp.drop1',
      'blocks.1.drop_path1',
      'norm',
      'head_drop',
      'head',
    ])
      expect(names).toContain(n);
  });
});

describe('lowerVit training graphs', () => {
  const rates = { embed: 0.1, attn: 0.2, proj: 0.3, head: 0.4, path: 0.2 };

  it('adds rng_seed and one dropout site per timm Dropout / DropPath, each with its own stream', () => {
    const spec = tinySpec({ depth: 3, dropout: rates });
    const g = lowerVit(spec, { batch: B, mode: 'train' });
    expect(graphInputs(g).map((n) => n.attrs.name)).toContain('rng_seed');
    const sites = g.nodes.flatMap((n) => (n.op === 'dropout' || n.op === 'drop_path' ? [n] : []));
    const streams = sites.map((n) => n.attrs.stream);
    expect(new Set(streams).size).toBe(streams.length);
    const byName = (name: string) => sites.filter((n) => n.name === name).map((n) => n.attrs.rate);
    expect(byName('pos_drop')).toEqual([0.1]);
    expect(byName('blocks.0.attn.attn_drop')).toEqual([0.2]);
    expect(byName('blocks.2.mlp.drop2')).toEqual([0.3]);
    expect(byName('head_drop')).toEqual([0.4]);
    // Stochastic depth decays linearly, timm's linspace(0, 0.2, 3): block 0 has none.
    expect(byName('blocks.0.drop_path1')).toEqual([]);
    expect(byName('blocks.1.drop_path2')).toEqual([0.1]);
    expect(byName('blocks.2.drop_path1')).toEqual([0.2]);
  });

  it('has no rng_seed when every rate is 0, and eval graphs never have dropout', () => {
    const train = lowerVit(tinySpec(), { batch: B, mode: 'train' });
    expect(graphInputs(train).map((n) => n.attrs.name)).toEqual(['image']);
    const ev = lowerVit(tinySpec({ dropout: rates }), { batch: B });
    expect(
      ev.nodes.some(
        (n) =>
          n.op === 'dropout' ||
          n.op === 'drop_path' ||
          (n.op === 'input' && n.attrs.name === 'rng_seed'),
      ),
    ).toBe(false);
  });

  it('is deterministic in the seed and differs from eval', () => {
    const spec = tinySpec({ dropout: rates });
    const g = lowerVit(spec, { batch: B, mode: 'train' });
    const p = randomParams(spec);
    const at = (seed: number) => [
      ...run(spec, g, p, [['rng_seed', Int32Array.of(seed)]]).get('logits')!,
    ];
    expect(at(3)).toEqual(at(3));
    expect(at(3)).not.toEqual(at(4));
    expect(at(3)).not.toEqual([...run(spec, lowerVit(spec, { batch: B }), p).get('logits')!]);
  });
});

describe('lowerVit semantics', () => {
  it('attention probabilities are row-stochastic', () => {
    const spec = tinySpec({ tokens: { cls: true, distill: false, registers: 2 } });
    const out = run(spec, lowerVit(spec, { batch: B, attention: true }));
    const a = out.get('attn.0')!;
    const N = 7;
    for (let r = 0; r < a.length / N; r++) {
      const row = a.slice(r * N, r * N + N);
      expect(row.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 14);
      expect(Math.min(...row)).toBeGreaterThan(0);
    }
  });

  it('loss is the smoothed cross-entropy of the logits', () => {
    const spec = tinySpec();
    const out = run(spec, lowerVit(spec, { batch: B, loss: { smoothing: 0.2 } }));
    const z = out.get('logits')!;
    const labels = [1, 3];
    let want = 0;
    for (let b = 0; b < B; b++) {
      const row = [...z.slice(b * 5, b * 5 + 5)];
      const lse = Math.log(row.reduce((s, v) => s + Math.exp(v), 0));
      const nll = lse - row[labels[b]];
      const uniform = lse - row.reduce((s, v) => s + v, 0) / 5;
      want += (0.8 * nll + 0.2 * uniform) / B;
    }
    expect(out.get('loss')![0]).toBeCloseTo(want, 13);
  });

  it('mean pooling ignores every prefix token, cls pooling reads token 0', () => {
    // With no blocks, the pooled vector depends on a prefix token only if pooling reads it.
    const base = {
      depth: 0,
      head: { classes: 0 },
      tokens: { cls: true, distill: false, registers: 2 },
    } as const;
    for (const pool of ['mean', 'cls'] as const) {
      const spec = tinySpec({ ...base, pool, fcNorm: pool === 'mean' });
      const g = lowerVit(spec, { batch: B });
      const p = randomParams(spec);
      const moved = new Map(p);
      // Not a constant shift: the final LayerNorm would cancel one.
      moved.set(
        'cls_token',
        p.get('cls_token')!.map((v, i) => v + 0.1 * i),
      );
      moved.set(
        'reg_token',
        p.get('reg_token')!.map((v, i) => v * (1 + i)),
      );
      const before = run(spec, g, p).get('features')!;
      const after = run(spec, g, moved).get('features')!;
      const same = before.every((v, i) => v === after[i]);
      expect(same).toBe(pool === 'mean');
    }
  });

  it('distilled logits average head(x[:, 0]) and head_dist(x[:, 1])', () => {
    const spec = tinySpec({ tokens: { cls: true, distill: true, registers: 0 } });
    const g = lowerVit(spec, { batch: B });
    const p = randomParams(spec);
    const values = evaluate(g, feedsFor(spec), p);
    const normed = g.nodes.filter((n) => n.name === 'norm' && n.op === 'layernorm')[0];
    const x = values[normed.id] as Float64Array; // [B, N, D]
    const [N, D, K] = [6, 16, 5];
    const lin = (w: Float64Array, bias: Float64Array, v: Float64Array) =>
      Array.from(
        { length: K },
        (_, k) => bias[k] + v.reduce((s, vi, d) => s + vi * w[k * D + d], 0),
      );
    const want: number[] = [];
    for (let b = 0; b < B; b++) {
      const h = lin(p.get('head.weight')!, p.get('head.bias')!, x.slice(b * N * D, b * N * D + D));
      const hd = lin(
        p.get('head_dist.weight')!,
        p.get('head_dist.bias')!,
        x.slice(b * N * D + D, b * N * D + 2 * D),
      );
      want.push(...h.map((v, k) => (v + hd[k]) / 2));
    }
    const got = values[outputNode(g, 'logits').id] as Float64Array;
    want.forEach((v, i) => expect(got[i]).toBeCloseTo(v, 13));
  });

  it('learned pos_embed with prefix covers the prefix tokens; without, only the patches', () => {
    for (const prefix of [true, false]) {
      const spec = tinySpec({
        tokens: { cls: true, distill: false, registers: 1 },
        pos: { kind: 'learned', prefix },
        depth: 0,
        head: { classes: 0 },
      });
      const g = lowerVit(spec, { batch: B });
      const p = randomParams(spec);
      const values = evaluate(g, feedsFor(spec), p);
      const embedded = values[
        g.nodes.filter((n) => n.name === 'pos_embed').at(-1)!.id
      ] as Float64Array; // [B, 6, 16]
      const pos = p.get('pos_embed')!;
      const cls = p.get('cls_token')!;
      // Token 0 of every image is cls_token (+ pos_embed[0] when the embedding covers it).
      for (let b = 0; b < B; b++)
        for (let d = 0; d < 16; d++)
          expect(embedded[b * 96 + d]).toBeCloseTo(cls[d] + (prefix ? pos[d] : 0), 15);
    }
  });
});
