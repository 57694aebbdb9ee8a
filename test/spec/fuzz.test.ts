// Property: whatever a user types, the front end answers with specs or located diagnostics,
// never an exception. Valid texts are mutated at random (token deletion, duplication, swaps,
// odd numbers, keywords out of place, junk characters, truncation).
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDiagnostic } from '../../compiler/diagnostics.js';
import { loadSpecText } from '../../compiler/spec/load.js';
import { specValidator } from '../../compiler/spec/schema.js';
import { STATEMENTS } from '../../grammar/keywords.js';
import { REQUIRED } from './support.js';

const dataFile = path.join(path.dirname(fileURLToPath(import.meta.url)), 'data', 'fuzz.vit');

const SEEDS = [
  `# tiny\nmodel m {\n${REQUIRED}\n}\n`,
  `# every knob
model full {
  image 64 x 48 x 3
  patch 16 x 8
  width 96
  depth 3
  heads 6
  mlp ratio 4 gelu_tanh
  norm pre layernorm eps 1e-6
  qkv_bias true
  qk_norm false
  layer_scale 1e-5
  tokens cls distill registers 2
  pos learned no_prefix
  pre_norm false
  final_norm true
  pool cls
  fc_norm auto
  head 10
  dropout embed 0 attn 0.1 proj 0 head 0 path 0.1
  init trunc_normal std 0.02 seed 0
  preprocess {
    mean 0.485 0.456 0.406
    std 0.229 0.224 0.225
    interpolation bilinear
    crop 0.875
  }
  train {
    batch 64
    epochs 20
    optimizer adamw lr 5e-4 weight_decay 0.05 betas 0.9 0.999 eps 1e-8
    schedule warmup 2 cosine min_lr 1e-6
    loss cross_entropy smoothing 0.1
    clip 1.0
    precision f32
    seed 3
    augment flip crop_padding 4
  }
}
model child extends full { width 128 heads 8 pos sincos2d tokens cls pool mean }
train { epochs 30 }
preprocess { crop 0.9 }
`,
  `import "base.vit"\nmodel f extends tiny { depth 3 mlp hidden 100 }\nmodel g extends f { train { optimizer sgd momentum 0.8 } }\n`,
];

const VOCAB = [
  ...Object.values(STATEMENTS).flatMap((c) => Object.keys(c)),
  'model',
  'extends',
  'import',
  'train',
  'preprocess',
  'x',
  'cls',
  'mean',
  'none',
  'off',
  'true',
];

/** Words, numbers, strings, comments, braces, whitespace runs and single other characters. */
const tokenize = (t: string) =>
  t.match(/"[^"\n]*"?|#[^\n]*|-?\d[\d.eE+-]*|[A-Za-z_]\w*|\s+|[\s\S]/g) ?? [];

const numberText = fc.oneof(
  fc.integer({ min: -5, max: 5000 }).map(String),
  fc.double({ noNaN: true, min: -1e6, max: 1e6 }).map(String),
  fc.constantFrom(
    '0',
    '-1',
    '1e999',
    '-1e999',
    '1e300',
    '0.5',
    '2.5',
    '1e-400',
    '.5',
    '1.',
    '4294967296',
  ),
);
const junk = fc.stringMatching(/^[{}"#@$\-.x0-9a-z \n\t;é]{1,6}$/);

type Mutation = (tokens: string[]) => string[];
const at = (i: number, n: number) => (n ? i % n : 0);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.nat().map((i) => (ts: string[]) => ts.filter((_, j) => j !== at(i, ts.length))),
  fc
    .nat()
    .map(
      (i) => (ts: string[]) => ts.flatMap((t, j) => (j === at(i, ts.length) ? [t, ' ', t] : [t])),
    ),
  fc.tuple(fc.nat(), fc.nat()).map(([i, k]) => (ts: string[]) => {
    const out = [...ts];
    const [a, b] = [at(i, ts.length), at(k, ts.length)];
    [out[a], out[b]] = [out[b]!, out[a]!];
    return out;
  }),
  fc.tuple(fc.nat(), numberText).map(([i, n]) => (ts: string[]) => {
    const nums = ts.flatMap((t, j) => (/^-?\d/.test(t) ? [j] : []));
    const out = [...ts];
    if (nums.length) out[nums[at(i, nums.length)]!] = n;
    return out;
  }),
  fc.tuple(fc.nat(), fc.constantFrom(...VOCAB)).map(([i, w]) => (ts: string[]) => {
    const words = ts.flatMap((t, j) => (/^[A-Za-z_]/.test(t) ? [j] : []));
    const out = [...ts];
    if (words.length) out[words[at(i, words.length)]!] = w;
    return out;
  }),
  fc.tuple(fc.nat(), junk).map(([i, s]) => (ts: string[]) => {
    const out = [...ts];
    out.splice(at(i, ts.length + 1), 0, s);
    return out;
  }),
  fc.nat().map((i) => (ts: string[]) => ts.slice(0, at(i, ts.length + 1))),
);

describe('front end on mutated specs', () => {
  it('never throws; yields specs or located diagnostics inside the file', () => {
    const schemaOk = specValidator();
    fc.assert(
      fc.property(
        fc.nat({ max: SEEDS.length - 1 }),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        (seed, muts) => {
          const text = muts.reduce<string[]>((ts, m) => m(ts), tokenize(SEEDS[seed]!)).join('');
          const r = loadSpecText(text, dataFile);
          const lines = text.split('\n');
          expect(r.specs.length > 0 || r.diagnostics.some((d) => d.pos)).toBe(true);
          for (const d of r.diagnostics) {
            // 0300 would mean a Spec passed the semantic checks but not the schema: a gap.
            expect(d.code).not.toBe('VITC0300');
            expect(formatDiagnostic(d, d.pos ? r.sources.get(d.pos.file) : undefined)).toContain(
              d.code,
            );
            if (!d.pos || d.pos.file !== dataFile) continue;
            expect(d.pos.line).toBeGreaterThanOrEqual(1);
            expect(d.pos.col).toBeGreaterThanOrEqual(1);
            expect(d.pos.line).toBeLessThanOrEqual(lines.length);
            expect(d.pos.col).toBeLessThanOrEqual(lines[d.pos.line - 1]!.length + 1);
          }
          for (const s of r.specs) {
            expect(schemaOk(s)).toBe(true);
            expect(s.width % s.heads).toBe(0);
            expect(s.image.height % s.patch.height).toBe(0);
            expect(s.image.width % s.patch.width).toBe(0);
            expect(s.preprocess.mean).toHaveLength(s.image.channels);
          }
        },
      ),
      { numRuns: 2000, seed: 20251123 },
    );
  });
});
