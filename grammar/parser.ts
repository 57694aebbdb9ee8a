// The concrete-syntax parser. The grammar is small on purpose:
//   file      := (importDecl | modelDecl | block | junk)*
//   importDecl:= 'import' STRING
//   modelDecl := 'model' NAME ('extends' NAME)? '{' bodyItem* '}'
//   block     := NAME '{' bodyItem* '}'                    (train / preprocess; others reported)
//   bodyItem  := block | statement | bodyJunk
//   statement := NAME (NAME | NUMBER)*
// Keywords are plain identifiers checked by gates, and a statement's extent is decided by the
// vocabulary (keywords.ts): it goes on while the next word is one of its argument words, a number,
// or an unknown word (so a typo is reported inside the statement it follows, with a suggestion).
// Anything else is collected as `junk` so the AST builder reports it once, in place, and parsing
// goes on; chevrotain's recovery handles missing braces, names and strings.
import {
  CstParser,
  EOF,
  type IParserErrorMessageProvider,
  type IToken,
  type ParserMethod,
  type CstNode,
  type TokenType,
} from 'chevrotain';
import {
  ALL_STATEMENT_KEYWORDS,
  BLOCKS,
  type Context,
  STATEMENTS,
  argumentWords,
  contextOf,
} from './keywords.js';
import { Identifier, LCurly, NumberLiteral, RCurly, StringLiteral, allTokens } from './tokens.js';

/** Words that always end a statement or body because they start a top-level item. */
const STRUCTURAL = new Set(['model', 'import', 'extends']);

function describeToken(t: IToken): string {
  if (t.tokenType === EOF) return 'end of file';
  if (t.tokenType === Identifier) return `'${t.image}'`;
  if (t.tokenType === NumberLiteral) return `number ${t.image}`;
  if (t.tokenType === StringLiteral) return `string ${t.image}`;
  return `'${t.image}'`;
}

function describeType(t: TokenType): string {
  if (t === Identifier) return 'a name';
  if (t === NumberLiteral) return 'a number';
  if (t === StringLiteral) return 'a double-quoted string';
  if (t === EOF) return 'end of file';
  return t.LABEL ?? t.name;
}

const WHAT: Record<string, string> = {
  importDecl: 'after import',
  modelDecl: 'in the model header',
  block: 'in the block',
  braces: 'in the braces',
};

const errorMessages: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, actual, ruleName }) {
    if (expected === RCurly)
      return `expected '}' to close the ${ruleName === 'block' ? 'block' : 'model body'}, found ${describeToken(actual)}`;
    const where = WHAT[ruleName] ? ` ${WHAT[ruleName]}` : '';
    return `expected ${describeType(expected)}${where}, found ${describeToken(actual)}`;
  },
  buildNotAllInputParsedMessage({ firstRedundant }) {
    return `unexpected ${describeToken(firstRedundant)}`;
  },
  buildNoViableAltMessage({ actual, ruleName }) {
    return `unexpected ${describeToken(actual[0]!)} ${WHAT[ruleName] ?? ''}`.trim();
  },
  buildEarlyExitMessage({ actual, ruleName }) {
    return `unexpected ${describeToken(actual[0]!)} ${WHAT[ruleName] ?? ''}`.trim();
  },
};

/** Whether the token after a statement keyword (and the one after it) continue that statement. */
export function continuesStatement(ctx: Context, keyword: string, t1: IToken, t2: IToken): boolean {
  if (t1.tokenType === NumberLiteral) return true;
  if (t1.tokenType !== Identifier) return false;
  const word = t1.image;
  if (t2.tokenType === LCurly || STRUCTURAL.has(word)) return false;
  const home = keyword in STATEMENTS[ctx] ? ctx : contextOf(keyword);
  const sig = home ? STATEMENTS[home][keyword] : undefined;
  if (sig && argumentWords(sig).includes(word)) {
    // `head` is both the classifier statement and a dropout option; a rate is below 1, so
    // `dropout path 0.1 head 1000` ends the dropout and starts the head statement.
    if (keyword === 'dropout' && word === 'head' && t2.tokenType === NumberLiteral)
      return Number(t2.image) < 1;
    return true;
  }
  if (ALL_STATEMENT_KEYWORDS.has(word) || (BLOCKS as readonly string[]).includes(word))
    return false;
  // After a known keyword an unknown word is most likely a misspelt option: keep it here to say
  // so. After an unknown keyword, only words the language knows as arguments are its arguments;
  // another unknown word is more likely the next (misspelt) statement.
  return sig !== undefined || ALL_ARGUMENT_WORDS.has(word);
}

