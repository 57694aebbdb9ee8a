// Reading a statement's arguments by its signature (keywords.ts). The parser only grouped a
// keyword with the words and numbers that follow it; here they become a typed node or a located
// diagnostic. A statement stops at its first error, so one typo gives one message.
import { type Diagnostic, diagnostic } from '../compiler/diagnostics.js';
import type {
  KeyedOption,
  NumberNode,
  OptionsStatement,
  Span,
  StatementNode,
  WordNode,
} from './ast.js';
import {
  BLOCKS,
  type Context,
  STATEMENTS,
  type StatementSig,
  argumentWords,
  contextOf,
  didYouMean,
} from './keywords.js';

export type ArgNode = NumberNode | WordNode;

const quoteList = (ws: readonly string[]) => ws.map((w) => `'${w}'`).join(', ');

function at(s: Span, hint?: string) {
  return { pos: s.pos, length: s.length, hint };
}

/** The closest word of several candidate lists, within the did-you-mean distance limit. */
const closest = (word: string, ...lists: (readonly string[])[]) => didYouMean(word, lists.flat());

/** Statement keywords that may be written in a context (blocks too, in a model body). */
export function keywordsOf(ctx: Context): string[] {
  return [...Object.keys(STATEMENTS[ctx]), ...(ctx === 'model' ? BLOCKS : [])];
}

const place = (ctx: Context) => (ctx === 'model' ? 'the model body' : `a ${ctx} { } block`);

/** A word at a statement's start that is not a statement of this context. */
export function unknownStatement(ctx: Context, keyword: WordNode): Diagnostic {
  if ((BLOCKS as readonly string[]).includes(keyword.value))
    return diagnostic(
      'VITC0103',
      `expected '{' after '${keyword.value}'`,
      at(keyword, `${keyword.value} is a block: ${keyword.value} { ... }`),
    );
  const home = contextOf(keyword.value);
  if (home) {
    return diagnostic(
      'VITC0109',
      `'${keyword.value}' is not allowed in ${place(ctx)}`,
      at(keyword, `'${keyword.value}' belongs in ${place(home)}`),
    );
  }
  const guess = closest(keyword.value, keywordsOf(ctx));
  const elsewhere = guess ? undefined : closest(keyword.value, [...ALL_KEYWORDS]);
  return diagnostic(
    'VITC0104',
    `unknown statement '${keyword.value}'`,
    at(
      keyword,
      guess
        ? `did you mean '${guess}'?`
        : elsewhere
          ? `did you mean '${elsewhere}'? (it belongs in ${place(contextOf(elsewhere)!)})`
          : `statements here: ${keywordsOf(ctx).join(', ')}`,
    ),
  );
}

const ALL_KEYWORDS = new Set(Object.values(STATEMENTS).flatMap((c) => Object.keys(c)));

/** An argument that does not fit: a typo of one of the statement's words, or of a statement. */
function unexpected(ctx: Context, keyword: string, sig: StatementSig, arg: ArgNode): Diagnostic {
  if (arg.type === 'number')
    return diagnostic(
      'VITC0106',
      `unexpected number ${arg.text} in ${keyword}`,
      at(arg, `write it as: ${sig.usage}`),
    );
  const own = closest(arg.value, argumentWords(sig));
  if (own)
    return diagnostic(
      'VITC0105',
      `unknown ${keyword} option '${arg.value}'`,
      at(arg, `did you mean '${own}'?`),
    );
  const stmt = closest(arg.value, keywordsOf(ctx));
  if (stmt)
    return diagnostic(
      'VITC0104',
      `unknown statement '${arg.value}'`,
      at(arg, `did you mean '${stmt}'?`),
    );
  const words = argumentWords(sig).filter((w) => w !== 'x');
  return diagnostic(
    'VITC0105',
    `unexpected '${arg.value}' in ${keyword}`,
    at(arg, words.length ? `expected one of ${quoteList(words)}; ${sig.usage}` : sig.usage),
  );
}

function spanOf(first: Span, last: Span): Span {
  return { pos: first.pos, offset: first.offset, length: last.offset + last.length - first.offset };
}

/** Numbers glued to an `x` (`224x224x3` lexes as 224 and `x224x3`) split into their parts. */
function gluedDims(w: WordNode): NumberNode[] | undefined {
  if (!/^(x\d+)+$/.test(w.value)) return undefined;
  const out: NumberNode[] = [];
  for (const m of w.value.matchAll(/\d+/g)) {
    const d = m.index;
    out.push({
      type: 'number',
      value: Number(m[0]),
      text: m[0],
      pos: { ...w.pos, col: w.pos.col + d },
      offset: w.offset + d,
      length: m[0].length,
    });
  }
  return out;
}

/**
 * Interpret one statement. Returns undefined (and pushes a diagnostic) when the statement is
 * unknown here or its arguments do not fit its signature.
 */
