// Loading and saving model weights: naming detection, HF ↔ timm mapping, checks, conversions.
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { modelParams } from '../../compiler/spec/params.js';
import type { Spec } from '../../compiler/spec/types.js';
import { decodeBf16, decodeF16, encodeBf16, encodeF16 } from '../../runtime/half.js';
import { toHfNames } from '../../runtime/hf-names.js';
import { initParams } from '../../runtime/init.js';
import { resamplePosEmbed } from '../../runtime/posembed-resize.js';
import { type TensorToWrite, encodeSafetensors } from '../../runtime/safetensors.js';
import {
  WeightsError,
  encodeWeights,
  loadWeights,
  readWeights,
  saveWeights,
} from '../../runtime/weights.js';
import { tinyDeitSpec, tinySpec } from './tiny-specs.js';

const shapes = (spec: Spec) => new Map(modelParams(spec).map((p) => [p.name, p.shape]));

/** timm-named tensors of a parameter map, for building files by hand. */
function timmTensors(spec: Spec, params: Map<string, Float32Array>): TensorToWrite[] {
  const s = shapes(spec);
  return [...params].map(([name, data]) => ({ name, dtype: 'F32', shape: s.get(name)!, data }));
}

function hfFile(
  spec: Spec,
  params: Map<string, Float32Array>,
  flavor?: 'vit' | 'deit',
  base?: string,
) {
  const tensors = toHfNames(params, spec, flavor, base).map((t) => ({
    ...t,
    dtype: 'F32' as const,
  }));
  return encodeSafetensors(tensors, { format: 'pt' });
}

function catchWeightsError(f: () => unknown): WeightsError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(WeightsError);
    return e as WeightsError;
  }
  throw new Error('expected a WeightsError');
}

describe('timm-named files', () => {
  it('round-trip through saveWeights/loadWeights bit for bit, in modelParams order', async () => {
    const spec = tinySpec();
    const params = initParams(spec, 7);
    const dir = await mkdtemp(join(tmpdir(), 'vitc-w-'));
    const path = join(dir, 'w.safetensors');
    await saveWeights(path, params, spec, { metadata: { epoch: '3' } });
    expect(await readdir(dir)).toEqual(['w.safetensors']);
    const notices: string[] = [];
    const loaded = await loadWeights(spec, path, { onNotice: (m) => notices.push(m) });
    expect([...loaded.keys()]).toEqual(modelParams(spec).map((p) => p.name));
    for (const [name, data] of params) expect(loaded.get(name), name).toEqual(data);
    expect(notices).toEqual([]);
  });

  it('store f16 and bf16 and load them back as float32', () => {
    const spec = tinySpec();
    const params = initParams(spec, 1);
    for (const [dtype, enc, dec] of [
      ['f16', encodeF16, decodeF16],
      ['bf16', encodeBf16, decodeBf16],
    ] as const) {
      const bytes = encodeWeights(params, spec, { dtype });
      expect(bytes.length).toBeLessThan(encodeWeights(params, spec).length * 0.6);
      const got = readWeights(spec, bytes);
      expect(got.naming).toBe('timm');
      expect(got.metadata.format).toBe('pt');
      for (const [name, data] of params) expect(got.params.get(name), name).toEqual(dec(enc(data)));
    }
  });

  it('convert F64 tensors to float32', () => {
    const spec = tinySpec();
    const params = initParams(spec, 2);
    const tensors = timmTensors(spec, params).map((t) => ({
      ...t,
      dtype: 'F64' as const,
      data: Float64Array.from(t.data as Float32Array),
    }));
    const got = readWeights(spec, encodeSafetensors(tensors)).params;
    for (const [name, data] of params) expect(got.get(name), name).toEqual(data);
  });
});

