// Every PyTorch fixture through the emitted WGSL on WebGPU (SwiftShader in CI): logits and
// attention probabilities within 1e-5 relative L2 of PyTorch's float64 results.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileSpec } from '../../compiler/pipeline.js';
import type { Spec } from '../../compiler/spec/types.js';
import { PlanExecutor } from '../../runtime/executor.js';
import { sharedDevice } from '../../runtime/device.js';
import { readSafetensors, tensorData } from '../../runtime/safetensors.js';

const root = 'test/fixtures';
const cases = readdirSync(root).filter((d) => existsSync(join(root, d, 'spec.json')));

function relL2(out: ArrayLike<number>, ref: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < ref.length; i++) {
    num += (out[i] - ref[i]) ** 2;
    den += ref[i] ** 2;
  }
  return Math.sqrt(num / den);
}

const executors: PlanExecutor[] = [];
afterAll(() => executors.forEach((e) => e.destroy()));

describe('PyTorch fixtures on WebGPU', () => {
  it('has fixtures', () => expect(cases.length).toBeGreaterThanOrEqual(9));
  for (const c of cases) {
    it(`${c}: logits and attention match PyTorch to 1e-5`, async () => {
      const spec = JSON.parse(readFileSync(join(root, c, 'spec.json'), 'utf8')) as Spec;
      const weights = await readSafetensors(join(root, c, 'weights.safetensors'));
      const input = await readSafetensors(join(root, c, 'input.safetensors'));
      const expected = await readSafetensors(join(root, c, 'expected.safetensors'));
      const image = tensorData(input, 'image') as Float32Array;
      const batch = input.tensors.get('image')!.shape[0];
      const { plan } = compileSpec(spec, { batch, attention: true, dump: [] });
      const dev = await sharedDevice();
      const ex = await PlanExecutor.create(dev, plan);
      executors.push(ex);
      const params = new Map<string, Float32Array>();
      for (const p of plan.params) params.set(p.name, tensorData(weights, p.name) as Float32Array);
      ex.setParams(params);
      const out = await ex.run({ image });
      const logits = relL2(out.logits, tensorData(expected, 'logits') as Float64Array);
      expect(logits).toBeLessThan(1e-5);
      for (let i = 0; i < spec.depth; i++) {
        const err = relL2(out[`attn.${i}`], tensorData(expected, `attn.${i}`) as Float64Array);
        expect(err, `attn.${i}`).toBeLessThan(1e-5);
      }
    });
  }
});
