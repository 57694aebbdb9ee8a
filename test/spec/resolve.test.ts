// Resolution: inheritance within a file and across imports, partial statements, precedence of
// defaults < parent < file top-level blocks < own body, ratio re-computation, descriptions.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadSpecFile, loadSpecText, resolveSpec } from '../../compiler/spec/load.js';
import type { Spec } from '../../compiler/spec/types.js';
import { REQUIRED, base, loadOne, where } from './support.js';

const data = (f: string) => path.join(path.dirname(fileURLToPath(import.meta.url)), 'data', f);
const byName = (specs: Spec[]) => new Map(specs.map((s) => [s.name, s]));

describe('inheritance within a file', () => {
  const text = `model parent {
${REQUIRED}
  mlp ratio 3 swiglu
  norm post rmsnorm eps 1e-5
  dropout attn 0.1 path 0.2
  tokens cls distill
}
model child extends parent {
  width 128
  norm eps 1e-6
  dropout path 0.3
  tokens registers 4 pool mean
}
model grandchild extends child { mlp gelu }
`;
  const specs = byName(loadSpecText(text, 'inh.vit').specs);

  it('resolves every model, in order, with its chain', () => {
    expect([...specs.keys()]).toEqual(['parent', 'child', 'grandchild']);
    expect(specs.get('grandchild')!.chain).toEqual(['grandchild', 'child', 'parent']);
  });
  it('a child changing width re-computes hidden from the inherited ratio', () => {
    expect(specs.get('parent')!.mlp).toEqual({ hidden: 192, activation: 'swiglu' });
    expect(specs.get('child')!.mlp).toEqual({ hidden: 384, activation: 'swiglu' });
  });
  it('a partial mlp keeps the inherited ratio', () => {
    expect(specs.get('grandchild')!.mlp).toEqual({ hidden: 384, activation: 'gelu' });
  });
  it('a partial norm changes only what it names', () => {
    expect(specs.get('child')!.norm).toEqual({ placement: 'post', kind: 'rmsnorm', eps: 1e-6 });
  });
  it('a partial dropout changes only what it names', () => {
    expect(specs.get('child')!.dropout).toEqual({
      embed: 0,
      attn: 0.1,
      proj: 0,
      head: 0,
      path: 0.3,
    });
  });
  it('tokens is a whole set, not a patch', () => {
    expect(specs.get('parent')!.tokens).toEqual({ cls: true, distill: true, registers: 0 });
    expect(specs.get('child')!.tokens).toEqual({ cls: false, distill: false, registers: 4 });
  });
  it('fc_norm auto follows the pool of the resolved model', () => {
    expect(specs.get('parent')!.fcNorm).toBe(false);
    expect(specs.get('child')!.fcNorm).toBe(true);
  });
  it('an absolute hidden size stays when a child changes width', () => {
    const s = byName(
      loadSpecText(`model p { ${REQUIRED} mlp hidden 100 } model c extends p { width 128 heads 8 }`)
        .specs,
    );
    expect(s.get('c')!.mlp.hidden).toBe(100);
  });
  it('a parent may be defined after its child', () => {
    const s = byName(loadSpecText(`model c extends p { depth 5 } model p { ${REQUIRED} }`).specs);
    expect(s.get('c')!.depth).toBe(5);
    expect(s.get('c')!.chain).toEqual(['c', 'p']);
  });
  it('pos: a new kind brings its own prefix default', () => {
    const s = byName(
      loadSpecText(
        `model p { ${REQUIRED} pos learned no_prefix } model c extends p { pos sincos2d } model g extends c { pos learned }`,
      ).specs,
    );
    expect(s.get('p')!.pos).toEqual({ kind: 'learned', prefix: false });
    expect(s.get('c')!.pos).toEqual({ kind: 'sincos2d', prefix: false });
    expect(s.get('g')!.pos).toEqual({ kind: 'learned', prefix: true });
  });
  it('pos: a prefix flag alone keeps the inherited kind', () => {
    const s = byName(
      loadSpecText(`model p { ${REQUIRED} } model c extends p { pos no_prefix }`).specs,
    );
    expect(s.get('c')!.pos).toEqual({ kind: 'learned', prefix: false });
  });
  it('an abstract parent missing required settings still serves its children', () => {
    const r = loadSpecText(
      'model shape { width 64 depth 2 heads 4 }\nmodel full extends shape { image 32 x 32 patch 8 }',
    );
    expect(r.specs.map((s) => s.name)).toEqual(['full']);
    expect(where(r)).toEqual(['VITC0208@1:7']);
  });
});

describe('errors in inherited settings', () => {
  it("point at the parent's statement and say which model inherits it", () => {
    const r = loadSpecText(
      'model p { patch 8 width 64 depth 2 heads 7 }\nmodel c extends p { image 32 x 32 }',
      'e.vit',
    );
    expect(r.specs).toEqual([]);
    expect(r.diagnostics.map((d) => [d.code, `${d.pos!.line}:${d.pos!.col}`, d.hint])).toEqual([
      ['VITC0208', '1:7', 'it is required; set it in the model or a parent'],
      ['VITC0301', '1:42', "model 'c' inherits this from 'p'"],
    ]);
  });
});

describe('top-level train/preprocess blocks', () => {
  it('apply to every model of the file, below the model body', () => {
    const r = loadSpecText(
      `${base('train { batch 8 }', 'a')}${base('', 'b')}train { epochs 300 batch 64 }\npreprocess { crop 0.875 }\n`,
    );
    const s = byName(r.specs);
    expect([s.get('a')!.train.epochs, s.get('a')!.train.batch]).toEqual([300, 8]);
    expect([s.get('b')!.train.epochs, s.get('b')!.train.batch]).toEqual([300, 64]);
    expect(s.get('b')!.preprocess.crop).toBe(0.875);
  });
});