describe('Hugging Face names', () => {
  it('an HF ViT file and a timm file of the same weights load to identical maps', () => {
    const spec = tinySpec();
    const params = initParams(spec, 3);
    const timm = readWeights(spec, encodeWeights(params, spec));
    const hfBytes = hfFile(spec, params);
    const hf = readWeights(spec, hfBytes, { source: 'hf.safetensors' });
    expect(hf.naming).toBe('hf-vit');
    expect([...hf.params.keys()]).toEqual([...timm.params.keys()]);
    for (const [name, data] of timm.params) expect(hf.params.get(name), name).toEqual(data);
  });

  it('split qkv rows into query, key, value in that order, with HF names', () => {
    const spec = tinySpec();
    const params = initParams(spec, 4);
    const hf = new Map(toHfNames(params, spec).map((t) => [t.name, t]));
    const qkv = params.get('blocks.1.attn.qkv.weight')!;
    const D = spec.width;
    const layer = 'vit.encoder.layer.1.attention.attention';
    expect(hf.get(`${layer}.query.weight`)!.data).toEqual(qkv.slice(0, D * D));
    expect(hf.get(`${layer}.key.weight`)!.data).toEqual(qkv.slice(D * D, 2 * D * D));
    expect(hf.get(`${layer}.value.weight`)!.data).toEqual(qkv.slice(2 * D * D));
    expect(hf.get(`${layer}.value.bias`)!.shape).toEqual([D]);
    expect([...hf.keys()]).toEqual(
      expect.arrayContaining([
        'vit.embeddings.cls_token',
        'vit.embeddings.position_embeddings',
        'vit.embeddings.patch_embeddings.projection.weight',
        'vit.encoder.layer.0.layernorm_before.weight',
        'vit.encoder.layer.0.attention.output.dense.weight',
        'vit.encoder.layer.0.intermediate.dense.weight',
        'vit.encoder.layer.0.output.dense.bias',
        'vit.encoder.layer.0.layernorm_after.bias',
        'vit.layernorm.weight',
        'classifier.weight',
      ]),
    );
    expect(hf.size).toBe(modelParams(spec).length + 2 * spec.depth * 2);
  });

  it('DeiT distilled: HF DeiT names load to the same map as timm names', () => {
    const spec = tinyDeitSpec();
    const params = initParams(spec, 5);
    const names = toHfNames(params, spec).map((t) => t.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'deit.embeddings.distillation_token',
        'cls_classifier.weight',
        'distillation_classifier.bias',
      ]),
    );
    const hf = readWeights(spec, hfFile(spec, params));
    expect(hf.naming).toBe('hf-deit');
    const timm = readWeights(spec, encodeWeights(params, spec)).params;
    for (const [name, data] of timm) expect(hf.params.get(name), name).toEqual(data);
  });

  it('DeiT without distillation uses `classifier`; a bare ViTModel has no backbone prefix', () => {
    const spec = tinySpec();
    const params = initParams(spec, 6);
    const deit = readWeights(spec, hfFile(spec, params, 'deit'));
    expect(deit.naming).toBe('hf-deit');
    expect(toHfNames(params, spec, 'deit').map((t) => t.name)).toContain('classifier.weight');

    const bare = tinySpec({ head: { classes: 0 } });
    const bareParams = initParams(bare, 6);
    const bytes = hfFile(bare, bareParams, 'vit', '');
    const got = readWeights(bare, bytes);
    expect(got.naming).toBe('hf-vit');
    expect(toHfNames(bareParams, bare, 'vit', '').map((t) => t.name)).toContain(
      'embeddings.cls_token',
    );
    for (const [name, data] of bareParams) expect(got.params.get(name)).toEqual(data);
  });

  it('tolerates wrapper prefixes (module., model.) and says so', () => {
    const spec = tinySpec();
    const params = initParams(spec, 8);
    const tensors = toHfNames(params, spec).map((t) => ({
      ...t,
      name: `module.model.${t.name}`,
      dtype: 'F32' as const,
    }));
    const notices: string[] = [];
    const got = readWeights(spec, encodeSafetensors(tensors), { onNotice: (m) => notices.push(m) });
    expect(got.wrapper).toBe('module.model.');
    expect(notices.join()).toContain('module.model.');
    for (const [name, data] of params) expect(got.params.get(name)).toEqual(data);
  });

  it('drops tensors matched by `ignore` (e.g. a ViTModel pooler)', () => {
    const spec = tinySpec();
    const params = initParams(spec, 9);
    const tensors: TensorToWrite[] = toHfNames(params, spec).map((t) => ({ ...t, dtype: 'F32' }));
    tensors.push({
      name: 'vit.pooler.dense.weight',
      dtype: 'F32',
      shape: [16, 16],
      data: new Float32Array(256),
    });
    const bytes = encodeSafetensors(tensors);
    const err = catchWeightsError(() => readWeights(spec, bytes, { source: 'p.st' }));
    expect(err.message).toContain('unexpected vit.pooler.dense.weight [16, 16]');
    expect(readWeights(spec, bytes, { ignore: /^vit\.pooler\./ }).params.size).toBe(params.size);
  });

  it('refuses to name parameters HF ViT does not have', () => {
    const spec = tinySpec({ tokens: { cls: true, distill: false, registers: 4 } });
    expect(() => toHfNames(initParams(spec), spec)).toThrow(
      /reg_token has no Hugging Face ViT equivalent/,
    );
  });
});

