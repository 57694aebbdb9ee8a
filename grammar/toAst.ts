// CST → typed AST. Reports what the permissive grammar let through: unknown statements and
// blocks, misplaced or repeated statements, junk tokens, a misspelled `extends`. Statement
// arguments are read in statements.ts.
import type { CstElement, CstNode, IToken } from 'chevrotain';
import { type Diagnostic, diagnostic } from '../compiler/diagnostics.js';
import type {
  BlockNode,
  ImportNode,
  ModelNode,
  NumberNode,
  Span,
  StatementNode,
  WordNode,
} from './ast.js';
import { BLOCKS, type BlockName, type Context, TOP_LEVEL, didYouMean } from './keywords.js';
import { vitParser } from './parser.js';
import { type ArgNode, readStatement } from './statements.js';
import { Identifier, NumberLiteral } from './tokens.js';

type Children = Record<string, CstElement[] | undefined>;

const isNode = (e: CstElement): e is CstNode => 'children' in e;

/** A token the parser really read (recovery may insert virtual ones with no position). */
function real(t: CstElement | undefined): IToken | undefined {
  if (!t || isNode(t) || t.isInsertedInRecovery || !Number.isFinite(t.startOffset))
    return undefined;
  return t;
}

function tokensOf(e: CstElement): IToken[] {
  if (!isNode(e)) return real(e) ? [e] : [];
  return Object.values(e.children)
    .flat()
    .flatMap(tokensOf)
    .sort((a, b) => a.startOffset - b.startOffset);
}

const at = (s: Span, hint?: string) => ({ pos: s.pos, length: s.length, hint });

export class AstBuilder extends vitParser().getBaseCstVisitorConstructor() {
  constructor(
    private readonly fileName: string,
    private readonly report: (d: Diagnostic) => void,
  ) {
    super();
    this.validateVisitor();
  }

  private span(t: IToken): Span {
    return {
      pos: { file: this.fileName, line: t.startLine ?? 1, col: t.startColumn ?? 1 },
      offset: t.startOffset,
      length: Math.max(1, t.image.length),
    };
  }

  word(t: IToken): WordNode {
    return { type: 'word', value: t.image, ...this.span(t) };
  }

  /** From `first` to the end of the last token the parser read under `children`. */
  private extent(first: Span, children: Children): Span {
    const last = tokensOf({ name: 'extent', children: children as CstNode['children'] }).at(-1);
    const length = last ? last.startOffset + last.image.length - first.offset : first.length;
    return { pos: first.pos, offset: first.offset, length: Math.max(1, length) };
  }

  file(ctx: Children): { imports: ImportNode[]; models: ModelNode[]; blocks: BlockNode[] } {
    const imports: ImportNode[] = [];
    for (const n of ctx.importDecl ?? []) {
      const imp = this.visit(n as CstNode) as ImportNode | undefined;
      if (imp) imports.push(imp);
    }
    const models = (ctx.modelDecl ?? [])
      .map((n) => this.visit(n as CstNode) as ModelNode | undefined)
      .filter((m): m is ModelNode => m !== undefined);
    const blocks = this.blocks((ctx.block ?? []) as CstNode[], 'top');
    for (const n of ctx.junk ?? []) this.visit(n as CstNode);
    return { imports, models, blocks };
  }

  importDecl(ctx: Children): ImportNode | undefined {
    const kw = real(ctx.keyword?.[0]);
    const path = real(ctx.path?.[0]);
    if (!kw || !path) return undefined;
    const pathSpan = this.span(path);
    return {
      type: 'import',
      path: path.image.slice(1, -1),
      pathSpan,
      ...this.span(kw),
      length: path.startOffset + path.image.length - kw.startOffset,
    };
  }

  modelDecl(ctx: Children): ModelNode | undefined {
    const kw = real(ctx.keyword?.[0]);
    const name = real(ctx.name?.[0]);
    if (!kw || !name) return undefined;
    const ext = real(ctx.extendsKeyword?.[0]);
    const parent = real(ctx.parent?.[0]);
    if (ext && ext.image !== 'extends') {
      const guess = didYouMean(ext.image, ['extends']);
      this.report(
        diagnostic(
          'VITC0103',
          `expected 'extends' or '{' after the model name, found '${ext.image}'`,
          at(this.span(ext), guess ? `did you mean '${guess}'?` : undefined),
        ),
      );
    }
    const { statements, blocks } = this.body((ctx.bodyItem ?? []) as CstNode[], 'model');
    return {
      type: 'model',
      name: this.word(name),
      ...(parent ? { parent: this.word(parent) } : {}),
      description: '',
      statements,
      blocks,
      closed: real(ctx.close?.[0]) !== undefined,
      hasErrors: false,
      ...this.extent(this.span(kw), ctx),
    };
  }

