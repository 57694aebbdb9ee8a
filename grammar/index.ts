// Text → typed AST with every lexing and parsing problem as a located diagnostic.
import { EOF, type IToken } from 'chevrotain';
import { type Diagnostic, diagnostic } from '../compiler/diagnostics.js';
import type { FileNode, ModelNode } from './ast.js';
import { vitParser } from './parser.js';
import { AstBuilder } from './toAst.js';
import { vitLexer } from './tokens.js';

export type * from './ast.js';
export { ACTIVATIONS, BLOCKS, STATEMENTS, didYouMean, editDistance } from './keywords.js';
export type { Context, StatementSig } from './keywords.js';

export interface ParseResult {
  ast: FileNode;
  diagnostics: Diagnostic[];
}

/** 0-based offsets where each line starts. */
function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === '\n') starts.push(i + 1);
  return starts;
}

/**
 * Model descriptions: the comment lines right before `model` (no blank or code line between),
 * else the file's leading comment block. `#` and one following space are stripped.
 */
function describeModels(models: ModelNode[], comments: IToken[], codeLines: Set<number>): void {
  const own = new Map<number, string>();
  for (const c of comments) {
    if (!codeLines.has(c.startLine!)) own.set(c.startLine!, c.image.replace(/^#\s?/, '').trimEnd());
  }
  // Loops, not Math.min(...xs): spreading a long file's lines would overflow the stack.
  let firstCode = Infinity;
  for (const l of codeLines) firstCode = Math.min(firstCode, l);
  let firstComment = Infinity;
  for (const l of own.keys()) firstComment = Math.min(firstComment, l);
  const leading: string[] = [];
  for (let l = firstComment; own.has(l) && l < firstCode; l++) leading.push(own.get(l)!);
  for (const m of models) {
    const lines: string[] = [];
    for (let l = m.pos.line - 1; own.has(l); l--) lines.unshift(own.get(l)!);
    m.description = (lines.length ? lines : leading).join('\n');
  }
}

export function parseSpecText(text: string, file: string): ParseResult {
  const diagnostics: Diagnostic[] = [];
  const report = (d: Diagnostic) => diagnostics.push(d);
  const starts = lineStarts(text);
  const posAt = (offset: number) => {
    let line = starts.length;
    while (line > 1 && starts[line - 1]! > offset) line--;
    return { file, line, col: offset - starts[line - 1]! + 1 };
  };

  const lexed = vitLexer.tokenize(text);
  for (const e of lexed.errors) {
    report(
      diagnostic(
        'VITC0101',
        `unexpected character '${text.slice(e.offset, e.offset + e.length)}'`,
        {
          pos: posAt(e.offset),
          length: e.length,
          hint: 'names are letters, digits and _; numbers are like 768, 0.02, 1e-6; # starts a comment',
        },
      ),
    );
  }
  for (const t of lexed.groups.unterminated ?? []) {
    report(
      diagnostic('VITC0102', 'unterminated string', {
        pos: posAt(t.startOffset),
        length: t.image.length,
        hint: 'close it with " on the same line',
      }),
    );
  }

  const parser = vitParser();
  parser.input = lexed.tokens;
  const cst = parser.file();
  const last = lexed.tokens.at(-1);
  const eofSpan = last ? last.startOffset + last.image.length : text.length;
  for (const e of parser.errors) {
    const t = e.token;
    const offset = t.tokenType === EOF || !Number.isFinite(t.startOffset) ? eofSpan : t.startOffset;
    report(
      diagnostic('VITC0103', e.message, {
        pos: posAt(Math.min(offset, Math.max(0, text.length))),
        length: t.tokenType === EOF ? 1 : Math.max(1, t.image.length),
        hint: /expected '}'/.test(e.message) ? "every '{' needs a matching '}'" : undefined,
      }),
    );
  }

  const built = new AstBuilder(file, report).visit(cst) as Omit<FileNode, 'type' | 'file'>;
  const codeLines = new Set(lexed.tokens.map((t) => t.startLine!));
  describeModels(built.models, lexed.groups.comments ?? [], codeLines);

  // A model with a syntax error inside yields no Spec: recovery may have dropped some of its
  // statements, and a silently different model is worse than none. An error outside every model
  // (a top-level block, an import, junk that may have been a model) poisons the whole file.
  // An error at a model's own `model` keyword is about what came before (a missing '}'), and an
  // unclosed model extends to the next one.
  const offsets = diagnostics.map((d) => starts[d.pos!.line - 1]! + d.pos!.col - 1);
  const models = built.models;
  const inside = (m: ModelNode, i: number, o: number) =>
    o > m.offset &&
    (o <= m.offset + m.length || (!m.closed && o <= (models[i + 1]?.offset ?? text.length)));
  models.forEach((m, i) => (m.hasErrors = offsets.some((o) => inside(m, i, o))));
  const topLevelHasErrors = offsets.some((o) => !models.some((m, i) => inside(m, i, o)));

  diagnostics.sort((a, b) => a.pos!.line - b.pos!.line || a.pos!.col - b.pos!.col);
  return { ast: { type: 'file', file, ...built, topLevelHasErrors }, diagnostics };
}
