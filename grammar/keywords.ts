// The vocabulary of the .vit language: which statements exist where, and the words each accepts.
// The parser uses it to decide where a statement ends (newlines are only whitespace), the AST
// builder to interpret arguments, and both to suggest the keyword a typo was meant to be.

/** Where a statement may appear: a model body, or a `train { }` / `preprocess { }` block. */
export type Context = 'model' | 'train' | 'preprocess';

export const ACTIVATIONS = ['gelu', 'gelu_tanh', 'relu', 'swiglu'] as const;
export const BOOLEANS = ['true', 'false'] as const;

/**
 * How a statement's arguments are read.
 * - number: exactly one number (`width 768`).
 * - dims: numbers separated by `x`, from minDims to maxDims of them (`image 224 x 224 x 3`).
 * - list: one or more numbers (`mean 0.5 0.5 0.5`).
 * - word: exactly one of `words` (`pool mean`).
 * - numberOrWord: one number or one of `words` (`clip 1.0`, `clip off`).
 * - options: any subset, in any order, of named numbers (`keyed`: name → how many numbers follow),
 *   choices (slot → allowed words, at most one word per slot) and bare `flags`.
 */
export type StatementForm =
  | { form: 'number' }
  | { form: 'dims'; minDims: number; maxDims: number }
  | { form: 'list' }
  | { form: 'word'; words: readonly string[] }
  | { form: 'numberOrWord'; words: readonly string[] }
  | {
      form: 'options';
      keyed?: Readonly<Record<string, number>>;
      choices?: Readonly<Record<string, readonly string[]>>;
      flags?: readonly string[];
      /** Option names that cannot be written together in one statement. */
      conflicts?: readonly (readonly [string, string])[];
    };

export type StatementSig = StatementForm & {
  /** How the statement is written, for messages. */
  usage: string;
};

const num = (usage: string): StatementSig => ({ form: 'number', usage });

export const STATEMENTS: Readonly<Record<Context, Readonly<Record<string, StatementSig>>>> = {
  model: {
    image: { form: 'dims', minDims: 2, maxDims: 3, usage: 'image H x W [x C]' },
    patch: { form: 'dims', minDims: 1, maxDims: 2, usage: 'patch P  or  patch H x W' },
    width: num('width N'),
    depth: num('depth N'),
    heads: num('heads N'),
    mlp: {
      form: 'options',
      keyed: { ratio: 1, hidden: 1 },
      choices: { activation: ACTIVATIONS },
      conflicts: [['ratio', 'hidden']],
      usage: 'mlp [ratio R | hidden N] [gelu | gelu_tanh | relu | swiglu]',
    },
    norm: {
      form: 'options',
      keyed: { eps: 1 },
      choices: { placement: ['pre', 'post'], kind: ['layernorm', 'rmsnorm'] },
      usage: 'norm [pre | post] [layernorm | rmsnorm] [eps E]',
    },
    qkv_bias: { form: 'word', words: BOOLEANS, usage: 'qkv_bias true | false' },
    qk_norm: { form: 'word', words: BOOLEANS, usage: 'qk_norm true | false' },
    layer_scale: { form: 'numberOrWord', words: ['off'], usage: 'layer_scale off | INIT' },
    tokens: {
      form: 'options',
      keyed: { registers: 1 },
      flags: ['cls', 'distill', 'none'],
      conflicts: [
        ['none', 'cls'],
        ['none', 'distill'],
        ['none', 'registers'],
      ],
      usage: 'tokens [cls] [distill] [registers N]  or  tokens none',
    },
    pos: {
      form: 'options',
      choices: { kind: ['learned', 'sincos2d', 'none'], prefix: ['prefix', 'no_prefix'] },
      usage: 'pos learned [prefix | no_prefix] | sincos2d | none',
    },
    pre_norm: { form: 'word', words: BOOLEANS, usage: 'pre_norm true | false' },
    final_norm: { form: 'word', words: BOOLEANS, usage: 'final_norm true | false' },
    pool: { form: 'word', words: ['cls', 'mean'], usage: 'pool cls | mean' },
    fc_norm: {
      form: 'word',
      words: ['auto', 'true', 'false'],
      usage: 'fc_norm auto | true | false',
    },
    head: num('head CLASSES'),
    dropout: {
      form: 'options',
      keyed: { embed: 1, attn: 1, proj: 1, head: 1, path: 1 },
      usage: 'dropout [embed R] [attn R] [proj R] [head R] [path R]',
    },
    init: {
      form: 'options',
      keyed: { std: 1, seed: 1 },
      choices: { scheme: ['trunc_normal', 'normal', 'jax'] },
      usage: 'init [trunc_normal | normal | jax] [std S] [seed N]',
    },
  },
  preprocess: {
    mean: { form: 'list', usage: 'mean M1 M2 ... (one per image channel)' },
    std: { form: 'list', usage: 'std S1 S2 ... (one per image channel)' },
    interpolation: {
      form: 'word',
      words: ['nearest', 'bilinear', 'bicubic'],
      usage: 'interpolation nearest | bilinear | bicubic',
    },
    crop: num('crop FRACTION'),
  },
  train: {
    batch: num('batch N'),
    epochs: num('epochs N'),
    optimizer: {
      form: 'options',
      keyed: { lr: 1, weight_decay: 1, betas: 2, eps: 1, momentum: 1 },
      choices: { kind: ['adamw', 'adam', 'sgd'] },
      usage:
        'optimizer [adamw | adam | sgd] [lr R] [weight_decay W] [betas B1 B2] [eps E] [momentum M]',
    },
    schedule: {
      form: 'options',
      keyed: { warmup: 1, min_lr: 1 },
      choices: { kind: ['cosine', 'linear', 'constant'] },
      usage: 'schedule [warmup EPOCHS] [cosine | linear | constant] [min_lr R]',
    },
    loss: {
      form: 'options',
      keyed: { smoothing: 1 },
      choices: { kind: ['cross_entropy'] },
      usage: 'loss [cross_entropy] [smoothing S]',
    },
    clip: { form: 'numberOrWord', words: ['off'], usage: 'clip NORM | off' },
    precision: {
      form: 'word',
      words: ['f32', 'f16', 'mixed'],
      usage: 'precision f32 | f16 | mixed',
    },
    seed: num('seed N'),
    augment: {
      form: 'options',
      keyed: { crop_padding: 1 },
      flags: ['flip', 'none'],
      conflicts: [
        ['none', 'flip'],
        ['none', 'crop_padding'],
      ],
      usage: 'augment [flip] [crop_padding N]  or  augment none',
    },
  },
};

