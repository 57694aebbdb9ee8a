// The README's demo: the bundled Fashion-MNIST model on the bundled sample PNGs. vitc's WebGPU
// logits equal PyTorch's for the same weights and images (models/fmnist-tiny.expected.json, written
// by tools/reference/train_fmnist.py), and the predicted classes follow.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bufferIO } from '../../compiler/cli/io.js';
import { main } from '../../compiler/cli.js';

interface Expected {
  labels: string[];
  samples: { file: string; label: number; logits: number[] }[];
}

describe('bundled demo', () => {
  it('reproduces PyTorch logits on the sample images', async () => {
    const exp = JSON.parse(readFileSync('models/fmnist-tiny.expected.json', 'utf8')) as Expected;
    const io = bufferIO();
    const files = exp.samples.map((s) => s.file);
    const code = await main(
      ['run', 'specs/fmnist-tiny.vit', '--weights', 'models/fmnist-tiny.safetensors', '--labels', 'models/fashion-mnist.labels', '--json', '--image', ...files],
      io,
    );
    expect(code, io.stderr()).toBe(0);
    const out = JSON.parse(io.stdout()) as { results: { image: string; logits: number[]; top: { index: number; label: string }[] }[] };
    expect(out.results.map((r) => r.image)).toEqual(files);
    out.results.forEach((r, i) => {
      const ref = exp.samples[i].logits;
      let num = 0;
      let den = 0;
      ref.forEach((v, k) => {
        num += (r.logits[k] - v) ** 2;
        den += v * v;
      });
      expect(Math.sqrt(num / den), files[i]).toBeLessThan(1e-5);
      const argmax = ref.indexOf(Math.max(...ref));
      expect(r.top[0].index).toBe(argmax);
      expect(r.top[0].label).toBe(exp.labels[argmax]);
    });
  });
});