export function readStatement(
  ctx: Context,
  keyword: WordNode,
  args: ArgNode[],
  report: (d: Diagnostic) => void,
): StatementNode | undefined {
  const sig = STATEMENTS[ctx][keyword.value];
  if (!sig) {
    report(unknownStatement(ctx, keyword));
    return undefined;
  }
  const kw = keyword.value;
  const base = {
    type: 'statement' as const,
    keyword,
    context: ctx,
    ...spanOf(keyword, args.at(-1) ?? keyword),
  };
  const missing = (what: string) =>
    report(diagnostic('VITC0106', `${kw} needs ${what}`, at(keyword, `write it as: ${sig.usage}`)));
  const fail = (arg: ArgNode) => {
    report(unexpected(ctx, kw, sig, arg));
    return undefined;
  };

  switch (sig.form) {
    case 'number': {
      const [v, extra] = args;
      if (!v) return void missing('a number');
      if (v.type !== 'number') return fail(v);
      if (extra) return fail(extra);
      return { ...base, form: 'number', value: v };
    }
    case 'list': {
      if (!args.length) return void missing('at least one number');
      const bad = args.find((a) => a.type !== 'number');
      if (bad) return fail(bad);
      return { ...base, form: 'list', values: args as NumberNode[] };
    }
    case 'word':
    case 'numberOrWord': {
      const [v, extra] = args;
      const what = quoteList(sig.words).replace(/, ([^,]*)$/, ' or $1');
      if (!v) return void missing(sig.form === 'word' ? what : `a number or ${what}`);
      if (v.type === 'number' && sig.form === 'word') {
        report(diagnostic('VITC0106', `${kw} takes ${what}, not a number`, at(v, sig.usage)));
        return undefined;
      }
      if (v.type === 'word' && !sig.words.includes(v.value)) return fail(v);
      if (extra) return fail(extra);
      return sig.form === 'word'
        ? { ...base, form: 'word', value: v as WordNode }
        : { ...base, form: 'numberOrWord', value: v };
    }
    case 'dims': {
      const dims: NumberNode[] = [];
      let i = 0;
      let needNumber = true;
      while (i < args.length) {
        const a = args[i]!;
        const glued = a.type === 'word' && !needNumber ? gluedDims(a) : undefined;
        if (glued) dims.push(...glued);
        else if (needNumber && a.type === 'number') dims.push(a);
        else if (!needNumber && a.type === 'word' && a.value === 'x') needNumber = true;
        else if (!needNumber && a.type === 'number') {
          report(diagnostic('VITC0106', `expected 'x' between sizes in ${kw}`, at(a, sig.usage)));
          return undefined;
        } else return fail(a);
        if (glued || a.type === 'number') needNumber = false;
        i++;
      }
      if (needNumber && dims.length) return void missing(`a size after 'x'`);
      if (dims.length < sig.minDims || dims.length > sig.maxDims) {
        const where = dims[sig.maxDims] ?? keyword;
        report(
          diagnostic(
            'VITC0106',
            dims.length > sig.maxDims
              ? `${kw} takes at most ${sig.maxDims} sizes`
              : `${kw} needs ${sig.minDims === 1 ? 'a size' : `${sig.minDims} sizes`}`,
            at(where, `write it as: ${sig.usage}`),
          ),
        );
        return undefined;
      }
      return { ...base, form: 'dims', dims };
    }
    case 'options':
      return readOptions(base, sig, args, report, fail);
  }
}

function readOptions(
  base: Omit<OptionsStatement, 'form' | 'keyed' | 'choices' | 'flags'>,
  sig: Extract<StatementSig, { form: 'options' }>,
  args: ArgNode[],
  report: (d: Diagnostic) => void,
  fail: (a: ArgNode) => undefined,
): OptionsStatement | undefined {
  const kw = base.keyword.value;
  const keyed: Record<string, KeyedOption> = {};
  const choices: Record<string, WordNode> = {};
  const flags: Record<string, WordNode> = {};
  const seen = new Map<string, WordNode>();
  const repeated = (w: WordNode) => {
    const first = seen.get(w.value)!;
    report(
      diagnostic(
        'VITC0107',
        `'${w.value}' is given twice in ${kw}`,
        at(w, `first given at ${first.pos.line}:${first.pos.col}`),
      ),
    );
    return undefined;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a.type === 'number') return fail(a);
    const w = a.value;
    const n = sig.keyed?.[w];
    const slot = Object.entries(sig.choices ?? {}).find(([, ws]) => ws.includes(w))?.[0];
    if (seen.has(w)) return repeated(a);
    if (n !== undefined) {
      const values = args
        .slice(i + 1, i + 1 + n)
        .filter((v): v is NumberNode => v.type === 'number');
      if (values.length < n) {
        const count = n === 1 ? 'a number' : `${n} numbers`;
        report(diagnostic('VITC0106', `expected ${count} after '${w}'`, at(a, sig.usage)));
        return undefined;
      }
      keyed[w] = { name: a, values };
      i += n;
    } else if (sig.flags?.includes(w)) {
      flags[w] = a;
    } else if (slot !== undefined) {
      const other = choices[slot];
      if (other) {
        report(
          diagnostic(
            'VITC0110',
            `${kw} cannot be both '${other.value}' and '${w}'`,
            at(a, `choose one of ${quoteList(sig.choices![slot]!)}`),
          ),
        );
        return undefined;
      }
      choices[slot] = a;
    } else return fail(a);
    seen.set(w, a);
  }
  for (const [x, y] of sig.conflicts ?? []) {
    const [wx, wy] = [seen.get(x), seen.get(y)];
    if (wx && wy) {
      const later = wx.offset > wy.offset ? wx : wy;
      report(
        diagnostic('VITC0110', `${kw} cannot have both '${x}' and '${y}'`, at(later, sig.usage)),
      );
      return undefined;
    }
  }
  if (!seen.size) {
    report(diagnostic('VITC0106', `${kw} needs at least one option`, at(base.keyword, sig.usage)));
    return undefined;
  }
  return { ...base, form: 'options', keyed, choices, flags };
}
