// The typed AST of a .vit file. Every node knows where it came from (1-based line and column,
// 0-based offset) and how many characters of source it covers, so any later check can point at
// the exact text that caused it.
import type { SourcePos } from '../compiler/spec/types.js';
import type { BlockName, Context } from './keywords.js';

export interface Span {
  pos: SourcePos;
  /** 0-based offset of the first character in the file. */
  offset: number;
  /** Characters covered (at least 1). */
  length: number;
}

export interface NumberNode extends Span {
  type: 'number';
  value: number;
  /** As written, for messages (`1e-6`, not `0.000001`). */
  text: string;
}

export interface WordNode extends Span {
  type: 'word';
  value: string;
}

interface StatementBase extends Span {
  type: 'statement';
  keyword: WordNode;
  /** Where it was written: a model body or a train/preprocess block. */
  context: Context;
}

/** `width 768` */
export interface NumberStatement extends StatementBase {
  form: 'number';
  value: NumberNode;
}

/** `image 224 x 224 x 3`, `patch 16` */
export interface DimsStatement extends StatementBase {
  form: 'dims';
  dims: NumberNode[];
}

/** `mean 0.5 0.5 0.5` */
export interface ListStatement extends StatementBase {
  form: 'list';
  values: NumberNode[];
}

/** `pool mean`, `qkv_bias true` */
export interface WordStatement extends StatementBase {
  form: 'word';
  value: WordNode;
}

/** `clip 1.0`, `clip off` */
export interface NumberOrWordStatement extends StatementBase {
  form: 'numberOrWord';
  value: NumberNode | WordNode;
}

/** A named option with its numbers: `ratio 4`, `betas 0.9 0.999`. */
export interface KeyedOption {
  name: WordNode;
  values: NumberNode[];
}

/** `mlp ratio 4 gelu`, `tokens cls registers 4`: any subset of options in any order. */
export interface OptionsStatement extends StatementBase {
  form: 'options';
  /** By option name (`ratio`, `eps`, `betas`, ...). */
  keyed: Partial<Record<string, KeyedOption>>;
  /** By slot name (`activation`, `kind`, `placement`, ...): the word chosen. */
  choices: Partial<Record<string, WordNode>>;
  /** By flag name (`cls`, `distill`, `flip`, `none`). */
  flags: Partial<Record<string, WordNode>>;
}

export type StatementNode =
  | NumberStatement
  | DimsStatement
  | ListStatement
  | WordStatement
  | NumberOrWordStatement
  | OptionsStatement;

export interface BlockNode extends Span {
  type: 'block';
  name: WordNode;
  kind: BlockName;
  statements: StatementNode[];
}

export interface ModelNode extends Span {
  type: 'model';
  name: WordNode;
  /** The word written as `extends` (checked) and the parent's name. */
  parent?: WordNode;
  /** The comment lines right before `model`, without `#`; else the file's leading comment. */
  description: string;
  statements: StatementNode[];
  blocks: BlockNode[];
  /** Whether its closing brace was found (else its extent runs to the next item). */
  closed: boolean;
  /** Whether a syntax error was reported inside this model; such a model yields no Spec. */
  hasErrors: boolean;
}

export interface ImportNode extends Span {
  type: 'import';
  /** The path as written, without quotes. */
  path: string;
  /** The string literal, quotes included. */
  pathSpan: Span;
}

export interface FileNode {
  type: 'file';
  file: string;
  imports: ImportNode[];
  models: ModelNode[];
  /** Top-level train/preprocess blocks: defaults for every model of this file. */
  blocks: BlockNode[];
  /** Whether a syntax error was reported outside every model (then no model of the file resolves). */
  topLevelHasErrors: boolean;
}