describe('mismatches are reported together', () => {
  it('missing, extra and wrongly shaped tensors in one VITC0414 error', () => {
    const spec = tinySpec();
    const tensors = timmTensors(spec, initParams(spec))
      .filter((t) => t.name !== 'blocks.1.mlp.fc2.bias')
      .map((t) =>
        t.name === 'head.weight' ? { ...t, shape: [10, 8], data: new Float32Array(80) } : t,
      );
    tensors.push({ name: 'head.fc.weight', dtype: 'F32', shape: [3], data: new Float32Array(3) });
    const err = catchWeightsError(() =>
      readWeights(spec, encodeSafetensors(tensors), { source: 'w.st' }),
    );
    expect(err.code).toBe('VITC0414');
    expect(err.file).toBe('w.st');
    expect(err.problems.map((p) => `${p.kind} ${p.name}`).sort()).toEqual([
      'extra head.fc.weight',
      'missing blocks.1.mlp.fc2.bias',
      'shape head.weight',
    ]);
    expect(err.message).toContain('w.st: error VITC0414: weights do not match model "tiny"');
    expect(err.message).toContain('3 problems');
    expect(err.message).toContain('missing    blocks.1.mlp.fc2.bias: expected [16]');
    expect(err.message).toContain('shape      head.weight: expected [5, 16], found [10, 8]');
    expect(err.message).toContain('unexpected head.fc.weight [3]');
  });

  it('HF problems name both the timm and the file tensor', () => {
    const spec = tinySpec();
    const tensors = toHfNames(initParams(spec), spec)
      .filter((t) => t.name !== 'vit.encoder.layer.1.attention.attention.key.weight')
      .map((t) => ({ ...t, dtype: 'F32' as const }));
    const err = catchWeightsError(() => readWeights(spec, encodeSafetensors(tensors)));
    expect(err.problems).toHaveLength(1);
    expect(err.message).toContain(
      'missing    blocks.1.attn.qkv.weight (file: vit.encoder.layer.1.attention.attention.key.weight): expected [16, 16]',
    );
  });

  it('integer and non-finite tensors are problems too', () => {
    const spec = tinySpec();
    const params = initParams(spec);
    const tensors = timmTensors(spec, params).map((t): TensorToWrite => {
      if (t.name === 'norm.bias') return { ...t, dtype: 'I32', data: new Int32Array(16) };
      if (t.name === 'cls_token') return { ...t, data: new Float32Array(16).fill(NaN) };
      return t;
    });
    const bytes = encodeSafetensors(tensors);
    const err = catchWeightsError(() => readWeights(spec, bytes));
    expect(err.message).toContain('dtype      norm.bias [16] (integer dtype I32)');
    expect(err.message).toContain('non-finite cls_token [1, 1, 16] (16 NaN/Inf values)');
    const loose = catchWeightsError(() => readWeights(spec, bytes, { allowNonFinite: true }));
    expect(loose.problems.map((p) => p.kind)).toEqual(['dtype']);
  });

  it('a file for another architecture reports every parameter, the message capped at 40', () => {
    const spec = tinySpec();
    const other = tinySpec({ width: 32, depth: 4, mlp: { hidden: 128, activation: 'gelu' } });
    const err = catchWeightsError(() => readWeights(spec, encodeWeights(initParams(other), other)));
    // Every tensor but head.bias ([5] in both) changes shape; blocks 2 and 3 are unexpected.
    expect(err.problems.filter((p) => p.kind === 'shape')).toHaveLength(31);
    expect(err.problems.filter((p) => p.kind === 'extra')).toHaveLength(2 * 12);
    expect(err.message).toContain('55 problems');
    expect(err.message).toContain('… and 15 more');
    expect(err.message.split('\n')).toHaveLength(1 + 40 + 1);
  });

  it('loading a missing path is VITC0411', async () => {
    await expect(loadWeights(tinySpec(), '/no/such/w.safetensors')).rejects.toMatchObject({
      code: 'VITC0411',
    });
  });
});

