// Tokens of the .vit language. Keywords are not tokens of their own: every word lexes as an
// Identifier and the parser checks its text, so a misspelled keyword still parses as a word and
// can be answered with "did you mean ...?" instead of a bare lexer error.
import { createToken, Lexer, type TokenType } from 'chevrotain';

export const WhiteSpace = createToken({
  name: 'WhiteSpace',
  pattern: /[ \t\r\n]+/,
  group: Lexer.SKIPPED,
});

/** `#` to end of line; kept in a group so models can take their leading comment as description. */
export const Comment = createToken({ name: 'Comment', pattern: /#[^\n]*/, group: 'comments' });

export const Identifier = createToken({ name: 'Identifier', pattern: /[A-Za-z_][A-Za-z0-9_]*/ });

/**
 * Decimal number with optional fraction and exponent. A leading minus is accepted here so that
 * `head -1` is reported as a negative value at the right place rather than as a stray character.
 */
export const NumberLiteral = createToken({
  name: 'NumberLiteral',
  pattern: /-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/,
});

export const StringLiteral = createToken({ name: 'StringLiteral', pattern: /"[^"\n]*"/ });

/** A string missing its closing quote on the same line; reported, never parsed. */
export const UnterminatedString = createToken({
  name: 'UnterminatedString',
  pattern: /"[^"\n]*/,
  group: 'unterminated',
});

export const LCurly = createToken({ name: 'LCurly', pattern: /{/, label: "'{'" });
export const RCurly = createToken({ name: 'RCurly', pattern: /}/, label: "'}'" });

export const allTokens: TokenType[] = [
  WhiteSpace,
  Comment,
  StringLiteral,
  UnterminatedString,
  NumberLiteral,
  Identifier,
  LCurly,
  RCurly,
];

export const vitLexer = new Lexer(allTokens, {
  positionTracking: 'full',
  ensureOptimizations: false,
});
