// Hand-built resolved Specs for the weights tests (no dependency on the parser or resolver).
import type { Spec } from '../../compiler/spec/types.js';

/** image 8x8x3, patch 4, width 16, depth 2, heads 2, 5 classes: a 2x2 patch grid. */
export function tinySpec(overrides: Partial<Spec> = {}): Spec {
  return {
    name: 'tiny',
    description: 'weights test model',
    chain: ['tiny'],
    image: { height: 8, width: 8, channels: 3 },
    patch: { height: 4, width: 4 },
    width: 16,
    depth: 2,
    heads: 2,
    mlp: { hidden: 64, activation: 'gelu' },
    norm: { placement: 'pre', kind: 'layernorm', eps: 1e-6 },
    qkvBias: true,
    qkNorm: false,
    layerScale: null,
    tokens: { cls: true, distill: false, registers: 0 },
    pos: { kind: 'learned', prefix: true },
    preNorm: false,
    finalNorm: true,
    pool: 'cls',
    fcNorm: false,
    head: { classes: 5 },
    dropout: { embed: 0, attn: 0, proj: 0, head: 0, path: 0 },
    init: { scheme: 'trunc_normal', std: 0.02, seed: 0 },
    preprocess: {
      mean: [0.5, 0.5, 0.5],
      std: [0.5, 0.5, 0.5],
      interpolation: 'bicubic',
      crop: 0.9,
    },
    train: {
      batch: 8,
      epochs: 1,
      optimizer: {
        kind: 'adamw',
        lr: 1e-3,
        weightDecay: 0.05,
        betas: [0.9, 0.999],
        eps: 1e-8,
        momentum: 0.9,
      },
      schedule: { warmup: 0, kind: 'constant', minLr: 0 },
      smoothing: 0,
      clip: null,
      precision: 'f32',
      seed: 0,
      augment: { flip: false, cropPadding: 0 },
    },
    ...overrides,
  };
}

/** The same model as DeiT distilled: cls + distillation token, two heads. */
export function tinyDeitSpec(overrides: Partial<Spec> = {}): Spec {
  return tinySpec({
    name: 'tiny_deit',
    chain: ['tiny_deit'],
    tokens: { cls: true, distill: true, registers: 0 },
    ...overrides,
  });
}
