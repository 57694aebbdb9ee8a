// Model facts against published numbers (timm parameter counts, fvcore/timm GMACs and activation
// counts) and against hand-derived formulas for the variants timm does not publish.
import { describe, expect, it } from 'vitest';
import { specFacts } from '../../compiler/spec/facts.js';
import { paramCount } from '../../compiler/spec/params.js';
import type { Spec } from '../../compiler/spec/types.js';

type Overrides = Partial<Omit<Spec, 'image' | 'patch' | 'mlp'>> & {
  image?: number | Spec['image'];
  patch?: number;
  mlpRatio?: number;
  activation?: Spec['mlp']['activation'];
};

/** A Spec with the defaults of docs/LANGUAGE.md; sizes as in timm's registry functions. */
function makeSpec(width: number, depth: number, heads: number, o: Overrides = {}): Spec {
  const { image = 224, patch = 16, mlpRatio = 4, activation = 'gelu', ...rest } = o;
  const img = typeof image === 'number' ? { height: image, width: image, channels: 3 } : image;
  return {
    name: 'test',
    description: '',
    chain: ['test'],
    image: img,
    patch: { height: patch, width: patch },
    width,
    depth,
    heads,
    mlp: { hidden: Math.floor(width * mlpRatio), activation },
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
    head: { classes: 1000 },
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
    ...rest,
  };
}

const vitTiny = () => makeSpec(192, 12, 3);
const vitSmall = () => makeSpec(384, 12, 6);
const vitBase = () => makeSpec(768, 12, 12);
const vitLarge = () => makeSpec(1024, 24, 16);
const vitHuge = () => makeSpec(1280, 32, 16, { patch: 14 });

describe('specFacts: timm parameter counts', () => {
  it.each([
    ['vit_tiny_patch16_224', vitTiny, 5_717_416],
    ['vit_small_patch16_224', vitSmall, 22_050_664],
    ['vit_base_patch16_224', vitBase, 86_567_656],
    ['vit_large_patch16_224', vitLarge, 304_326_632],
  ])('%s has %i parameters', (_name, make, expected) => {
    const f = specFacts(make());
    expect(f.params.total).toBe(expected);
    expect(f.params.total).toBe(paramCount(make()));
  });

  it('the breakdown sums to the total and splits ViT-B/16 as timm does', () => {
    const p = specFacts(vitBase()).params;
    expect(p.embedding + p.blocks + p.norms + p.head).toBe(p.total);
    // cls 768 + pos 197*768 + conv 768*3*16*16 + 768
    expect(p.embedding).toBe(768 + 197 * 768 + 768 * 768 + 768);
    // norm1, qkv, proj, norm2, fc1, fc2
    expect(p.perBlock).toBe(
      1536 + (768 * 2304 + 2304) + (768 * 768 + 768) + 1536 + 2 * (768 * 3072) + 3072 + 768,
    );
    expect(p.blocks).toBe(12 * p.perBlock);
    expect(p.norms).toBe(1536);
    expect(p.head).toBe(768 * 1000 + 1000);
  });

  it('DeiT distilled adds a token, a position and a head (timm deit_base_distilled: 87,338,192)', () => {
    const s = makeSpec(768, 12, 12, { tokens: { cls: true, distill: true, registers: 0 } });
    expect(specFacts(s).params.total).toBe(87_338_192);
    expect(specFacts(s).tokens).toEqual({ total: 198, prefix: 2, patches: 196 });
  });

  it('ViT-H/14 without its head is timm vit_huge_patch14_224.orig_in21k (630.8 M)', () => {
    const s = vitHuge();
    s.head = { classes: 0 };
    expect(specFacts(s).params.total).toBe(630_764_800);
  });
});

describe('specFacts: tokens and grid', () => {
  it('ViT-B/16 at 224 has a 14x14 grid and 197 tokens', () => {
    const f = specFacts(vitBase());
    expect(f.grid).toEqual({ rows: 14, cols: 14 });
    expect(f.tokens).toEqual({ total: 197, prefix: 1, patches: 196 });
    expect(f.headDim).toBe(64);
  });

  it('rectangular patches and registers', () => {
    const s = makeSpec(64, 2, 4, {
      image: { height: 28, width: 28, channels: 1 },
      tokens: { cls: true, distill: false, registers: 4 },
    });
    s.patch = { height: 7, width: 4 };
    const f = specFacts(s);
    expect(f.grid).toEqual({ rows: 4, cols: 7 });
    expect(f.tokens).toEqual({ total: 33, prefix: 5, patches: 28 });
  });
});

