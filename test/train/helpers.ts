// Synthetic data for the training tests: a Fashion-MNIST-shaped IDX data set of 8×8 images in
// 10 classes, each class a fixed random template plus per-image noise, so a tiny ViT can learn it
// in a few steps. Everything is seeded, so every test sees the same bytes.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveSpec } from '../../compiler/spec/load.js';
import type { Spec } from '../../compiler/spec/types.js';

export const TINY_SPEC = 'test/train/tiny.vit';

export function tinySpec(): Spec {
  const r = resolveSpec(TINY_SPEC);
  if (!r.spec) throw new Error(`${TINY_SPEC}: ${JSON.stringify(r.diagnostics)}`);
  return r.spec;
}

function idx(dims: number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const v = new DataView(out.buffer);
  out[2] = 0x08;
  out[3] = dims.length;
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

/** A small LCG: deterministic bytes without depending on the code under test. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Writes train/t10k IDX files (8×8, 10 classes) into a new temp folder; returns `fashion-mnist:DIR`. */
export function syntheticData(
  nTrain: number,
  nTest: number,
  seed = 1,
): { dir: string; source: string } {
  const dir = mkdtempSync(join(tmpdir(), 'vitc-train-'));
  mkdirSync(dir, { recursive: true });
  const rnd = lcg(seed);
  const templates = Array.from({ length: 10 }, () =>
    Uint8Array.from({ length: 64 }, () => (rnd() < 0.5 ? 40 : 215)),
  );
  const split = (n: number, prefix: string) => {
    const images = new Uint8Array(n * 64);
    const labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const k = Math.floor(rnd() * 10);
      labels[i] = k;
      for (let p = 0; p < 64; p++)
        images[i * 64 + p] = Math.max(
          0,
          Math.min(255, templates[k][p] + Math.round((rnd() - 0.5) * 80)),
        );
    }
    writeFileSync(join(dir, `${prefix}-images-idx3-ubyte`), idx([n, 8, 8], images));
    writeFileSync(join(dir, `${prefix}-labels-idx1-ubyte`), idx([n], labels));
    return { images, labels };
  };
  split(nTrain, 'train');
  split(nTest, 't10k');
  return { dir, source: `fashion-mnist:${dir}` };
}

/**
 * A tensor without the key third of a fused qkv bias. That bias's gradient is zero in exact
 * arithmetic (softmax ignores a per-row constant), so in float32 it is rounding noise, which
 * Adam's g/√v turns into full-size steps: compare it with a float64 reference and it differs
 * however correct the kernels are.
 */
export function exact(name: string, x: Float32Array | Float64Array): Float64Array {
  const v = Float64Array.from(x);
  if (!name.endsWith('attn.qkv.bias')) return v;
  const d = v.length / 3;
  return Float64Array.from([...v.subarray(0, d), ...v.subarray(2 * d)]);
}

/** A batch of B random 8×8 images in [-1, 1] and labels in 0..9, from a seeded LCG. */
export function randomBatch(B: number, seed: number) {
  let s = seed;
  const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  const images = Float32Array.from({ length: B * 64 }, () => rnd() * 2 - 1);
  const labels = Int32Array.from({ length: B }, () => Math.floor(rnd() * 10));
  return { images, labels };
}

/** ‖a − b‖ / ‖b‖ (‖a − b‖ where b is all zeros). */
export function relL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}
