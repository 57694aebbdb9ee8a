// Lexing, parsing and the typed AST: structure, positions and spans, recovery.
import { describe, expect, it } from 'vitest';
import { parseSpecText } from '../../grammar/index.js';
import type { NumberNode, OptionsStatement, StatementNode } from '../../grammar/ast.js';
import { vitLexer } from '../../grammar/tokens.js';

const parse = (text: string) => parseSpecText(text, 'g.vit');
const codes = (text: string) =>
  parse(text).diagnostics.map((d) => `${d.code}@${d.pos!.line}:${d.pos!.col}`);

describe('lexer', () => {
  it('reads names, numbers, strings and braces, skipping whitespace and comments', () => {
    const r = vitLexer.tokenize('model a_1 { # note\n  eps 1e-6 x .5 -3 2.5E+3 "p.vit" }');
    expect(r.errors).toEqual([]);
    expect(r.tokens.map((t) => `${t.tokenType.name}:${t.image}`)).toEqual([
      'Identifier:model',
      'Identifier:a_1',
      'LCurly:{',
      'Identifier:eps',
      'NumberLiteral:1e-6',
      'Identifier:x',
      'NumberLiteral:.5',
      'NumberLiteral:-3',
      'NumberLiteral:2.5E+3',
      'StringLiteral:"p.vit"',
      'RCurly:}',
    ]);
    expect(r.groups.comments!.map((t) => t.image)).toEqual(['# note']);
  });

  it('reports each run of bad characters once, with its place', () => {
    const r = parse('model m {\n  width 64 @@ depth 2 ; }');
    expect(
      r.diagnostics.map((d) => [d.code, d.message, d.pos!.line, d.pos!.col, d.length]),
    ).toEqual([
      ['VITC0101', "unexpected character '@@'", 2, 12, 2],
      ['VITC0101', "unexpected character ';'", 2, 23, 1],
    ]);
  });
});

describe('AST', () => {
  const text = `import "a.vit"
# the model
model vit_x extends base {
  image 224 x 224
  mlp ratio 4 gelu
  train { batch 8 }
}
train { epochs 3 }
`;
  const { ast, diagnostics } = parse(text);

  it('parses without diagnostics', () => expect(diagnostics).toEqual([]));

  it('records imports with the path span', () => {
    expect(ast.imports).toHaveLength(1);
    const imp = ast.imports[0]!;
    expect([imp.path, imp.pos, imp.length]).toEqual([
      'a.vit',
      { file: 'g.vit', line: 1, col: 1 },
      14,
    ]);
    expect([imp.pathSpan.pos.col, imp.pathSpan.length]).toEqual([8, 7]);
  });

  it('records the model header, parent and whole span', () => {
    const m = ast.models[0]!;
    expect([m.name.value, m.name.pos.line, m.name.pos.col, m.name.length]).toEqual([
      'vit_x',
      3,
      7,
      5,
    ]);
    expect([m.parent!.value, m.parent!.pos.col]).toEqual(['base', 21]);
    expect(m.pos).toEqual({ file: 'g.vit', line: 3, col: 1 });
    expect(text.slice(m.offset, m.offset + m.length)).toMatch(/^model vit_x[\s\S]*batch 8 }\n}$/);
    expect(m.description).toBe('the model');
    expect(m.hasErrors).toBe(false);
  });

  it('types statements by form, each with its place and span', () => {
    const [image, mlp] = ast.models[0]!.statements as [StatementNode, OptionsStatement];
    expect(image.form).toBe('dims');
    expect(
      image.form === 'dims' && image.dims.map((d: NumberNode) => [d.value, d.pos.col]),
    ).toEqual([
      [224, 9],
      [224, 15],
    ]);
    expect([image.pos.line, image.pos.col, image.length]).toEqual([4, 3, 15]);
    expect(mlp.keyed.ratio!.values[0]!.value).toBe(4);
    expect(mlp.keyed.ratio!.name.pos.col).toBe(7);
    expect(mlp.choices.activation!.value).toBe('gelu');
    expect(mlp.length).toBe('mlp ratio 4 gelu'.length);
  });

  it('keeps model blocks and top-level blocks apart', () => {
    const m = ast.models[0]!;
    expect(m.blocks.map((b) => [b.kind, b.statements.map((s) => s.keyword.value)])).toEqual([
      ['train', ['batch']],
    ]);
    expect(ast.blocks.map((b) => [b.kind, b.pos.line, b.statements[0]!.keyword.value])).toEqual([
      ['train', 8, 'epochs'],
    ]);
  });

  it('newlines are only whitespace', () => {
    const oneLine = parse('model m { image 32 x 32 patch 8 width 64 depth 1 heads 4 }');
    const spread = parse('model\nm\n{\nimage\n32\nx\n32 patch\n8 width 64 depth 1 heads 4 }');
    const kws = (r: typeof oneLine) => r.ast.models[0]!.statements.map((s) => s.keyword.value);
    expect(kws(spread)).toEqual(kws(oneLine));
    expect(kws(oneLine)).toEqual(['image', 'patch', 'width', 'depth', 'heads']);
  });
});

