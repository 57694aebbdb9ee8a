// Every statement and option of docs/LANGUAGE.md resolves to the right Spec field.
import { describe, expect, it } from 'vitest';
import type { Spec } from '../../compiler/spec/types.js';
import { loadSpecText } from '../../compiler/spec/load.js';
import { base, knob, loadOne } from './support.js';

describe('defaults', () => {
  it('fills every field exactly as docs/LANGUAGE.md lists', () => {
    const s = loadOne(base());
    const expected: Spec = {
      name: 'm',
      description: '',
      chain: ['m'],
      image: { height: 32, width: 32, channels: 3 },
      patch: { height: 8, width: 8 },
      width: 64,
      depth: 2,
      heads: 4,
      mlp: { hidden: 256, activation: 'gelu' },
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
    };
    expect(s).toEqual(expected);
    // Key order follows types.ts so emitted JSON is stable.
    expect(Object.keys(s)).toEqual(Object.keys(expected));
  });

  it('default mean/std follow the channel count', () => {
    const s = loadOne('model g { image 28 x 28 x 1 patch 7 width 32 depth 1 heads 2 }');
    expect(s.preprocess.mean).toEqual([0.5]);
    expect(s.preprocess.std).toEqual([0.5]);
  });
});

describe('model statements', () => {
  it('image H x W x C', () => {
    const s = loadOne('model m { image 48 x 64 x 5 patch 16 width 64 depth 1 heads 4 }');
    expect(s.image).toEqual({ height: 48, width: 64, channels: 5 });
  });
  it('image H x W means 3 channels', () => {
    const s = loadOne('model m { image 48 x 64 patch 16 width 64 depth 1 heads 4 }');
    expect(s.image).toEqual({ height: 48, width: 64, channels: 3 });
  });
  it('image written without spaces (48x64x1)', () => {
    const s = loadOne('model m { image 48x64x1 patch 16 width 64 depth 1 heads 4 }');
    expect(s.image).toEqual({ height: 48, width: 64, channels: 1 });
  });
  it('patch P is square', () => {
    expect(loadOne(base().replace('patch 8', 'patch 4')).patch).toEqual({ height: 4, width: 4 });
  });
  it('patch H x W', () => {
    const s = loadOne('model m { image 32 x 32 patch 16 x 8 width 64 depth 1 heads 4 }');
    expect(s.patch).toEqual({ height: 16, width: 8 });
  });
  it('width', () => expect(loadOne(base().replace('width 64', 'width 96')).width).toBe(96));
  it('depth', () => expect(loadOne(base().replace('depth 2', 'depth 7')).depth).toBe(7));
  it('heads', () => expect(loadOne(base().replace('heads 4', 'heads 8')).heads).toBe(8));
  it('mlp ratio R → hidden = floor(width × R)', () => {
    expect(knob('mlp ratio 2').mlp.hidden).toBe(128);
    expect(knob('mlp ratio 2.7').mlp.hidden).toBe(172); // floor(172.8)
  });
  it('mlp hidden N', () =>
    expect(knob('mlp hidden 100').mlp).toEqual({ hidden: 100, activation: 'gelu' }));
  it.each(['gelu', 'gelu_tanh', 'relu', 'swiglu'] as const)('mlp activation %s', (a) => {
    expect(knob(`mlp ${a}`).mlp).toEqual({ hidden: 256, activation: a });
  });
  it('norm placement', () => expect(knob('norm post').norm.placement).toBe('post'));
  it('norm kind', () => expect(knob('norm rmsnorm').norm.kind).toBe('rmsnorm'));
  it('norm eps', () =>
    expect(knob('norm eps 1e-5').norm).toEqual({ placement: 'pre', kind: 'layernorm', eps: 1e-5 }));
  it('norm with every part', () => {
    expect(knob('norm post rmsnorm eps 1e-12').norm).toEqual({
      placement: 'post',
      kind: 'rmsnorm',
      eps: 1e-12,
    });
  });
  it('qkv_bias', () => expect(knob('qkv_bias false').qkvBias).toBe(false));
  it('qk_norm', () => expect(knob('qk_norm true').qkNorm).toBe(true));
  it('layer_scale INIT', () => expect(knob('layer_scale 1e-5').layerScale).toBe(1e-5));
  it('layer_scale off', () => expect(knob('layer_scale off').layerScale).toBeNull());
  it('tokens cls distill registers N', () => {
    expect(knob('tokens cls distill registers 4').tokens).toEqual({
      cls: true,
      distill: true,
      registers: 4,
    });
  });
  it('tokens registers only (no cls) with mean pooling', () => {
    expect(knob('tokens registers 2 pool mean').tokens).toEqual({
      cls: false,
      distill: false,
      registers: 2,
    });
  });
  it('tokens none', () => {
    expect(knob('tokens none pool mean').tokens).toEqual({
      cls: false,
      distill: false,
      registers: 0,
    });
  });
  it('pos sincos2d never covers prefix tokens', () => {
    expect(knob('pos sincos2d').pos).toEqual({ kind: 'sincos2d', prefix: false });
  });
  it('pos none', () => expect(knob('pos none').pos).toEqual({ kind: 'none', prefix: false }));
  it('pos learned no_prefix', () =>
    expect(knob('pos learned no_prefix').pos).toEqual({ kind: 'learned', prefix: false }));
  it('pos learned prefix', () =>
    expect(knob('pos learned prefix').pos).toEqual({ kind: 'learned', prefix: true }));
  it('pre_norm', () => expect(knob('pre_norm true').preNorm).toBe(true));
  it('final_norm', () => expect(knob('final_norm false').finalNorm).toBe(false));
  it('pool mean turns fc_norm auto on', () => {
    const s = knob('pool mean');
    expect([s.pool, s.fcNorm]).toEqual(['mean', true]);
  });
  it('fc_norm false with mean pooling', () =>
    expect(knob('pool mean fc_norm false').fcNorm).toBe(false));
  it('fc_norm true with cls pooling', () => expect(knob('fc_norm true').fcNorm).toBe(true));
  it('fc_norm auto with cls pooling', () => expect(knob('fc_norm auto').fcNorm).toBe(false));
  it('head CLASSES', () => expect(knob('head 10').head).toEqual({ classes: 10 }));
  it('head 0 = features only', () => expect(knob('head 0').head).toEqual({ classes: 0 }));
  it.each(['embed', 'attn', 'proj', 'head', 'path'] as const)('dropout %s', (k) => {
    const d = knob(`dropout ${k} 0.25`).dropout;
    expect(d).toEqual({ embed: 0, attn: 0, proj: 0, head: 0, path: 0, [k]: 0.25 });
  });
  it('dropout with every rate', () => {
    expect(knob('dropout embed 0.1 attn 0.2 proj 0.3 head 0.4 path 0.5').dropout).toEqual({
      embed: 0.1,
      attn: 0.2,
      proj: 0.3,
      head: 0.4,
      path: 0.5,
    });
  });
  it('`head N` with N >= 1 after dropout starts the head statement', () => {
    const s = knob('dropout path 0.1 head 10');
    expect([s.dropout.path, s.dropout.head, s.head.classes]).toEqual([0.1, 0, 10]);
  });
  it.each(['trunc_normal', 'normal', 'jax'] as const)('init %s', (scheme) => {
    expect(knob(`init ${scheme}`).init).toEqual({ scheme, std: 0.02, seed: 0 });
  });
  it('init std and seed', () =>
    expect(knob('init std 0.01 seed 7').init).toEqual({
      scheme: 'trunc_normal',
      std: 0.01,
      seed: 7,
    }));
});

