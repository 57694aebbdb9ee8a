// Every spec in specs/ compiles; every emitted WGSL module compiles on the WebGPU device with no
// error in getCompilationInfo; compiling twice gives byte-identical output.
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { planForDisk, renderModelModule } from '../../compiler/codegen/emit.js';
import { compileSpec } from '../../compiler/pipeline.js';
import { resolveSpec } from '../../compiler/spec/load.js';
import { sharedDevice } from '../../runtime/device.js';

const specs = readdirSync('specs').filter((f) => f.endsWith('.vit')).sort();

describe('the zoo compiles', () => {
  const seen = new Map<string, string>();
  it('has the zoo', () => expect(specs.length).toBeGreaterThanOrEqual(20));
  for (const f of specs) {
    it(`${f}: every kernel compiles on the device`, async () => {
      const { spec, diagnostics } = resolveSpec(`specs/${f}`);
      expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
      const { plan } = compileSpec(spec!, { specFile: `specs/${f}`, dump: [] });
      expect(plan.steps.length).toBeGreaterThan(spec!.depth * 4);
      const { device } = await sharedDevice();
      for (const k of plan.kernels) {
        if (seen.has(k.wgsl!)) continue;
        seen.set(k.wgsl!, k.name);
        const mod = device.createShaderModule({ code: k.wgsl! });
        const info = await mod.getCompilationInfo();
        const errors = info.messages.filter((m) => m.type === 'error').map((m) => `${k.name}:${m.lineNum}:${m.linePos} ${m.message}`);
        expect(errors).toEqual([]);
      }
    });
  }
  it('compiling twice is byte-identical', async () => {
    const { spec } = resolveSpec('specs/vit-small-reg4.vit');
    const a = compileSpec(spec!, { specFile: 'specs/vit-small-reg4.vit', dump: [] }).plan;
    const b = compileSpec(spec!, { specFile: 'specs/vit-small-reg4.vit', dump: [] }).plan;
    expect(planForDisk(a)).toEqual(planForDisk(b));
    expect(await renderModelModule(a, spec!)).toEqual(await renderModelModule(b, spec!));
  });
});
