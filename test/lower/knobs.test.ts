// Every field of the Spec that describes the network must change the lowered graph, and the
// fields that do not (names, preprocessing, training defaults, init) must not. The field list
// is walked from the Spec itself, so a new field without a case here fails this test.
import { describe, expect, it } from 'vitest';
import { lowerVit, printGraph } from '../../compiler/lower/vit.js';
import type { Spec } from '../../compiler/spec/types.js';
import { tinySpec } from './helpers.js';

type Mutation = [label: string, edit: (s: Spec) => void];

/** Leaf paths ("norm.eps") → edits that must change the graph; several edits per field allowed. */
const CHANGES: Record<string, Mutation[]> = {
  'image.height': [['12', (s) => (s.image.height = 12)]],
  'image.width': [['12', (s) => (s.image.width = 12)]],
  'image.channels': [['1', (s) => (s.image.channels = 1)]],
  'patch.height': [['2', (s) => (s.patch.height = 2)]],
  'patch.width': [['2', (s) => (s.patch.width = 2)]],
  width: [['24', (s) => ((s.width = 24), (s.heads = 2))]],
  depth: [['3', (s) => (s.depth = 3)]],
  heads: [['4', (s) => (s.heads = 4)]],
  'mlp.hidden': [['40', (s) => (s.mlp.hidden = 40)]],
  'mlp.activation': [
    ['gelu_tanh', (s) => (s.mlp.activation = 'gelu_tanh')],
    ['relu', (s) => (s.mlp.activation = 'relu')],
    ['swiglu', (s) => (s.mlp.activation = 'swiglu')],
  ],
  'norm.placement': [['post', (s) => (s.norm.placement = 'post')]],
  'norm.kind': [['rmsnorm', (s) => (s.norm.kind = 'rmsnorm')]],
  'norm.eps': [['1e-5', (s) => (s.norm.eps = 1e-5)]],
  qkvBias: [['false', (s) => (s.qkvBias = false)]],
  qkNorm: [['true', (s) => (s.qkNorm = true)]],
  layerScale: [['on', (s) => (s.layerScale = 0.1)]],
  'tokens.cls': [['false', (s) => (s.tokens.cls = false)]],
  'tokens.distill': [['true', (s) => (s.tokens.distill = true)]],
  'tokens.registers': [['2', (s) => (s.tokens.registers = 2)]],
  'pos.kind': [
    ['sincos2d', (s) => (s.pos.kind = 'sincos2d')],
    ['none', (s) => (s.pos.kind = 'none')],
  ],
  'pos.prefix': [['false', (s) => (s.pos.prefix = false)]],
  preNorm: [['true', (s) => (s.preNorm = true)]],
  finalNorm: [['false', (s) => (s.finalNorm = false)]],
  pool: [['mean', (s) => (s.pool = 'mean')]],
  fcNorm: [['true', (s) => (s.fcNorm = true)]],
  'head.classes': [
    ['7', (s) => (s.head.classes = 7)],
    ['0', (s) => (s.head.classes = 0)],
  ],
  // Dropout rates exist only in training graphs (checked in train mode below).
  'dropout.embed': [['0.1', (s) => (s.dropout.embed = 0.1)]],
  'dropout.attn': [['0.1', (s) => (s.dropout.attn = 0.1)]],
  'dropout.proj': [['0.1', (s) => (s.dropout.proj = 0.1)]],
  'dropout.head': [['0.1', (s) => (s.dropout.head = 0.1)]],
  'dropout.path': [['0.1', (s) => (s.dropout.path = 0.1)]],
};

/** Fields that describe the model but not its forward graph. */
const NO_CHANGE: Record<string, (s: Spec) => void> = {
  name: (s) => (s.name = 'other'),
  description: (s) => (s.description = 'other'),
  chain: (s) => (s.chain = ['other', 'base']),
  init: (s) => (s.init = { scheme: 'jax', std: 0.5, seed: 9 }),
  preprocess: (s) =>
    (s.preprocess = { mean: [0, 0, 0], std: [1, 1, 1], interpolation: 'nearest', crop: 1 }),
  train: (s) => ((s.train.batch = 3), (s.train.smoothing = 0.3), (s.train.seed = 5)),
  // LayerScale's value is only the init of gamma; on/off is the structural part.
  'layerScale value': (s) => (s.layerScale = 0.5),
};

function leafPaths(o: unknown, prefix = ''): string[] {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return [prefix];
  return Object.entries(o).flatMap(([k, v]) => leafPaths(v, prefix ? `${prefix}.${k}` : k));
}

const graphText = (s: Spec, mode: 'eval' | 'train') => printGraph(lowerVit(s, { batch: 2, mode }));

describe('every knob changes the graph', () => {
  const DESCRIPTIVE = ['name', 'description', 'chain', 'init', 'preprocess', 'train'];
  it('has a case for every network field of the Spec', () => {
    const fields = leafPaths(tinySpec()).filter(
      (p) => !DESCRIPTIVE.some((d) => p === d || p.startsWith(`${d}.`)),
    );
    expect(fields.filter((p) => !(p in CHANGES))).toEqual([]);
  });

  const cases = Object.entries(CHANGES).flatMap(([field, ms]) =>
    ms.map(([label, edit]) => [field, label, edit] as const),
  );
  it.each(cases)('%s → %s', (field, _label, edit) => {
    const mode = field.startsWith('dropout.') ? 'train' : 'eval';
    // The base spec has a final norm and learned positions, so fcNorm and pos.prefix matter.
    const base = tinySpec();
    const changed = tinySpec();
    edit(changed);
    expect(graphText(changed, mode)).not.toBe(graphText(base, mode));
  });

  it.each(['embed', 'attn', 'proj', 'head', 'path'] as const)(
    'dropout.%s does not change the eval graph',
    (k) => {
      const s = tinySpec();
      s.dropout[k] = 0.3;
      expect(graphText(s, 'eval')).toBe(graphText(tinySpec(), 'eval'));
    },
  );

  it.each(Object.keys(NO_CHANGE))('%s does not change the graph', (k) => {
    const s = tinySpec({ layerScale: 0.1 });
    NO_CHANGE[k](s);
    for (const mode of ['eval', 'train'] as const)
      expect(graphText(s, mode)).toBe(graphText(tinySpec({ layerScale: 0.1 }), mode));
  });
});