describe('preprocess block', () => {
  it('mean', () =>
    expect(knob('preprocess { mean 0.485 0.456 0.406 }').preprocess.mean).toEqual([
      0.485, 0.456, 0.406,
    ]));
  it('std', () =>
    expect(knob('preprocess { std 0.229 0.224 0.225 }').preprocess.std).toEqual([
      0.229, 0.224, 0.225,
    ]));
  it.each(['nearest', 'bilinear', 'bicubic'] as const)('interpolation %s', (i) => {
    expect(knob(`preprocess { interpolation ${i} }`).preprocess.interpolation).toBe(i);
  });
  it('crop', () => expect(knob('preprocess { crop 1 }').preprocess.crop).toBe(1));
});

describe('train block', () => {
  const train = (body: string) => knob(`train { ${body} }`).train;
  it('batch', () => expect(train('batch 32').batch).toBe(32));
  it('epochs', () => expect(train('epochs 300').epochs).toBe(300));
  it.each(['adamw', 'adam', 'sgd'] as const)('optimizer %s', (k) =>
    expect(train(`optimizer ${k}`).optimizer.kind).toBe(k),
  );
  it('optimizer lr', () => expect(train('optimizer lr 5e-4').optimizer.lr).toBe(5e-4));
  it('optimizer weight_decay', () =>
    expect(train('optimizer weight_decay 0').optimizer.weightDecay).toBe(0));
  it('optimizer betas', () =>
    expect(train('optimizer betas 0.8 0.95').optimizer.betas).toEqual([0.8, 0.95]));
  it('optimizer eps', () => expect(train('optimizer eps 1e-6').optimizer.eps).toBe(1e-6));
  it('optimizer sgd momentum', () => {
    expect(train('optimizer sgd momentum 0.8').optimizer).toEqual({
      kind: 'sgd',
      lr: 1e-3,
      weightDecay: 0.05,
      betas: [0.9, 0.999],
      eps: 1e-8,
      momentum: 0.8,
    });
  });
  it('schedule warmup', () =>
    expect(train('schedule warmup 2').schedule).toEqual({
      warmup: 2,
      kind: 'cosine',
      minLr: 1e-5,
    }));
  it.each(['cosine', 'linear', 'constant'] as const)('schedule %s', (k) =>
    expect(train(`schedule ${k}`).schedule.kind).toBe(k),
  );
  it('schedule min_lr', () => expect(train('schedule min_lr 1e-6').schedule.minLr).toBe(1e-6));
  it('loss smoothing', () => expect(train('loss cross_entropy smoothing 0').smoothing).toBe(0));
  it('clip NORM', () => expect(train('clip 1.0').clip).toBe(1));
  it('clip off', () => expect(train('clip off').clip).toBeNull());
  it('precision f32', () => expect(train('precision f32').precision).toBe('f32'));
  // Parsed and kept, but vitc trains in f32: the spec loads with a VITC0326 warning, not silently.
  it.each(['f16', 'mixed'] as const)('precision %s', (p) => {
    const r = loadSpecText(base(`train { precision ${p} }`), 'test.vit');
    expect(r.specs[0]!.train.precision).toBe(p);
    expect(r.diagnostics.map((d) => `${d.code} ${d.severity} ${d.message}`)).toEqual([
      `VITC0326 warning train precision ${p} has no effect: vitc trains in f32`,
    ]);
  });
  it('seed', () => expect(train('seed 42').seed).toBe(42));
  it('augment flip crop_padding', () =>
    expect(train('augment flip crop_padding 4').augment).toEqual({ flip: true, cropPadding: 4 }));
  it('augment none', () =>
    expect(train('augment none').augment).toEqual({ flip: false, cropPadding: 0 }));
  it('statements in any order and on one line', () => {
    const t = train('seed 3 clip 2 batch 8 epochs 9');
    expect([t.seed, t.clip, t.batch, t.epochs]).toEqual([3, 2, 8, 9]);
  });
});
