// The benchmark peers compute the same function as vitc: on the tiny PyTorch fixture models
// (test/fixtures/, their own weights and images), tfjs's and ONNX Runtime Web's logits match
// PyTorch's and vitc's to 1e-4 relative L2 (bench/run.ts refuses to time a peer that does not).
// Correctness only — nothing here is timed. ONNX Runtime compiles its WGSL slowly on SwiftShader
// (about a minute, once per process), so it runs on four fixtures that together exercise almost
// every op mapping of bench/onnx/export.ts; tfjs runs on all of them.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Spec } from '../../compiler/spec/types.js';
import { PEER_TOLERANCE } from '../../bench/run.js';
import { relL2 } from '../../bench/peers/peer.js';
import { vitcForward } from '../../bench/vitc.js';
import { encodeModel, ProtoWriter, DataType } from '../../bench/onnx/proto.js';
import { graphToOnnx } from '../../bench/onnx/export.js';
import { lowerVit } from '../../compiler/lower/vit.js';
import { type VitcDevice, sharedDevice } from '../../runtime/device.js';
import { readSafetensors, tensorData } from '../../runtime/safetensors.js';

const root = 'test/fixtures';
const CASES = readdirSync(root)
  .filter((d) => existsSync(join(root, d, 'spec.json')))
  .sort();
// rmsnorm + swiglu (sigmoid) + qk-norm + no position embedding; post-norm + gelu_tanh + mean
// pooling + fc_norm; distillation head (scale) + erf GELU + LayerNormalization; the sincos table
// (a constant initializer) + norm_pre.
const ORT_CASES = ['rmsnorm_swiglu', 'post_rmsnorm_gap', 'deit_distilled', 'sincos_pre_norm'];

interface Case {
  spec: Spec;
  params: Map<string, Float32Array>;
  image: Float32Array;
  batch: number;
  torch: Float64Array;
  vitc: Float32Array;
}

let dev: VitcDevice;
const cases = new Map<string, Case>();

async function load(name: string): Promise<Case> {
  const hit = cases.get(name);
  if (hit) return hit;
  const dir = join(root, name);
  const spec = JSON.parse(readFileSync(join(dir, 'spec.json'), 'utf8')) as Spec;
  const w = await readSafetensors(join(dir, 'weights.safetensors'));
  const params = new Map([...w.tensors.keys()].map((k) => [k, tensorData(w, k) as Float32Array]));
  const input = await readSafetensors(join(dir, 'input.safetensors'));
  const image = tensorData(input, 'image') as Float32Array;
  const batch = input.tensors.get('image')!.shape[0];
  const torch = tensorData(
    await readSafetensors(join(dir, 'expected.safetensors')),
    'logits',
  ) as Float64Array;
  const runner = await vitcForward(dev, spec, params, batch);
  const vitc = await runner.run(image);
  runner.destroy();
  const c = { spec, params, image, batch, torch, vitc };
  cases.set(name, c);
  return c;
}

/** The message of a peer-vs-vitc check, with vitc's own error against PyTorch for context. */
const vsVitc = (peer: string, name: string, c: Case) =>
  `${name}: ${peer} vs vitc (vitc vs torch: ${relL2(c.vitc, c.torch).toExponential(2)})`;

beforeAll(async () => {
  dev = await sharedDevice();
});

describe('ONNX encoding', () => {
  it('writes protobuf varints, fixed32 floats and nested messages', () => {
    const inner = new ProtoWriter().int(1, 300);
    const bytes = new ProtoWriter().int(1, 1).float(2, 1).message(3, inner).int(4, -1).finish();
    const expected = [
      [0x08, 0x01], // field 1, varint 1
      [0x15, 0x00, 0x00, 0x80, 0x3f], // field 2, fixed32 1.0f
      [0x1a, 0x03, 0x08, 0xac, 0x02], // field 3, message { field 1, varint 300 }
      [0x20, ...new Array<number>(9).fill(0xff), 0x01], // field 4, varint -1 (int64: ten bytes)
    ];
    expect([...bytes]).toEqual(expected.flat());
  });

  it('exports every op of every fixture graph (opset 17, initializers named as timm)', async () => {
    for (const name of CASES) {
      const spec = JSON.parse(readFileSync(join(root, name, 'spec.json'), 'utf8')) as Spec;
      const w = await readSafetensors(join(root, name, 'weights.safetensors'));
      const params = new Map(
        [...w.tensors.keys()].map((k) => [k, tensorData(w, k) as Float32Array]),
      );
      const m = graphToOnnx(lowerVit(spec, { batch: 2 }), { params });
      expect(m.outputs.map((o) => o.name)).toEqual(['logits']);
      expect(m.inputs).toEqual([
        {
          name: 'image',
          type: DataType.FLOAT,
          dims: [2, spec.image.channels, spec.image.height, spec.image.width],
        },
      ]);
      expect(m.initializers.map((t) => t.name)).toEqual(expect.arrayContaining([...params.keys()]));
      expect(encodeModel(m).length).toBeGreaterThan(
        4 * [...params.values()].reduce((a, p) => a + p.length, 0),
      );
    }
  });
});

describe('peers agree with PyTorch and vitc', () => {
  afterAll(() => {
    cases.clear();
  });

  it('tfjs (tfjs-backend-webgpu on vitc’s device), every fixture', async () => {
    const { createTfjsPeer } = await import('../../bench/peers/tfjs.js');
    for (const name of CASES) {
      const c = await load(name);
      const peer = await createTfjsPeer(dev, c.spec, c.params, c.batch);
      const got = await peer.forward(c.image);
      await peer.destroy();
      // The peer against PyTorch first: a failure vs vitc alone points at vitc, not the peer.
      expect.soft(relL2(got, c.torch), `${name}: tfjs vs torch`).toBeLessThan(PEER_TOLERANCE);
      expect.soft(relL2(got, c.vitc), vsVitc('tfjs', name, c)).toBeLessThan(PEER_TOLERANCE);
    }
  });

  it('onnxruntime-web (WebGPU EP on vitc’s device)', { timeout: 400_000 }, async () => {
    const { createOrtPeer } = await import('../../bench/peers/ort.js');
    for (const name of ORT_CASES) {
      const c = await load(name);
      const peer = await createOrtPeer(dev, c.spec, c.params, c.batch);
      const got = await peer.forward(c.image);
      await peer.destroy();
      expect.soft(relL2(got, c.torch), `${name}: ort vs torch`).toBeLessThan(PEER_TOLERANCE);
      expect.soft(relL2(got, c.vitc), vsVitc('ort', name, c)).toBeLessThan(PEER_TOLERANCE);
    }
  });
});
