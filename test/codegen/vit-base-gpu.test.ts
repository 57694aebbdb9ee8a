// A compiled ViT-B/16 forward (batch 1, 224×224) on the WebGPU device (SwiftShader in CI)
// matches the float64 CPU interpreter of the same graph with the same seeded weights.
import { describe, expect, it } from 'vitest';
import { interpret } from '../../compiler/ir/interp.js';
import { compileSpec } from '../../compiler/pipeline.js';
import { resolveSpec } from '../../compiler/spec/load.js';
import { sharedDevice } from '../../runtime/device.js';
import { PlanExecutor } from '../../runtime/executor.js';
import { initParams } from '../../runtime/init.js';

describe('ViT-B/16 on WebGPU', () => {
  it('matches the CPU interpreter to 1e-5 relative', async () => {
    const { spec } = resolveSpec('specs/vit-base.vit');
    const { graph, plan } = compileSpec(spec!, { batch: 1, dump: [] });
    const params = initParams(spec!, 7);
    const image = new Float32Array(3 * 224 * 224);
    for (let i = 0; i < image.length; i++) image[i] = Math.sin(i * 0.37) * 1.5;
    const ex = await PlanExecutor.create(await sharedDevice(), plan);
    ex.setParams(params);
    const gpu = (await ex.run({ image })).logits;
    ex.destroy();
    const cpu = interpret(graph, new Map([['image', Float64Array.from(image)]]), params).get('logits')!;
    let num = 0;
    let den = 0;
    for (let i = 0; i < cpu.length; i++) {
      num += (gpu[i] - cpu[i]) ** 2;
      den += cpu[i] ** 2;
    }
    expect(cpu.length).toBe(1000);
    expect(den).toBeGreaterThan(0);
    expect(Math.sqrt(num / den)).toBeLessThan(1e-5);
  }, 600_000);
});