describe('position embeddings from another grid', () => {
  const big = tinySpec({ name: 'big', image: { height: 16, width: 16, channels: 3 } }); // 4x4 grid

  it('are resized to the spec grid like timm, with a notice (timm and HF names)', () => {
    const spec = tinySpec(); // 2x2 grid
    const params = initParams(big, 11);
    const want = resamplePosEmbed(
      params.get('pos_embed')!,
      { rows: 4, cols: 4 },
      { rows: 2, cols: 2 },
      16,
      1,
    );
    for (const bytes of [encodeWeights(params, big), hfFile(big, params)]) {
      const notices: string[] = [];
      const got = readWeights(spec, bytes, { source: 'b.st', onNotice: (m) => notices.push(m) });
      expect(got.params.get('pos_embed')).toEqual(want);
      expect(got.params.get('blocks.0.attn.qkv.weight')).toEqual(
        params.get('blocks.0.attn.qkv.weight'),
      );
      expect(notices).toEqual([
        expect.stringMatching(/b\.st: pos_embed resized from a 4x4 to a 2x2 patch grid/),
      ]);
    }
  });

  it('that are not square are a shape problem unless the grid is given', () => {
    const wide = tinySpec({ image: { height: 8, width: 12, channels: 3 } }); // 2x3 grid
    const params = initParams(wide, 12);
    const bytes = encodeWeights(params, wide);
    const spec = tinySpec();
    const err = catchWeightsError(() => readWeights(spec, bytes));
    expect(err.message).toContain('shape      pos_embed: expected [1, 5, 16], found [1, 7, 16]');
    const got = readWeights(spec, bytes, {
      posEmbedGrid: { rows: 2, cols: 3 },
      onNotice: () => {},
    });
    const want = resamplePosEmbed(
      params.get('pos_embed')!,
      { rows: 2, cols: 3 },
      { rows: 2, cols: 2 },
      16,
      1,
    );
    expect(got.params.get('pos_embed')).toEqual(want);
  });
});

describe('saveWeights', () => {
  it('refuses an incomplete map (VITC0415) and writes nothing', async () => {
    const spec = tinySpec();
    const params = initParams(spec);
    params.delete('norm.weight');
    params.set('head.weight', new Float32Array(3));
    params.set('stray', new Float32Array(2));
    const dir = await mkdtemp(join(tmpdir(), 'vitc-w-'));
    const path = join(dir, 'w.safetensors');
    const err = await saveWeights(path, params, spec).then(
      () => null,
      (e: unknown) => e as WeightsError,
    );
    expect(err).toBeInstanceOf(WeightsError);
    expect(err!.code).toBe('VITC0415');
    expect(err!.message).toContain(`${path}: error VITC0415: parameters to save do not match`);
    expect(err!.message).toContain('missing    norm.weight: expected [16]');
    expect(err!.message).toContain('shape      head.weight: expected [5, 16], found [3]');
    expect(err!.message).toContain('unexpected stray [2]');
    expect(await readdir(dir)).toEqual([]);
  });
});
