// A tiny, fully explicit Spec for lowering tests: 8x8x3 image, patch 4, width 16, depth 2,
// heads 2. Tests change one field at a time with `tinySpec({...})` or by editing a clone.
import type { Spec } from '../../compiler/spec/types.js';

export function tinySpec(over: Partial<Spec> = {}): Spec {
  const base: Spec = {
    name: 'tiny',
    description: 'test model',
    chain: ['tiny'],
    image: { height: 8, width: 8, channels: 3 },
    patch: { height: 4, width: 4 },
    width: 16,
    depth: 2,
    heads: 2,
    mlp: { hidden: 32, activation: 'gelu' },
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
      batch: 128,
      epochs: 100,
      optimizer: {
        kind: 'adamw',
        lr: 1e-3,
        weightDecay: 0.05,
        betas: [0.9, 0.999],
        eps: 1e-8,
        momentum: 0.9,
      },
      schedule: { warmup: 5, kind: 'cosine', minLr: 1e-5 },
      smoothing: 0.1,
      clip: null,
      precision: 'f32',
      seed: 0,
      augment: { flip: false, cropPadding: 0 },
    },
  };
  return { ...structuredClone(base), ...structuredClone(over) };
}

/** Deterministic pseudo-random values in [-1, 1) (a small LCG), for weights and images. */
export function pseudoRandom(n: number, seed: number): Float64Array {
  const out = new Float64Array(n);
  let s = (seed * 2654435761 + 12345) >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}