/** Blocks and where they may appear. */
export const BLOCKS = ['train', 'preprocess'] as const;
export type BlockName = (typeof BLOCKS)[number];
export const TOP_LEVEL = ['model', 'import', 'train', 'preprocess'] as const;

/** Every statement keyword of every context (to stop a statement at the next one). */
export const ALL_STATEMENT_KEYWORDS: ReadonlySet<string> = new Set(
  Object.values(STATEMENTS).flatMap((c) => Object.keys(c)),
);

/** Words a statement accepts as arguments (option names, choice words, flags, value words). */
export function argumentWords(sig: StatementSig): readonly string[] {
  switch (sig.form) {
    case 'dims':
      return ['x'];
    case 'word':
    case 'numberOrWord':
      return sig.words;
    case 'options':
      return [
        ...Object.keys(sig.keyed ?? {}),
        ...Object.values(sig.choices ?? {}).flat(),
        ...(sig.flags ?? []),
      ];
    default:
      return [];
  }
}

/** The context a statement keyword belongs to, if any. */
export function contextOf(keyword: string): Context | undefined {
  for (const ctx of Object.keys(STATEMENTS) as Context[])
    if (keyword in STATEMENTS[ctx]) return ctx;
  return undefined;
}

/** Optimal-string-alignment edit distance (a swap of two neighbours counts as one edit). */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  const d: number[][] = Array.from({ length: m + 1 }, (_, i) => [
    i,
    ...new Array<number>(n).fill(0),
  ]);
  for (let j = 0; j <= n; j++) d[0]![j] = j;
  for (let i = 1; i <= m; i++) {
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[m]![n]!;
}

/**
 * The candidate a typo most likely meant, or undefined when none is close: case-insensitive,
 * at most one edit per three letters (at least one). Ties go to the earlier candidate.
 */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  const w = word.toLowerCase();
  const limit = Math.max(1, Math.floor(w.length / 3));
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    if (c === word) continue;
    const dist = editDistance(w, c.toLowerCase());
    if (dist <= limit && dist < bestD) {
      best = c;
      bestD = dist;
    }
  }
  return best;
}