describe('statement extent', () => {
  it('a statement ends at the next statement keyword', () => {
    const s = parse('model m { pool mean width 64 }').ast.models[0]!.statements;
    expect(s.map((x) => x.keyword.value)).toEqual(['pool', 'width']);
  });
  it('argument words that are also keywords stay in their statement (init seed, init std)', () => {
    const s = parse('model m { init seed 3 std 0.1 }').ast.models[0]!
      .statements[0] as OptionsStatement;
    expect(Object.keys(s.keyed)).toEqual(['seed', 'std']);
  });
  it('dropout head R (< 1) is a dropout rate; head N (>= 1) starts the head statement', () => {
    const a = parse('model m { dropout path 0.1 head 0.2 }').ast.models[0]!.statements;
    expect(a.map((x) => x.keyword.value)).toEqual(['dropout']);
    const b = parse('model m { dropout path 0.1 head 10 }').ast.models[0]!.statements;
    expect(b.map((x) => x.keyword.value)).toEqual(['dropout', 'head']);
  });
});

describe('recovery: several errors at once', () => {
  it('reports every problem of a file in one pass, in order', () => {
    const text = [
      'model a {',
      '  widht 64', // 2: unknown statement
      '  heads 4 $', // 3: bad character
      '  mlp ratio 4 gleu', // 4: unknown option
      '  "x"', // 5: a string where a statement belongs
      '}',
      'modle b { }', // 7: bad top-level item
      'model c extends a {', // 8: ...never closed
      '  depth 2',
    ].join('\n');
    expect(codes(text)).toEqual([
      'VITC0104@2:3',
      'VITC0101@3:11',
      'VITC0105@4:15',
      'VITC0103@5:3',
      'VITC0108@7:1',
      'VITC0103@9:10',
    ]);
  });

  it('a missing } before the next model is reported and the next model still parses', () => {
    const r = parse('model a { width 64\nmodel b { depth 2 }');
    expect(r.diagnostics.map((d) => `${d.code}@${d.pos!.line}:${d.pos!.col}`)).toEqual([
      'VITC0103@2:1',
    ]);
    expect(r.diagnostics[0]!.message).toBe("expected '}' to close the model body, found 'model'");
    expect(r.ast.models.map((m) => [m.name.value, m.hasErrors])).toEqual([
      ['a', true],
      ['b', false],
    ]);
  });

  it('a model without a name or a brace is reported with chevrotain recovery', () => {
    expect(codes('model { width 64 }')).toEqual(['VITC0103@1:7']);
    // The missing '{' is inserted and the body read as usual: one error.
    const r = parse('model m width 64 }');
    expect(r.diagnostics.map((d) => d.message)).toEqual([
      "expected '{' in the model header, found 'width'",
    ]);
    expect(r.ast.models[0]!.statements.map((s) => s.keyword.value)).toEqual(['width']);
    expect(codes('import model.vit')).toEqual(['VITC0103@1:8', 'VITC0101@1:13', 'VITC0103@1:17']);
  });

  it('junk inside a body is reported once per run', () => {
    expect(codes('model m { 1 2 "s" { x } width 64 }')).toEqual(['VITC0103@1:11']);
  });
});

describe('did-you-mean', () => {
  it.each([
    ['model m { heds 12 }', 'VITC0104', "did you mean 'heads'?"],
    ['model m { width 64 heds 12 }', 'VITC0104', "did you mean 'heads'?"],
    ['model m { norm layernrom }', 'VITC0105', "did you mean 'layernorm'?"],
    ['model m { pool maen }', 'VITC0105', "did you mean 'mean'?"],
    ['model m { Width 64 }', 'VITC0104', "did you mean 'width'?"],
    ['model m extnds p { }', 'VITC0103', "did you mean 'extends'?"],
    [
      'model m { preprocess { interpolaton bicubic } }',
      'VITC0104',
      "did you mean 'interpolation'?",
    ],
    [
      'model m { train { optimizer adamw lr 1 wieght_decay 0 } }',
      'VITC0105',
      "did you mean 'weight_decay'?",
    ],
    ['model m { preproces { } }', 'VITC0111', "did you mean 'preprocess'?"],
    ['mdoel m { }', 'VITC0108', "did you mean 'model'?"],
  ])('%s', (text, code, hint) => {
    const d = parse(text).diagnostics;
    expect(d.map((x) => x.code)).toEqual([code]);
    expect(d[0]!.hint).toBe(hint);
  });

  it('a statement from the wrong place says where it belongs', () => {
    const d = parse('model m { train { width 64 } }').diagnostics;
    expect(d.map((x) => [x.code, x.message, x.hint])).toEqual([
      [
        'VITC0109',
        "'width' is not allowed in a train { } block",
        "'width' belongs in the model body",
      ],
    ]);
  });

  it('no suggestion for a word close to nothing', () => {
    const d = parse('model m { zzzzzz 3 }').diagnostics;
    expect(d[0]!.code).toBe('VITC0104');
    expect(d[0]!.hint).toMatch(/^statements here: image, patch, width/);
  });
});

describe('grammar self-check', () => {
  it("passes chevrotain's grammar validations (skipped at CLI start-up for speed)", async () => {
    const { VitParser } = await import('../../grammar/parser.js');
    expect(() => new VitParser({ validate: true })).not.toThrow();
  });
});
