// Every spec in specs/ resolves cleanly and reproduces what its header comment claims.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatDiagnostics } from '../../compiler/diagnostics.js';
import { specFacts } from '../../compiler/spec/facts.js';
import { loadSpecFile, resolveSpec } from '../../compiler/spec/load.js';
import type { Spec } from '../../compiler/spec/types.js';

const dir = 'specs';
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.vit'))
  .sort();

/** The default (last) model of a zoo file; fails the test with the formatted diagnostics. */
function zoo(file: string, model?: string): Spec {
  const r = resolveSpec(join(dir, file), model);
  expect(r.diagnostics, formatDiagnostics(r.diagnostics, r.sources)).toEqual([]);
  expect(r.spec).toBeDefined();
  return r.spec!;
}

describe('the zoo', () => {
  it('has the models the design lists', () => {
    for (const f of ['vit-tiny', 'vit-small', 'vit-medium', 'vit-base', 'vit-large', 'vit-huge']) {
      expect(files).toContain(`${f}.vit`);
    }
    for (const f of ['deit-tiny', 'deit-small', 'deit-base']) {
      expect(files).toContain(`${f}.vit`);
      expect(files).toContain(`${f}-distilled.vit`);
    }
    for (const f of [
      'vit-6l-pre',
      'vit-post',
      'vit-relu-nofinal',
      'vit-small-reg4',
      'fmnist-tiny',
    ]) {
      expect(files).toContain(`${f}.vit`);
    }
  });

  it.each(files)('%s resolves with no diagnostics, and every model has a description', (file) => {
    const text = readFileSync(join(dir, file), 'utf8');
    expect(text.startsWith('# ')).toBe(true);
    const r = loadSpecFile(join(dir, file));
    expect(r.diagnostics, formatDiagnostics(r.diagnostics, r.sources)).toEqual([]);
    expect(r.specs.length).toBeGreaterThan(0);
    for (const s of r.specs) expect(s.description.length).toBeGreaterThan(10);
    expect(zoo(file).name).toBe(r.specs[r.specs.length - 1].name);
  });
});

describe('timm parameter counts', () => {
  it.each([
    ['vit-tiny.vit', 'vit_tiny_patch16_224', 5_717_416],
    ['vit-small.vit', 'vit_small_patch16_224', 22_050_664],
    ['vit-base.vit', 'vit_base_patch16_224', 86_567_656],
    ['vit-large.vit', 'vit_large_patch16_224', 304_326_632],
    // DeiT distilled: + dist token + one more position + head_dist (timm: 5.91 M, 22.44 M, 87.34 M)
    [
      'deit-tiny-distilled.vit',
      'deit_tiny_distilled_patch16_224',
      5_717_416 + 2 * 192 + 192_000 + 1000,
    ],
    [
      'deit-small-distilled.vit',
      'deit_small_distilled_patch16_224',
      22_050_664 + 2 * 384 + 384_000 + 1000,
    ],
    ['deit-base-distilled.vit', 'deit_base_distilled_patch16_224', 87_338_192],
    // Registers: + 4 register tokens, and the position embedding no longer covers cls.
    ['vit-small-reg4.vit', 'vit_small_patch16_224_reg4', 22_050_664 + 4 * 384 - 384],
  ])('%s: %s has %i parameters', (file, name, expected) => {
    const s = zoo(file);
    expect(s.name).toBe(name);
    expect(specFacts(s).params.total).toBe(expected);
  });

  it('patch variants and the large models match timm model cards (M, one decimal)', () => {
    const m = (file: string, model?: string) =>
      (specFacts(zoo(file, model)).params.total / 1e6).toFixed(1);
    expect(m('vit-small-32.vit')).toBe('22.9');
    expect(m('vit-base-32.vit')).toBe('88.2');
    expect(m('vit-base-8.vit')).toBe('86.6');
    expect(m('vit-medium.vit')).toBe('38.9');
    expect(m('vit-medium.vit', 'vit_medium_patch16_reg4_gap_256')).toBe('38.9');
    const huge = zoo('vit-huge.vit');
    expect(huge.patch).toEqual({ height: 14, width: 14 });
    // timm's ViT-H/14 weights are head-less: 630.8 M without the 1000-class head.
    expect(((specFacts(huge).params.total - specFacts(huge).params.head) / 1e6).toFixed(1)).toBe(
      '630.8',
    );
  });
});

