// Every front-end diagnostic code (01xx, 02xx, 03xx), triggered from source text, at its exact
// line and column. A new code in those groups without a row here fails the last test.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DIAGNOSTIC_CATALOGUE, type Diagnostic } from '../../compiler/diagnostics.js';
import { loadSpecFile, loadSpecText, resolveSpec } from '../../compiler/spec/load.js';
import { checkSchema } from '../../compiler/spec/schema.js';
import { base } from './support.js';

const data = (f: string) => path.join(path.dirname(fileURLToPath(import.meta.url)), 'data', f);
const text = (t: string) => () => loadSpecText(t, 'codes.vit').diagnostics;

interface Case {
  code: keyof typeof DIAGNOSTIC_CATALOGUE;
  run: () => Diagnostic[];
  /** Expected `line:col`, or '-' for a diagnostic with no place in a file. */
  at: string;
  /** Expected hint text (substring), when the hint matters. */
  hint?: string;
  /** Expected file (basename) when not the loaded text. */
  file?: string;
}

// base(x): line 1 `model m {`, lines 2-6 the required statements, line 7 is x.
const cases: Case[] = [
  { code: 'VITC0101', run: text(base('  qk_norm true $')), at: '7:16' },
  { code: 'VITC0102', run: text(`import "abc\n${base()}`), at: '1:8' },
  { code: 'VITC0103', run: text('model m {\n  image 32 x 32\n  heads 4'), at: '3:10', hint: "'}'" },
  { code: 'VITC0104', run: text(base('  heds 12')), at: '7:3', hint: "did you mean 'heads'?" },
  {
    code: 'VITC0105',
    run: text(base('  norm pre layernrom')),
    at: '7:12',
    hint: "did you mean 'layernorm'?",
  },
  { code: 'VITC0106', run: text(base('  mlp ratio')), at: '7:7' },
  {
    code: 'VITC0107',
    run: text(base('  dropout attn 0.1 attn 0.2')),
    at: '7:20',
    hint: 'first given at 7:11',
  },
  { code: 'VITC0108', run: text('modle m { }'), at: '1:1', hint: "did you mean 'model'?" },
  { code: 'VITC0109', run: text(base('  batch 8')), at: '7:3', hint: 'train { } block' },
  { code: 'VITC0110', run: text(base('  norm pre post')), at: '7:12' },
  {
    code: 'VITC0111',
    run: text(base('  trian { batch 8 }')),
    at: '7:3',
    hint: "did you mean 'train'?",
  },
  { code: 'VITC0201', run: () => loadSpecFile(data('no-such-file.vit')).diagnostics, at: '-' },
  { code: 'VITC0202', run: text(`import "nope.vit"\n${base()}`), at: '1:8' },
  {
    code: 'VITC0203',
    run: () => loadSpecFile(data('cycle-a.vit')).diagnostics,
    at: '1:8',
    file: 'cycle-b.vit',
  },
  {
    code: 'VITC0204',
    run: text(`${base()}model c extends mm { }`),
    at: '9:17',
    hint: "did you mean 'm'?",
  },
  { code: 'VITC0205', run: text('model a extends b { }\nmodel b extends a { }'), at: '2:17' },
  { code: 'VITC0206', run: text(`${base()}${base()}`), at: '9:7', hint: 'first defined at 1:7' },
  { code: 'VITC0207', run: text(base('  depth 3')), at: '7:3', hint: 'first set at 5:3' },
  { code: 'VITC0208', run: text('model m { width 64 }'), at: '1:7' },
  {
    code: 'VITC0209',
    run: () => resolveSpec(data('child.vit'), 'smal').diagnostics,
    at: '-',
    hint: "did you mean 'small'?",
  },
  { code: 'VITC0210', run: text('# nothing here\ntrain { epochs 1 }\n'), at: '1:1' },
  {
    code: 'VITC0300',
    run: () => {
      // A Spec that bypassed the semantic checks: the schema error lands where depth was set.
      const pos = { file: 'codes.vit', line: 4, col: 9 };
      const sources = new Map([
        ['/depth', { span: { pos, offset: 0, length: 3 }, depth: 0, model: 'm' }],
      ]);
      const spec = loadSpecText(base(), 'codes.vit').specs[0]!;
      return checkSchema({ ...spec, depth: 2.5 }, sources, { pos: { ...pos, line: 1 }, length: 1 });
    },
    at: '4:9',
  },
  { code: 'VITC0301', run: text(base().replace('heads 4', 'heads 7')), at: '6:9' },
  { code: 'VITC0302', run: text(base().replace('32 x 32', '32 x 30')), at: '2:14' },
  { code: 'VITC0303', run: text(base().replace('depth 2', 'depth 2.5')), at: '5:9' },
  { code: 'VITC0304', run: text(base().replace('width 64', 'width 0')), at: '4:9' },
  { code: 'VITC0305', run: text(base('  head 1e400')), at: '7:8' },
  { code: 'VITC0306', run: text(base('  tokens distill')), at: '7:10' },
  { code: 'VITC0307', run: text(base('  tokens registers 1')), at: '7:3' },
  {
    code: 'VITC0308',
    run: text(base('  pos sincos2d').replace('width 64', 'width 66').replace('heads 4', 'heads 2')),
    at: '7:7',
  },
  { code: 'VITC0309', run: text(base('  pos sincos2d no_prefix')), at: '7:16' },
  { code: 'VITC0310', run: text(base('  dropout attn 1')), at: '7:16' },
  { code: 'VITC0311', run: text(base('  norm eps 0')), at: '7:12' },
  { code: 'VITC0312', run: text(base('  layer_scale 0')), at: '7:15' },
  { code: 'VITC0313', run: text(base('  head -1')), at: '7:8' },
  { code: 'VITC0314', run: text(base('  preprocess { mean 0.5 }')), at: '7:16' },
  { code: 'VITC0315', run: text(base('  preprocess { std 0.5 0 0.5 }')), at: '7:24' },
  { code: 'VITC0316', run: text(base('  preprocess { crop 1.5 }')), at: '7:21' },
  { code: 'VITC0317', run: text(base('  train { optimizer lr 0 }')), at: '7:24' },
  { code: 'VITC0318', run: text(base('  train { optimizer betas 0.9 1 }')), at: '7:31' },
  { code: 'VITC0319', run: text(base('  train { loss smoothing 1 }')), at: '7:26' },
  { code: 'VITC0320', run: text(base('  train { clip 0 }')), at: '7:16' },
  { code: 'VITC0321', run: text(base('  init std 0')), at: '7:12' },
  { code: 'VITC0322', run: text(base('  mlp ratio -1')), at: '7:13' },
  { code: 'VITC0323', run: text(base('  train { optimizer sgd momentum 1 }')), at: '7:34' },
  { code: 'VITC0324', run: text(base('  train { epochs 3 }')), at: '7:18' },
  { code: 'VITC0325', run: text(base('  train { optimizer lr 1e-6 }')), at: '7:24' },
  { code: 'VITC0326', run: text(base('  train { optimizer momentum 0.5 }')), at: '7:30' },
  { code: 'VITC0326', run: text(base('  train { precision mixed }')), at: '7:21' },
];