  /** Statements and blocks of a body; duplicates and misplaced blocks reported here. */
  private body(items: CstNode[], ctx: Context | 'unknown') {
    const statements: StatementNode[] = [];
    const blockNodes: CstNode[] = [];
    const first = new Map<string, StatementNode>();
    for (const item of items) {
      const c = item.children as Children;
      if (c.block) blockNodes.push(c.block[0] as CstNode);
      else if (c.bodyJunk) this.visit(c.bodyJunk[0] as CstNode, ctx);
      else if (c.statement && ctx !== 'unknown') {
        const s = this.visit(c.statement[0] as CstNode, ctx) as StatementNode | undefined;
        if (!s) continue;
        const prev = first.get(s.keyword.value);
        if (prev) {
          this.report(
            diagnostic(
              'VITC0207',
              `'${s.keyword.value}' is set twice in one ${ctx === 'model' ? 'model body' : `${ctx} block`}`,
              at(
                s.keyword,
                `first set at ${prev.pos.line}:${prev.pos.col}; a statement may appear once per body`,
              ),
            ),
          );
        } else {
          first.set(s.keyword.value, s);
          statements.push(s);
        }
      }
    }
    const blocks = this.blocks(blockNodes, ctx);
    return { statements, blocks };
  }

  /** Blocks written in a model body (`model`), at top level (`top`) or inside another block. */
  private blocks(nodes: CstNode[], where: Context | 'top' | 'unknown'): BlockNode[] {
    const out: BlockNode[] = [];
    for (const n of nodes) {
      const name = real((n.children as Children).name?.[0]);
      if (!name) continue;
      const w = this.word(name);
      const known = (BLOCKS as readonly string[]).includes(w.value);
      if (!known) {
        const guess = didYouMean(w.value, BLOCKS);
        this.report(
          diagnostic(
            'VITC0111',
            `unknown block '${w.value}'`,
            at(w, guess ? `did you mean '${guess}'?` : `blocks are: ${BLOCKS.join(', ')}`),
          ),
        );
      } else if (where !== 'model' && where !== 'top') {
        if (where !== 'unknown')
          this.report(
            diagnostic(
              'VITC0109',
              `a ${w.value} block is not allowed inside a ${where} block`,
              at(w, 'blocks go in a model body or at top level'),
            ),
          );
      }
      const ctx =
        known && (where === 'model' || where === 'top') ? (w.value as BlockName) : 'unknown';
      const { statements } = this.body(((n.children as Children).bodyItem ?? []) as CstNode[], ctx);
      if (ctx === 'unknown') continue;
      const prev = out.find((b) => b.kind === ctx);
      if (prev) {
        this.report(
          diagnostic(
            'VITC0207',
            `a ${ctx} block is given twice`,
            at(w, `first given at ${prev.pos.line}:${prev.pos.col}; merge them`),
          ),
        );
        continue;
      }
      out.push({ type: 'block', name: w, kind: ctx, statements, ...this.extent(w, n.children) });
    }
    return out;
  }

  block(): never {
    throw new Error('blocks are read by their body');
  }

  bodyItem(): never {
    throw new Error('body items are read by their body');
  }

  braces(): never {
    throw new Error('braces are read as junk');
  }

  statement(ctx: Children, context: Context): StatementNode | undefined {
    const kw = real(ctx.keyword?.[0]);
    if (!kw) return undefined;
    const args: ArgNode[] = [];
    for (const e of ctx.arg ?? []) {
      const t = real(e);
      if (!t) continue;
      if (t.tokenType === NumberLiteral) {
        const n: NumberNode = {
          type: 'number',
          value: Number(t.image),
          text: t.image,
          ...this.span(t),
        };
        args.push(n);
      } else if (t.tokenType === Identifier) args.push(this.word(t));
    }
    return readStatement(context, this.word(kw), args, this.report);
  }

  junk(ctx: Children): void {
    const t = tokensOf({ name: 'junk', children: ctx as CstNode['children'] })[0];
    if (!t) return;
    const s = this.span(t);
    if (t.tokenType === Identifier) {
      const guess = didYouMean(t.image, TOP_LEVEL);
      this.report(
        diagnostic(
          'VITC0108',
          `unexpected '${t.image}' at top level`,
          at(s, guess ? `did you mean '${guess}'?` : TOP_HINT),
        ),
      );
    } else if (t.image === '}') {
      this.report(diagnostic('VITC0108', `unmatched '}'`, at(s, 'it closes nothing')));
    } else {
      this.report(
        diagnostic('VITC0108', `unexpected ${describe(t)} at top level`, at(s, TOP_HINT)),
      );
    }
  }

  bodyJunk(ctx: Children, context: Context | 'unknown'): void {
    const t = tokensOf({ name: 'bodyJunk', children: ctx as CstNode['children'] })[0];
    if (!t || context === 'unknown') return;
    this.report(
      diagnostic(
        'VITC0103',
        `unexpected ${describe(t)} in ${context === 'model' ? 'the model body' : `the ${context} block`}`,
        at(this.span(t), 'a statement starts with its keyword, e.g. `width 768`'),
      ),
    );
  }
}

const TOP_HINT =
  'a file holds import "FILE", model NAME { ... }, train { ... } and preprocess { ... }';

function describe(t: IToken): string {
  if (t.tokenType === NumberLiteral) return `number ${t.image}`;
  if (t.image.startsWith('"')) return `string ${t.image}`;
  return `'${t.image}'`;
}