describe('what the zoo files say', () => {
  it('DeiT: ImageNet mean/std, crop 0.875, bicubic, inherited by the distilled models', () => {
    for (const f of ['deit-base.vit', 'deit-small-distilled.vit']) {
      const p = zoo(f).preprocess;
      expect(p).toEqual({
        mean: [0.485, 0.456, 0.406],
        std: [0.229, 0.224, 0.225],
        interpolation: 'bicubic',
        crop: 0.875,
      });
    }
    const d = zoo('deit-tiny-distilled.vit');
    expect(d.chain).toEqual(['deit_tiny_distilled_patch16_224', 'deit_tiny_patch16_224']);
    expect(d.tokens).toEqual({ cls: true, distill: true, registers: 0 });
    expect(d.pos.prefix).toBe(true);
    expect(d.train.epochs).toBe(300);
  });

  it('timm augreg ViTs: mean/std 0.5, bicubic, crop 0.9; patch variants inherit it', () => {
    for (const f of ['vit-base.vit', 'vit-base-32.vit', 'vit-small-32.vit']) {
      expect(zoo(f).preprocess).toEqual({
        mean: [0.5, 0.5, 0.5],
        std: [0.5, 0.5, 0.5],
        interpolation: 'bicubic',
        crop: 0.9,
      });
    }
    expect(zoo('vit-base-32.vit').chain).toEqual(['vit_base_patch32_224', 'vit_base_patch16_224']);
  });

  it('vit_medium_patch16_gap_256: no cls, mean pool after the final norm, LayerScale, no qkv bias', () => {
    const s = zoo('vit-medium.vit');
    expect(s.image).toEqual({ height: 256, width: 256, channels: 3 });
    expect([s.width, s.depth, s.heads, s.mlp.hidden]).toEqual([512, 12, 8, 2048]);
    expect(s.tokens).toEqual({ cls: false, distill: false, registers: 0 });
    expect([s.pool, s.fcNorm, s.finalNorm, s.qkvBias, s.layerScale]).toEqual([
      'mean',
      false,
      true,
      false,
      1e-6,
    ]);
    expect(s.preprocess.crop).toBe(0.95);
    const reg = zoo('vit-medium.vit', 'vit_medium_patch16_reg4_gap_256');
    expect(reg.tokens).toEqual({ cls: false, distill: false, registers: 4 });
    expect([reg.pool, reg.fcNorm, reg.qkvBias, reg.layerScale, reg.pos.prefix]).toEqual([
      'mean',
      true,
      true,
      1e-5,
      false,
    ]);
  });

  it('post-norm and ReLU/no-final-norm variants differ from vit_6l_pre only where they say', () => {
    const pre = zoo('vit-6l-pre.vit');
    const post = zoo('vit-post.vit');
    const relu = zoo('vit-relu-nofinal.vit');
    expect(pre.depth).toBe(6);
    expect(pre.norm.placement).toBe('pre');
    expect(post.norm).toEqual({ ...pre.norm, placement: 'post' });
    expect(post.finalNorm).toBe(false);
    expect(relu.mlp).toEqual({ hidden: pre.mlp.hidden, activation: 'relu' });
    expect(relu.finalNorm).toBe(false);
    expect(relu.norm).toEqual(pre.norm);
    const strip = (s: Spec) => ({
      ...s,
      name: '',
      description: '',
      chain: [],
      norm: null,
      mlp: null,
      finalNorm: null,
    });
    expect(strip(post)).toEqual(strip(pre));
    expect(strip(relu)).toEqual(strip(pre));
  });

  it('fmnist-tiny: 28x28x1, 10 classes, Fashion-MNIST statistics and a CPU-sized train block', () => {
    const s = zoo('fmnist-tiny.vit');
    expect(s.image).toEqual({ height: 28, width: 28, channels: 1 });
    expect(s.head.classes).toBe(10);
    expect(s.preprocess).toEqual({
      mean: [0.286],
      std: [0.353],
      interpolation: 'bilinear',
      crop: 1,
    });
    // The recipe the bundled model was trained with (docs/TRAINING.md): 5 short epochs.
    expect(s.patch).toEqual({ height: 7, width: 7 });
    expect(s.train.batch).toBe(32);
    expect(s.train.epochs).toBe(5);
    expect(s.train.optimizer).toMatchObject({ kind: 'adamw', lr: 2e-3, weightDecay: 0.05 });
    expect(s.train.schedule).toMatchObject({ kind: 'cosine', warmup: 0.25 });
    expect(s.train.smoothing).toBe(0);
    expect(s.train.augment).toEqual({ flip: false, cropPadding: 0 });
    expect(specFacts(s).params.total).toBeLessThan(500_000);
  });
});
