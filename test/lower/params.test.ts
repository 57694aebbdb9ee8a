import { describe, expect, it } from 'vitest';
import { consumers, graphParams } from '../../compiler/ir/graph.js';
import { lowerVit } from '../../compiler/lower/vit.js';
import { modelParams } from '../../compiler/spec/params.js';
import type { Spec } from '../../compiler/spec/types.js';
import { tinySpec } from './helpers.js';

const SPECS: Record<string, Partial<Spec>> = {
  tiny: {},
  post_rms_swiglu: {
    norm: { placement: 'post', kind: 'rmsnorm', eps: 1e-5 },
    mlp: { hidden: 24, activation: 'swiglu' },
  },
  distilled_registers_no_prefix: {
    tokens: { cls: true, distill: true, registers: 3 },
    pos: { kind: 'learned', prefix: false },
  },
  distilled_mean_fc_norm: {
    tokens: { cls: true, distill: true, registers: 0 },
    pool: 'mean',
    fcNorm: true,
  },
  sincos_mean_fc_norm_qk_norm: {
    pos: { kind: 'sincos2d', prefix: true },
    pool: 'mean',
    fcNorm: true,
    qkNorm: true,
    qkvBias: false,
  },
  no_tokens_no_pos_features: {
    tokens: { cls: false, distill: false, registers: 0 },
    pos: { kind: 'none', prefix: true },
    pool: 'mean',
    head: { classes: 0 },
    finalNorm: false,
  },
  layer_scale_pre_norm: { layerScale: 1e-5, preNorm: true, depth: 3 },
  grayscale_rect: { image: { height: 12, width: 8, channels: 1 }, patch: { height: 4, width: 2 } },
  vit_base: {
    image: { height: 224, width: 224, channels: 3 },
    patch: { height: 16, width: 16 },
    width: 768,
    depth: 12,
    heads: 12,
    mlp: { hidden: 3072, activation: 'gelu' },
    head: { classes: 1000 },
  },
};

describe('lowerVit parameters are exactly modelParams(spec)', () => {
  it.each(Object.keys(SPECS))('%s', (key) => {
    const spec = tinySpec(SPECS[key]);
    for (const mode of ['eval', 'train'] as const) {
      const g = lowerVit(spec, { batch: 2, mode });
      const got = graphParams(g).map((n) => ({ name: n.attrs.name, shape: [...n.shape] }));
      const want = modelParams(spec).map((p) => ({ name: p.name, shape: p.shape }));
      const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);
      expect(got.sort(byName)).toEqual(want.sort(byName));
      // Every parameter is read by some node.
      const readers = consumers(g);
      expect(
        graphParams(g)
          .filter((p) => readers[p.id].length === 0)
          .map((p) => p.attrs.name),
      ).toEqual([]);
    }
  });
});
