// model.forward(x, { attention: true }) compiles the attention variant on first use; the normal
// plan has no attention outputs (it pays nothing), and the probabilities equal PyTorch's.
import { describe, expect, it } from 'vitest';
import { loadModel } from '../../runtime/model.js';
import { readSafetensors, tensorData } from '../../runtime/safetensors.js';

const fx = 'test/fixtures/pre_gelu_cls';

describe('forward with attention on request', () => {
  it('returns attn.{i} equal to the fixture, from a separate plan', async () => {
    const m = await loadModel(`${fx}/model.vit`, { weights: `${fx}/weights.safetensors`, batch: 3 });
    try {
      expect(m.plan.outputs.map((o) => o.name)).toEqual(['logits']);
      const input = await readSafetensors(`${fx}/input.safetensors`);
      const expected = await readSafetensors(`${fx}/expected.safetensors`);
      const image = tensorData(input, 'image') as Float32Array;
      const plain = await m.forward(image);
      const res = await m.forward(image, { attention: true });
      expect(res.attention).toHaveLength(m.spec.depth);
      // Same function, possibly different kernels (fused vs unfused attention): equal to f32 rounding.
      let num = 0;
      let den = 0;
      plain.forEach((v, k) => {
        num += (res.logits[k] - v) ** 2;
        den += v * v;
      });
      expect(Math.sqrt(num / den)).toBeLessThan(1e-6);
      res.attention!.forEach((a, i) => {
        const ref = tensorData(expected, `attn.${i}`) as Float64Array;
        expect(a.length).toBe(ref.length);
        let worst = 0;
        for (let k = 0; k < ref.length; k++) worst = Math.max(worst, Math.abs(a[k] - ref[k]));
        expect(worst).toBeLessThan(1e-5);
      });
    } finally {
      m.destroy();
    }
  });
});
