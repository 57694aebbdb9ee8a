// f16 storage on WebGPU: every PyTorch fixture through an f16 plan on an adapter with
// 'shader-f16' (lavapipe, which scripts/setup.sh unpacks on every machine; SwiftShader lacks the
// feature). Only storage rounds (11 significant bits), so the logits stay within 5e-3 relative of
// PyTorch's; a wrong index or a missed conversion would be off by order 1. The f32 plan on the
// same adapter must stay within 1e-5, as everywhere.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileSpec } from '../../compiler/pipeline.js';
import type { Spec } from '../../compiler/spec/types.js';
import { PlanExecutor } from '../../runtime/executor.js';
import { acquireDevice, DeviceError, type VitcDevice } from '../../runtime/device.js';
import { readSafetensors, tensorData } from '../../runtime/safetensors.js';
import { relErr } from '../autodiff/helpers.js';

const root = 'test/fixtures';
const cases = readdirSync(root).filter((d) => existsSync(join(root, d, 'spec.json')));

let lavapipe: VitcDevice | undefined;
async function f16Device(): Promise<VitcDevice> {
  lavapipe ??= await acquireDevice({ adapter: 'lavapipe', quiet: true });
  expect(lavapipe.device.features.has('shader-f16')).toBe(true);
  return lavapipe;
}
afterAll(() => lavapipe?.destroy());

async function run(c: string, precision: 'f32' | 'f16') {
  const spec = JSON.parse(readFileSync(join(root, c, 'spec.json'), 'utf8')) as Spec;
  const weights = await readSafetensors(join(root, c, 'weights.safetensors'));
  const input = await readSafetensors(join(root, c, 'input.safetensors'));
  const expected = await readSafetensors(join(root, c, 'expected.safetensors'));
  const batch = input.tensors.get('image')!.shape[0];
  const { plan } = compileSpec(spec, { batch, attention: true, dump: [], precision });
  const ex = await PlanExecutor.create(await f16Device(), plan);
  try {
    const params = new Map<string, Float32Array>();
    for (const p of plan.params) params.set(p.name, tensorData(weights, p.name) as Float32Array);
    ex.setParams(params);
    const out = await ex.run({ image: tensorData(input, 'image') as Float32Array });
    const errs = [relErr(out.logits, tensorData(expected, 'logits') as Float64Array)];
    for (let i = 0; i < spec.depth; i++)
      errs.push(relErr(out[`attn.${i}`], tensorData(expected, `attn.${i}`) as Float64Array));
    // Parameters read back through the f16 buffers: each within half an f16 ulp of its f32 value.
    const back = await ex.readParams();
    let worst = 0;
    for (const [name, v] of back) {
      const w = tensorData(weights, name) as Float32Array;
      for (let i = 0; i < w.length; i++)
        worst = Math.max(worst, Math.abs(v[i] - w[i]) / Math.max(Math.abs(w[i]), 2 ** -14));
    }
    return { logits: errs[0], attention: Math.max(...errs.slice(1)), params: worst, plan };
  } finally {
    ex.destroy();
  }
}

describe('f16 storage on a shader-f16 adapter', () => {
  it('has fixtures', () => expect(cases.length).toBeGreaterThanOrEqual(9));
  for (const c of cases) {
    it(`${c}: f16 plan within 5e-3 of PyTorch (attention 1e-2), f32 within 1e-5`, async () => {
      const half = await run(c, 'f16');
      expect(half.logits).toBeLessThan(5e-3);
      // Probabilities are exp(scores): a score's absolute error grows with its size (the fixtures'
      // attention is far from uniform), so they move a little more than the logits.
      expect(half.attention).toBeLessThan(1e-2);
      // Storage really is f16: rounding shows (an f32 plan lands near 1e-6).
      expect(half.logits).toBeGreaterThan(5e-5);
      expect(half.params).toBeLessThanOrEqual(2 ** -11);
      expect(half.params).toBeGreaterThan(0);
      const full = await run(c, 'f32');
      expect(full.logits).toBeLessThan(1e-5);
      expect(full.attention).toBeLessThan(1e-5);
      expect(full.params).toBe(0);
    });
  }

  it('refuses an f16 plan on an adapter without shader-f16, naming the way out', async () => {
    const ss = await acquireDevice({ adapter: 'swiftshader', quiet: true });
    try {
      expect(ss.device.features.has('shader-f16')).toBe(false);
      const spec = JSON.parse(readFileSync(join(root, cases[0], 'spec.json'), 'utf8')) as Spec;
      const { plan } = compileSpec(spec, { batch: 1, dump: [], precision: 'f16' });
      const attempt = PlanExecutor.create(ss, plan);
      await expect(attempt).rejects.toBeInstanceOf(DeviceError);
      await expect(attempt).rejects.toThrow(/needs the WebGPU feature 'shader-f16'.*lavapipe/);
    } finally {
      ss.destroy();
    }
  });
});
