// Printing diagnostics: the exact layout the CLI shows.
import { describe, expect, it } from 'vitest';
import {
  VitcError,
  diagnostic,
  formatDiagnostic,
  formatDiagnostics,
  hasErrors,
  summarizeDiagnostics,
} from '../../compiler/diagnostics.js';
import { loadSpecText } from '../../compiler/spec/load.js';

const source = `model vit_base {
  image    224 x 224
  patch    16
  width    768
  depth    12
  heads    7
}
`;

describe('formatDiagnostic', () => {
  it('prints place, severity, code, message, the source line, a caret and the hint', () => {
    const r = loadSpecText(source, 'specs/vit-base.vit');
    expect(r.diagnostics).toHaveLength(1);
    expect(formatDiagnostic(r.diagnostics[0]!, source)).toBe(
      [
        'specs/vit-base.vit:6:12: error VITC0301: width 768 is not divisible by heads 7',
        '      heads    7',
        '               ^',
      ].join('\n'),
    );
  });

  it('underlines a span with ^~~~ and prints the hint last', () => {
    const text = 'model m {\n  norm pre layernrom\n}';
    const d = loadSpecText(text, 'a.vit').diagnostics[0]!;
    expect(formatDiagnostic(d, text)).toBe(
      [
        "a.vit:2:12: error VITC0105: unknown norm option 'layernrom'",
        '      norm pre layernrom',
        '               ^~~~~~~~~',
        "  hint: did you mean 'layernorm'?",
      ].join('\n'),
    );
  });

  it('keeps tabs before the caret so it lines up', () => {
    const d = diagnostic('VITC0104', 'unknown statement', {
      pos: { file: 't.vit', line: 1, col: 3 },
      length: 2,
    });
    expect(formatDiagnostic(d, '\t\tzz 1')).toBe(
      't.vit:1:3: error VITC0104: unknown statement\n    \t\tzz 1\n    \t\t^~',
    );
  });

  it('clips the span at the end of the line', () => {
    const d = diagnostic('VITC0103', 'x', { pos: { file: 'f', line: 1, col: 2 }, length: 50 });
    expect(formatDiagnostic(d, 'abc\ndef')).toBe('f:1:2: error VITC0103: x\n    abc\n     ^~');
  });

  it('without source text or place prints the first line only', () => {
    const d = diagnostic('VITC0201', 'cannot read x.vit: no such file');
    expect(formatDiagnostic(d)).toBe('error VITC0201: cannot read x.vit: no such file');
    const w = diagnostic('VITC0324', 'warmup', { pos: { file: 'f.vit', line: 3, col: 4 } });
    expect(formatDiagnostic(w)).toBe('f.vit:3:4: warning VITC0324: warmup');
  });
});

describe('several diagnostics', () => {
  it('formats each with its own file text, separated by blank lines, with a summary', () => {
    const text = 'model m {\n  heds 4\n  widht 8\n}';
    const r = loadSpecText(text, 'm.vit');
    const out = formatDiagnostics(r.diagnostics, r.sources, { summary: true });
    expect(out).toBe(
      [
        "m.vit:2:3: error VITC0104: unknown statement 'heds'",
        '      heds 4',
        '      ^~~~',
        "  hint: did you mean 'heads'?",
        '',
        "m.vit:3:3: error VITC0104: unknown statement 'widht'",
        '      widht 8',
        '      ^~~~~',
        "  hint: did you mean 'width'?",
        '',
        '2 errors',
      ].join('\n'),
    );
  });

  it('summarizes errors and warnings', () => {
    const e = diagnostic('VITC0301', 'e');
    const w = diagnostic('VITC0324', 'w');
    expect(summarizeDiagnostics([e, w, w])).toBe('1 error, 2 warnings');
    expect(summarizeDiagnostics([])).toBe('');
    expect([hasErrors([w]), hasErrors([w, e])]).toEqual([false, true]);
  });

  it('VitcError carries its diagnostics and a readable message', () => {
    const err = new VitcError(diagnostic('VITC0209', "no model named 'x'"));
    expect(err).toBeInstanceOf(Error);
    expect(err.diagnostics.map((d) => d.code)).toEqual(['VITC0209']);
    expect(err.message).toBe("error VITC0209: no model named 'x'");
  });
});