const ALL_ARGUMENT_WORDS: ReadonlySet<string> = new Set(
  Object.values(STATEMENTS).flatMap((c) => Object.values(c).flatMap(argumentWords)),
);

export class VitParser extends CstParser {
  /**
   * `validate` runs chevrotain's grammar validations (ambiguities, left recursion, …). They take
   * most of the parser's ~0.7 s construction and can only fail if the grammar itself is broken,
   * so the CLI skips them and test/grammar checks the grammar once with them on.
   */
  constructor(opts: { validate?: boolean } = {}) {
    super(allTokens, {
      skipValidations: !(opts.validate ?? process.env.VITEST !== undefined),
      recoveryEnabled: true,
      nodeLocationTracking: 'full',
      maxLookahead: 2,
      errorMessageProvider: errorMessages,
    });
    this.performSelfAnalysis();
  }

  /** chevrotain's CstParser types RULE as argument-less; parameterised rules need this cast. */
  private ruleWithArg<A>(name: string, impl: (arg: A) => void): ParserMethod<[A], CstNode> {
    return this.RULE(name, impl as () => void) as unknown as ParserMethod<[A], CstNode>;
  }

  private isWord(k: number, word?: string): boolean {
    const t = this.LA(k);
    return t.tokenType === Identifier && (word === undefined || t.image === word);
  }

  private atStructural(): boolean {
    return this.isWord(1) && STRUCTURAL.has(this.LA(1).image);
  }

  private atTopBlock(): boolean {
    return (
      this.isWord(1) &&
      (BLOCKS as readonly string[]).includes(this.LA(1).image) &&
      this.LA(2).tokenType === LCurly
    );
  }

  private atTopItem(): boolean {
    return this.isWord(1, 'import') || this.isWord(1, 'model') || this.atTopBlock();
  }

  file = this.RULE('file', () => {
    this.MANY(() => {
      // One token of lookahead: the gates, not chevrotain's LL(k) analysis, pick the item.
      this.OR({
        IGNORE_AMBIGUITIES: true,
        MAX_LOOKAHEAD: 1,
        DEF: [
          { GATE: () => this.isWord(1, 'import'), ALT: () => this.SUBRULE(this.importDecl) },
          { GATE: () => this.isWord(1, 'model'), ALT: () => this.SUBRULE(this.modelDecl) },
          { GATE: () => this.atTopBlock(), ALT: () => this.SUBRULE(this.block) },
          { ALT: () => this.SUBRULE(this.junk) },
        ],
      });
    });
  });

  importDecl = this.RULE('importDecl', () => {
    this.CONSUME(Identifier, { LABEL: 'keyword' });
    this.CONSUME(StringLiteral, { LABEL: 'path' });
  });

  modelDecl = this.RULE('modelDecl', () => {
    this.CONSUME(Identifier, { LABEL: 'keyword' });
    this.CONSUME2(Identifier, { LABEL: 'name' });
    // `WORD NAME {` is taken as `extends NAME` and the word checked later, so `extnds` gets a
    // suggestion instead of "expected '{'".
    this.OPTION({
      GATE: () =>
        this.isWord(1, 'extends') ||
        (this.isWord(1) && this.isWord(2) && this.LA(3).tokenType === LCurly),
      DEF: () => {
        this.CONSUME3(Identifier, { LABEL: 'extendsKeyword' });
        this.CONSUME4(Identifier, { LABEL: 'parent' });
      },
    });
    this.CONSUME(LCurly, { LABEL: 'open' });
    this.MANY({
      GATE: () => !this.atStructural(),
      DEF: () => this.SUBRULE(this.bodyItem, { ARGS: ['model'] }),
    });
    this.CONSUME(RCurly, { LABEL: 'close' });
  });

