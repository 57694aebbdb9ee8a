// Loading the PyTorch reference fixtures (test/fixtures/<case>/, see its README.md).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Spec } from '../../compiler/spec/types.js';
import { readSafetensors, tensorData } from '../../runtime/safetensors.js';

export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

/** The model cases (folders with a spec.json), sorted. */
export const CASES = readdirSync(FIXTURES)
  .filter((d) => existsSync(join(FIXTURES, d, 'spec.json')))
  .sort();

export interface Fixture {
  spec: Spec;
  params: Map<string, Float32Array>;
  image: Float32Array;
  labels: Int32Array;
  batch: number;
  expected: Map<string, Float64Array>;
  /** Parameters whose true gradient is zero (meta.json `zero_gradients`). */
  zeroGradients: string[];
}

export async function loadFixture(name: string): Promise<Fixture> {
  const dir = join(FIXTURES, name);
  const spec = JSON.parse(readFileSync(join(dir, 'spec.json'), 'utf8')) as Spec;
  const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as {
    zero_gradients?: string[];
  };
  const w = await readSafetensors(join(dir, 'weights.safetensors'));
  const params = new Map([...w.tensors.keys()].map((k) => [k, tensorData(w, k) as Float32Array]));
  const inp = await readSafetensors(join(dir, 'input.safetensors'));
  const ex = await readSafetensors(join(dir, 'expected.safetensors'));
  return {
    spec,
    params,
    image: tensorData(inp, 'image') as Float32Array,
    labels: tensorData(inp, 'labels') as Int32Array,
    batch: inp.tensors.get('image')!.shape[0],
    expected: new Map([...ex.tensors.keys()].map((k) => [k, tensorData(ex, k) as Float64Array])),
    zeroGradients: meta.zero_gradients ?? [],
  };
}
