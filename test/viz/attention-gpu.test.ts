// The attention probabilities the runtime returns (loadModel → forwardWithAttention on WebGPU)
// against PyTorch's float64 `attn.{i}` in the fixtures, and the CLS maps read from them.
import { afterAll, describe, expect, it } from 'vitest';
import { type Model, loadModel } from '../../runtime/model.js';
import { readSafetensors, tensorData } from '../../runtime/safetensors.js';
import { attnGeometry, attentionRollout, clsAttention } from '../../runtime/viz/attention.js';

const models: Model[] = [];
afterAll(() => models.forEach((m) => m.destroy()));

// cls only; cls + distill (prefix 2); cls + register on a non-square 3 × 4 grid; no prefix at all.
const CASES = ['pre_gelu_cls', 'deit_distilled', 'gray_nonsquare_no_prefix', 'post_rmsnorm_gap'];

describe('attention probabilities on WebGPU equal PyTorch', () => {
  for (const c of CASES) {
    it(`${c}: every attn.{i} within 1e-5, and the CLS maps index them right`, async () => {
      const fx = `test/fixtures/${c}`;
      const warnings: string[] = [];
      // Batch 2 for 3 images: the second chunk is padded, so trimming is exercised too.
      const m = await loadModel(`${fx}/model.vit`, {
        weights: `${fx}/weights.safetensors`,
        attention: true,
        batch: 2,
        warn: (l) => warnings.push(l),
      });
      models.push(m);
      expect(warnings).toEqual([]);
      const input = await readSafetensors(`${fx}/input.safetensors`);
      const expected = await readSafetensors(`${fx}/expected.safetensors`);
      const { attention } = await m.forwardWithAttention(
        tensorData(input, 'image') as Float32Array,
      );
      expect(attention!.length).toBe(m.spec.depth);
      const g = attnGeometry(m.spec);
      const N = g.tokens;
      const refs: Float64Array[] = [];
      for (let i = 0; i < m.spec.depth; i++) {
        const got = attention![i]!;
        const ref = tensorData(expected, `attn.${i}`) as Float64Array;
        refs.push(ref);
        expect(got.length).toBe(ref.length);
        expect(ref.length).toBe(3 * g.heads * N * N);
        let maxErr = 0;
        for (let k = 0; k < ref.length; k++) maxErr = Math.max(maxErr, Math.abs(got[k]! - ref[k]!));
        expect(maxErr, `attn.${i}`).toBeLessThan(1e-5);
      }
      // The map for image 2, last block, head 1: the reference's row 0 (or mean of rows), patch
      // columns, indexed here independently of runtime/viz.
      const last = refs.at(-1)!;
      const at = (h: number, q: number, k: number) => last[((2 * g.heads + h) * N + q) * N + k]!;
      const map = clsAttention(attention!.at(-1)!, g, 1, 2);
      expect(map.length).toBe(g.rows * g.cols);
      for (let p = 0; p < map.length; p++) {
        let want = 0;
        if (m.spec.tokens.cls) want = at(1, 0, g.prefix + p);
        else {
          for (let q = 0; q < N; q++) want += at(1, q, g.prefix + p);
          want /= N;
        }
        expect(Math.abs(map[p]! - want)).toBeLessThan(1e-5);
      }
      // Rollout of the runtime's probabilities equals rollout of PyTorch's.
      const a = attentionRollout(attention!, g, 0);
      const b = attentionRollout(refs, g, 0);
      for (let p = 0; p < a.length; p++) expect(Math.abs(a[p]! - b[p]!)).toBeLessThan(1e-5);
    });
  }
});