  block = this.RULE('block', () => {
    const name = this.CONSUME(Identifier, { LABEL: 'name' });
    this.CONSUME(LCurly, { LABEL: 'open' });
    this.MANY({
      GATE: () => !this.atStructural(),
      DEF: () =>
        this.SUBRULE(this.bodyItem, {
          ARGS: [name.image === 'train' || name.image === 'preprocess' ? name.image : 'model'],
        }),
    });
    this.CONSUME(RCurly, { LABEL: 'close' });
  });

  bodyItem = this.ruleWithArg('bodyItem', (ctx: Context) => {
    this.OR({
      IGNORE_AMBIGUITIES: true,
      MAX_LOOKAHEAD: 1,
      DEF: [
        {
          GATE: () => this.isWord(1) && this.LA(2).tokenType === LCurly,
          ALT: () => this.SUBRULE(this.block),
        },
        { ALT: () => this.SUBRULE(this.statement, { ARGS: [ctx] }) },
        { ALT: () => this.SUBRULE(this.bodyJunk) },
      ],
    });
  });

  statement = this.ruleWithArg('statement', (ctx: Context) => {
    const keyword = this.CONSUME(Identifier, { LABEL: 'keyword' });
    this.MANY({
      GATE: () => continuesStatement(ctx, keyword.image, this.LA(1), this.LA(2)),
      DEF: () =>
        this.OR([
          { ALT: () => this.CONSUME2(Identifier, { LABEL: 'arg' }) },
          { ALT: () => this.CONSUME(NumberLiteral, { LABEL: 'arg' }) },
        ]),
    });
  });

  /** A run of tokens that cannot start a top-level item, up to the next `model`, `import` or block. */
  junk = this.RULE('junk', () => {
    this.AT_LEAST_ONE({
      GATE: () => !this.atTopItem(),
      DEF: () =>
        this.OR([
          { ALT: () => this.SUBRULE(this.braces) },
          { ALT: () => this.CONSUME(NumberLiteral, { LABEL: 'token' }) },
          { ALT: () => this.CONSUME(StringLiteral, { LABEL: 'token' }) },
          { ALT: () => this.CONSUME(Identifier, { LABEL: 'token' }) },
          { ALT: () => this.CONSUME(RCurly, { LABEL: 'token' }) },
        ]),
    });
  });

  /** In a body, a word starts a statement; numbers, strings and brace groups cannot. */
  bodyJunk = this.RULE('bodyJunk', () => {
    this.AT_LEAST_ONE(() =>
      this.OR([
        { ALT: () => this.SUBRULE(this.braces) },
        { ALT: () => this.CONSUME(NumberLiteral, { LABEL: 'token' }) },
        { ALT: () => this.CONSUME(StringLiteral, { LABEL: 'token' }) },
      ]),
    );
  });

  braces = this.RULE('braces', () => {
    this.CONSUME(LCurly, { LABEL: 'token' });
    this.MANY(() =>
      this.OR([
        { ALT: () => this.SUBRULE(this.braces) },
        { ALT: () => this.CONSUME(Identifier, { LABEL: 'token' }) },
        { ALT: () => this.CONSUME(NumberLiteral, { LABEL: 'token' }) },
        { ALT: () => this.CONSUME(StringLiteral, { LABEL: 'token' }) },
      ]),
    );
    this.CONSUME(RCurly, { LABEL: 'close' });
  });
}

let shared: VitParser | undefined;

/** One parser for the process: building it runs chevrotain's grammar analysis (slow). */
export function vitParser(): VitParser {
  shared ??= new VitParser();
  return shared;
}