describe('specFacts: MACs and FLOPs (fvcore convention)', () => {
  it('ViT-B/16 at 224 is 17.56 GMACs, exactly the matmul count', () => {
    const f = specFacts(vitBase());
    expect(f.macs).toBe(17_563_828_224);
    expect(f.flops).toBe(2 * 17_563_828_224);
    expect(f.macsBreakdown.patchEmbed).toBe(196 * 768 * 768);
    expect(f.macsBreakdown.attnScores).toBe(12 * 197 * 197 * 768);
    expect(f.macsBreakdown.head).toBe(768 * 1000);
  });

  it('matches timm model cards to their printed precision', () => {
    expect((specFacts(vitSmall()).macs / 1e9).toFixed(1)).toBe('4.6');
    expect((specFacts(vitLarge()).macs / 1e9).toFixed(1)).toBe('61.6');
    expect((specFacts(vitTiny()).macs / 1e9).toFixed(1)).toBe('1.3');
  });

  it('SwiGLU has three MLP matrices, ReLU/GELU two', () => {
    const gelu = specFacts(makeSpec(64, 1, 4, { image: 32, patch: 8 }));
    const swiglu = specFacts(makeSpec(64, 1, 4, { image: 32, patch: 8, activation: 'swiglu' }));
    const N = 17;
    expect(gelu.macsBreakdown.mlp).toBe(2 * N * 64 * 256);
    expect(swiglu.macsBreakdown.mlp).toBe(3 * N * 64 * 256);
  });

  it('features-only models have no head MACs; distilled models have two heads', () => {
    expect(specFacts(makeSpec(64, 1, 4, { head: { classes: 0 } })).macsBreakdown.head).toBe(0);
    const d = makeSpec(64, 1, 4, { tokens: { cls: true, distill: true, registers: 0 } });
    expect(specFacts(d).macsBreakdown.head).toBe(2 * 64 * 1000);
  });

  it('non-matmul work is counted separately and grows with the options that add it', () => {
    const plain = specFacts(vitBase()).otherFlops;
    expect(plain).toBeGreaterThan(0);
    expect(plain).toBeLessThan(specFacts(vitBase()).flops / 20);
    expect(specFacts(makeSpec(768, 12, 12, { layerScale: 1e-5 })).otherFlops).toBe(
      plain + 12 * 2 * 197 * 768,
    );
  });
});

describe('specFacts: activations', () => {
  it('fvcore activation counts match timm model cards (ViT-B/16 23.9 M, ViT-L/16 63.5 M, ViT-H/14 139.4 M)', () => {
    expect(specFacts(vitBase()).timmActivations).toBe(23_895_544);
    expect((specFacts(vitLarge()).timmActivations / 1e6).toFixed(1)).toBe('63.5');
    expect((specFacts(vitHuge()).timmActivations / 1e6).toFixed(1)).toBe('139.4');
  });

  it('training memory for a one-block model equals the hand count', () => {
    // 1 block, N = 5 tokens (2x2 patches + cls), D = 8, hidden 32, 2 heads, 4 classes, 8x8x3 image.
    const s = makeSpec(8, 1, 2, { image: 8, patch: 4, head: { classes: 4 } });
    const N = 5;
    const D = 8;
    const H = 32;
    const perBlock =
      2 * (N * D + 2 * N) + // norm inputs + mean/rstd
      2 * N * D + // qkv and fc1 inputs
      3 * N * D + // q, k, v
      2 * N * N + // attention probabilities
      N * D + // proj input
      2 * N * H; // gelu input and output
    const rest = 8 * 8 * 3 + (N * D + 2 * N) + D + 4; // image, final norm, head input, logits
    expect(specFacts(s).activationBytes.train).toBe(4 * (perBlock + rest));
  });

  it('ReLU keeps one hidden tensor, SwiGLU three; RMSNorm keeps one statistic per row', () => {
    const base = makeSpec(8, 1, 2, { image: 8, patch: 4 });
    const t = (s: Spec) => specFacts(s).activationBytes.train / 4;
    const N = 5;
    expect(t(base) - t(makeSpec(8, 1, 2, { image: 8, patch: 4, activation: 'relu' }))).toBe(N * 32);
    expect(t(makeSpec(8, 1, 2, { image: 8, patch: 4, activation: 'swiglu' })) - t(base)).toBe(
      N * 32,
    );
    const rms = makeSpec(8, 1, 2, { image: 8, patch: 4 });
    rms.norm = { ...rms.norm, kind: 'rmsnorm' };
    expect(t(base) - t(rms)).toBe(3 * N); // three norms over N rows lose their mean
  });

  it('inference peak is the attention working set for ViT-B/16', () => {
    const N = 197;
    expect(specFacts(vitBase()).activationBytes.inferencePeak).toBe(4 * (5 * N * 768 + 12 * N * N));
    // ...and far below what training keeps.
    expect(specFacts(vitBase()).activationBytes.train).toBeGreaterThan(
      20 * specFacts(vitBase()).activationBytes.inferencePeak,
    );
  });
});
