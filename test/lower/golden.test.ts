// The printed graphs of two tiny models, committed under golden/. A change to the lowering or
// the printer shows up here as a readable diff; regenerate deliberately with
//   UPDATE_GOLDEN=1 npx vitest run test/lower/golden.test.ts
// and review the diff before committing it.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type LowerOptions, lowerVit, printGraph } from '../../compiler/lower/vit.js';
import type { Spec } from '../../compiler/spec/types.js';
import { tinySpec } from './helpers.js';

const CASES: Record<string, [Partial<Spec>, LowerOptions]> = {
  'tiny-eval': [{}, { batch: 2, loss: { smoothing: 0.1 }, attention: true }],
  'tiny-train': [
    {
      depth: 2,
      layerScale: 1e-5,
      qkNorm: true,
      mlp: { hidden: 24, activation: 'swiglu' },
      norm: { placement: 'pre', kind: 'rmsnorm', eps: 1e-6 },
      tokens: { cls: true, distill: true, registers: 1 },
      pos: { kind: 'learned', prefix: false },
      dropout: { embed: 0.1, attn: 0.1, proj: 0.1, head: 0.1, path: 0.1 },
    },
    { batch: 2, mode: 'train', loss: { smoothing: 0.1 } },
  ],
};

describe('golden graph text', () => {
  it.each(Object.keys(CASES))('%s', (name) => {
    const [over, opts] = CASES[name];
    const text = printGraph(lowerVit(tinySpec(over), opts));
    const path = fileURLToPath(new URL(`golden/${name}.graph.txt`, import.meta.url));
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(path, text);
    expect(text).toBe(readFileSync(path, 'utf8'));
  });
});