describe('every front-end code is reported at its exact place', () => {
  it.each(cases.map((c) => [c.code, c] as const))('%s', (code, c) => {
    const ds = c.run().filter((d) => d.code === code);
    expect(ds, JSON.stringify(c.run())).toHaveLength(1);
    const d = ds[0]!;
    expect(d.severity).toBe(DIAGNOSTIC_CATALOGUE[code].severity);
    expect(d.pos ? `${d.pos.line}:${d.pos.col}` : '-').toBe(c.at);
    if (d.pos) expect(path.basename(d.pos.file)).toBe(c.file ?? 'codes.vit');
    if (c.hint) expect(d.hint).toContain(c.hint);
  });

  it('covers every 01xx, 02xx and 03xx code of the catalogue', () => {
    const front = Object.keys(DIAGNOSTIC_CATALOGUE).filter((k) => /^VITC0[123]/.test(k));
    expect([...new Set(cases.map((c) => c.code))].sort()).toEqual(front.sort());
  });
});

describe('warnings do not block the spec', () => {
  it('a model with only warnings still resolves', () => {
    const r = loadSpecText(base('  train { epochs 3 }'), 'w.vit');
    expect(r.specs).toHaveLength(1);
    expect(r.diagnostics.map((d) => [d.code, d.severity])).toEqual([['VITC0324', 'warning']]);
  });
});

describe('docs/DIAGNOSTICS.md', () => {
  it('has a section for exactly the codes of the catalogue', () => {
    const doc = readFileSync(new URL('../../docs/DIAGNOSTICS.md', import.meta.url), 'utf8');
    const documented = [...doc.matchAll(/^### (VITC\d{4}) — (.*)$/gm)].map((m) => m[1]);
    expect(documented).toEqual(Object.keys(DIAGNOSTIC_CATALOGUE));
  });
});