describe('across files', () => {
  it('extends a model from an imported file; precedence is parent < file blocks < body', () => {
    const r = loadSpecFile(data('child.vit'));
    expect(r.diagnostics).toEqual([]);
    const s = byName(r.specs);
    const small = s.get('small')!;
    expect(small.chain).toEqual(['small', 'tiny']);
    expect(small.mlp).toEqual({ hidden: 256, activation: 'relu' }); // ratio 2 from tiny, width 128
    expect(small.norm).toEqual({ placement: 'post', kind: 'rmsnorm', eps: 1e-6 });
    expect(small.tokens).toEqual({ cls: true, distill: false, registers: 2 });
    // tiny's file sets epochs 7 batch 16; child.vit's top level sets epochs 9; small's body batch 32.
    expect([small.train.epochs, small.train.batch, small.preprocess.crop]).toEqual([9, 32, 1]);
    const hidden = s.get('small_hidden')!;
    expect([hidden.mlp.hidden, hidden.width, hidden.train.batch, hidden.train.epochs]).toEqual([
      100, 96, 16, 9,
    ]);
    expect([...r.sources.keys()].map((f) => path.basename(f))).toEqual(['child.vit', 'base.vit']);
  });

  it('the imported file keeps its own top-level blocks', () => {
    const tiny = loadSpecFile(data('base.vit')).specs[0]!;
    expect([tiny.name, tiny.train.epochs, tiny.train.batch, tiny.preprocess.crop]).toEqual([
      'tiny',
      7,
      16,
      0.9,
    ]);
  });

  it('imports are relative to the importing file and models are visible through imports of imports', () => {
    const r = loadSpecFile(data('sub/grandchild.vit'));
    expect(r.diagnostics).toEqual([]);
    const s = byName(r.specs);
    expect(s.get('grand')!.chain).toEqual(['grand', 'small', 'tiny']);
    expect([s.get('grand')!.depth, s.get('grand')!.width, s.get('grand')!.train.batch]).toEqual([
      3, 128, 32,
    ]);
    expect(s.get('from_base')!.chain).toEqual(['from_base', 'tiny_mean', 'tiny']);
    expect([
      s.get('from_base')!.pool,
      s.get('from_base')!.fcNorm,
      s.get('from_base')!.head.classes,
    ]).toEqual(['mean', true, 5]);
  });

  it('loadSpecText resolves imports relative to the given file name', () => {
    const r = loadSpecText('import "base.vit"\nmodel t2 extends tiny { depth 4 }', data('mem.vit'));
    expect(r.diagnostics).toEqual([]);
    expect(r.specs[0]!.depth).toBe(4);
    expect(r.specs[0]!.width).toBe(64);
  });

  it('refuses to import a directory or a device', () => {
    const r = loadSpecText(`import ""\nimport "/dev/null"\n${base()}`, data('imp.vit'));
    expect(r.diagnostics.map((d) => [d.code, d.message, d.pos!.line])).toEqual([
      ['VITC0202', "cannot import '': is a directory", 1],
      ['VITC0202', "cannot import '/dev/null': not a regular file", 2],
    ]);
  });

  it('works in a fresh temporary directory', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vitc-resolve-'));
    writeFileSync(path.join(dir, 'p.vit'), `model p { ${REQUIRED} }`);
    writeFileSync(path.join(dir, 'c.vit'), 'import "p.vit"\nmodel c extends p { heads 2 }');
    const r = loadSpecFile(path.join(dir, 'c.vit'));
    expect(r.specs.map((s) => [s.name, s.heads, s.width])).toEqual([['c', 2, 64]]);
  });
});

describe('descriptions', () => {
  it('takes the comment lines right before `model`', () => {
    const r = loadSpecFile(data('base.vit'));
    expect(byName(r.specs).get('tiny_mean')!.description).toBe('tiny with mean pooling');
  });
  it("falls back to the file's leading comment block", () => {
    const r = loadSpecFile(data('base.vit'));
    expect(byName(r.specs).get('tiny')!.description).toBe(
      'Small test models shared by the resolution tests.\nSecond line of the leading comment.',
    );
  });
  it('joins several lines and ignores trailing comments on code lines', () => {
    const s = loadOne(`# file comment\n\n# one\n#two\nmodel m { # not this\n${REQUIRED}\n}`);
    expect(s.description).toBe('one\ntwo');
  });
  it('is empty without comments', () => expect(loadOne(base()).description).toBe(''));
});

describe('resolveSpec', () => {
  it('picks the last model by default', () => {
    const r = resolveSpec(data('child.vit'));
    expect(r.spec?.name).toBe('small_hidden');
    expect(r.diagnostics).toEqual([]);
  });
  it('picks a model by name, including an imported one', () => {
    expect(resolveSpec(data('child.vit'), 'small').spec?.width).toBe(128);
    expect(resolveSpec(data('child.vit'), 'tiny_mean').spec?.pool).toBe('mean');
  });
  it('returns the model diagnostics and no spec when the model is invalid', () => {
    const r = resolveSpec(data('broken-parent.vit'));
    expect(r.spec).toBeUndefined();
    expect(where(r)).toEqual(['VITC0105@3:15']);
    expect(r.sources.get(data('broken-parent.vit'))).toContain('gleu');
  });
});
