// Gradients on WebGPU: the forward + backward graph of every PyTorch fixture, compiled to WGSL
// and run on the device, gives every parameter's gradient within 1e-5 relative of PyTorch.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { attentionOps } from '../../compiler/autodiff/attention-op.js';
import { buildGradients } from '../../compiler/autodiff/grad.js';
import { selectKernels } from '../../compiler/codegen/select.js';
import { lowerVit } from '../../compiler/lower/vit.js';
import type { Spec } from '../../compiler/spec/types.js';
import { sharedDevice } from '../../runtime/device.js';
import { PlanExecutor } from '../../runtime/executor.js';
import { readSafetensors, tensorData } from '../../runtime/safetensors.js';

const root = 'test/fixtures';
const cases = readdirSync(root).filter((d) => existsSync(join(root, d, 'spec.json')));

describe('gradients on WebGPU vs PyTorch', () => {
  // 'op': attention as attention ops (the training plans' form: flash backward kernels);
  // 'explicit': the lowering's matmul / softmax chain differentiated op by op.
  for (const c of cases)
    for (const form of ['op', 'explicit'] as const) {
      it(`${c} (attention ${form}): every parameter gradient within 1e-5`, async () => {
        const spec = JSON.parse(readFileSync(join(root, c, 'spec.json'), 'utf8')) as Spec;
        const meta = JSON.parse(readFileSync(join(root, c, 'meta.json'), 'utf8')) as {
          zero_gradients?: string[];
        };
        const weights = await readSafetensors(join(root, c, 'weights.safetensors'));
        const input = await readSafetensors(join(root, c, 'input.safetensors'));
        const expected = await readSafetensors(join(root, c, 'expected.safetensors'));
        const batch = input.tensors.get('image')!.shape[0];
        const lowered = lowerVit(spec, { batch, loss: { smoothing: 0 } });
        const g = buildGradients(form === 'op' ? attentionOps(lowered) : lowered, 'loss');
        const attentionOpsIn = g.nodes.filter((n) => n.op === 'attention').length;
        expect(attentionOpsIn).toBe(form === 'op' ? spec.depth : 0);
        const plan = selectKernels(g, { spec: spec.name, specFile: c, batch, mode: 'train' });
        const ex = await PlanExecutor.create(await sharedDevice(), plan);
        const params = new Map<string, Float32Array>();
        for (const p of plan.params)
          params.set(p.name, tensorData(weights, p.name) as Float32Array);
        ex.setParams(params);
        const out = await ex.run({
          image: tensorData(input, 'image') as Float32Array,
          labels: tensorData(input, 'labels') as Int32Array,
        });
        ex.destroy();
        const lossRef = (tensorData(expected, 'loss') as Float64Array)[0];
        expect(Math.abs(out.loss[0] - lossRef) / Math.abs(lossRef)).toBeLessThan(1e-5);
        const zero = new Set(meta.zero_gradients ?? []);
        let checked = 0;
        for (const p of plan.params) {
          const ref = tensorData(expected, `grad.${p.name}`) as Float64Array;
          const got = out[`grad.${p.name}`];
          let num = 0;
          let den = 0;
          let maxRef = 0;
          for (let i = 0; i < ref.length; i++) {
            num += (got[i] - ref[i]) ** 2;
            den += ref[i] ** 2;
            maxRef = Math.max(maxRef, Math.abs(ref[i]));
          }
          if (zero.has(p.name)) {
            // The true gradient is 0 (e.g. k_norm.bias): only float32 rounding noise is allowed.
            expect(Math.sqrt(num), p.name).toBeLessThan(1e-6);
          } else {
            expect(Math.sqrt(num / den), p.name).toBeLessThan(1e-5);
          }
          checked++;
        }
        expect(checked).toBe(plan.params.length);
      });
    }
});
