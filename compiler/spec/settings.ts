// A model's settings while inheritance is being resolved: the Spec's shape, but with the required
// sizes possibly unset, the MLP size kept as written (ratio or hidden) and fc_norm possibly
// `auto`, so a child that changes `width` or `pool` gets them re-derived. Every field records
// the span of the statement that set it, so later checks can point at it.
import type { Span, StatementNode, WordNode } from '../../grammar/ast.js';
import type { Activation, Spec, TrainSpec } from './types.js';

export interface Settings {
  image?: Spec['image'];
  patch?: Spec['patch'];
  width?: number;
  depth?: number;
  heads?: number;
  mlp: { size: { ratio: number } | { hidden: number }; activation: Activation };
  norm: Spec['norm'];
  qkvBias: boolean;
  qkNorm: boolean;
  layerScale: number | null;
  tokens: Spec['tokens'];
  /** `explicitPrefix`: where `prefix`/`no_prefix` was written, if it still applies. */
  pos: Spec['pos'] & { explicitPrefix?: WordNode };
  preNorm: boolean;
  finalNorm: boolean;
  pool: Spec['pool'];
  fcNorm: boolean | 'auto';
  head: Spec['head'];
  dropout: Spec['dropout'];
  init: Spec['init'];
  /** mean/std unset means 0.5 per image channel. */
  preprocess: Omit<Spec['preprocess'], 'mean' | 'std'> & { mean?: number[]; std?: number[] };
  train: TrainSpec;
}

/** Where a field was set, and how far from the model being resolved (0 = its own body). */
export interface FieldSource {
  span: Span;
  /** 0 own body, 0.5 its file's top-level blocks, then +1 per inheritance step. */
  depth: number;
  /** The model whose body set it ('' for a file's top-level block). */
  model: string;
}

/** JSON pointer into the Spec (`/mlp/hidden`) → where it was set. */
export type FieldSources = Map<string, FieldSource>;

/** The defaults of docs/LANGUAGE.md. */
export function defaultSettings(): Settings {
  return {
    mlp: { size: { ratio: 4 }, activation: 'gelu' },
    norm: { placement: 'pre', kind: 'layernorm', eps: 1e-6 },
    qkvBias: true,
    qkNorm: false,
    layerScale: null,
    tokens: { cls: true, distill: false, registers: 0 },
    pos: { kind: 'learned', prefix: true },
    preNorm: false,
    finalNorm: true,
    pool: 'cls',
    fcNorm: 'auto',
    head: { classes: 1000 },
    dropout: { embed: 0, attn: 0, proj: 0, head: 0, path: 0 },
    init: { scheme: 'trunc_normal', std: 0.02, seed: 0 },
    preprocess: { interpolation: 'bicubic', crop: 0.9 },
    train: {
      batch: 128,
      epochs: 100,
      optimizer: {
        kind: 'adamw',
        lr: 1e-3,
        weightDecay: 0.05,
        betas: [0.9, 0.999],
        eps: 1e-8,
        momentum: 0.9,
      },
      schedule: { warmup: 5, kind: 'cosine', minLr: 1e-5 },
      smoothing: 0.1,
      clip: null,
      precision: 'f32',
      seed: 0,
      augment: { flip: false, cropPadding: 0 },
    },
  };
}

type Record_ = (path: string, span: Span) => void;

const BOOL_FIELDS = {
  qkv_bias: 'qkvBias',
  qk_norm: 'qkNorm',
  pre_norm: 'preNorm',
  final_norm: 'finalNorm',
} as const;

/** Apply one statement (already checked for shape by the parser) to the settings. */
export function applyStatement(s: Settings, st: StatementNode, record: Record_): void {
  const kw = st.keyword.value;
  switch (st.form) {
    case 'dims': {
      const [a, b, c] = st.dims as [
        (typeof st.dims)[0],
        (typeof st.dims)[0]?,
        (typeof st.dims)[0]?,
      ];
      const second = b ?? a;
      if (kw === 'image') {
        s.image = { height: a.value, width: second.value, channels: c?.value ?? 3 };
        record('/image/height', a);
        record('/image/width', second);
        record('/image/channels', c ?? st.keyword);
      } else {
        s.patch = { height: a.value, width: second.value };
        record('/patch/height', a);
        record('/patch/width', second);
      }
      return;
    }
    case 'number': {
      const v = st.value.value;
      const path = {
        width: '/width',
        depth: '/depth',
        heads: '/heads',
        head: '/head/classes',
        crop: '/preprocess/crop',
        batch: '/train/batch',
        epochs: '/train/epochs',
        seed: '/train/seed',
      }[kw];
      if (!path) return;
      if (kw === 'width' || kw === 'depth' || kw === 'heads') s[kw] = v;
      else if (kw === 'head') s.head = { classes: v };
      else if (kw === 'crop') s.preprocess.crop = v;
      else if (kw === 'batch' || kw === 'epochs' || kw === 'seed') s.train[kw] = v;
      record(path, st.value);
      return;
    }
    case 'list': {
      const values = st.values.map((n) => n.value);
      const which = kw === 'mean' ? 'mean' : 'std';
      s.preprocess[which] = values;
      record(`/preprocess/${which}`, st.keyword);
      st.values.forEach((n, i) => record(`/preprocess/${which}/${i}`, n));
      return;
    }
    case 'word': {
      const w = st.value.value;
      if (kw in BOOL_FIELDS) {
        const field = BOOL_FIELDS[kw as keyof typeof BOOL_FIELDS];
        s[field] = w === 'true';
        record(`/${field}`, st.value);
      } else if (kw === 'pool') {
        s.pool = w as Settings['pool'];
        record('/pool', st.value);
      } else if (kw === 'fc_norm') {
        s.fcNorm = w === 'auto' ? 'auto' : w === 'true';
        record('/fcNorm', st.value);
      } else if (kw === 'interpolation') {
        s.preprocess.interpolation = w as Settings['preprocess']['interpolation'];
        record('/preprocess/interpolation', st.value);
      } else if (kw === 'precision') {
        s.train.precision = w as TrainSpec['precision'];
        record('/train/precision', st.value);
      }
      return;
    }
    case 'numberOrWord': {
      const v = st.value.type === 'number' ? st.value.value : null;
      if (kw === 'layer_scale') s.layerScale = v;
      else s.train.clip = v;
      record(kw === 'layer_scale' ? '/layerScale' : '/train/clip', st.value);
      return;
    }
    case 'options':
      applyOptions(s, st, record);
  }
}

function applyOptions(
  s: Settings,
  st: Extract<StatementNode, { form: 'options' }>,
  record: Record_,
) {
  const { keyed, choices, flags } = st;
  const num = (name: string, path: string, set: (v: number) => void, index = 0) => {
    const k = keyed[name];
    if (!k) return;
    set(k.values[index]!.value);
    record(path, k.values[index]!);
  };
  const choice = (slot: string, path: string, set: (w: string) => void) => {
    const c = choices[slot];
    if (!c) return;
    set(c.value);
    record(path, c);
  };
  switch (st.keyword.value) {
    case 'mlp':
      num('ratio', '/mlp/hidden', (v) => (s.mlp.size = { ratio: v }));
      num('hidden', '/mlp/hidden', (v) => (s.mlp.size = { hidden: v }));
      choice('activation', '/mlp/activation', (w) => (s.mlp.activation = w as Activation));
      return;
    case 'norm':
      choice('placement', '/norm/placement', (w) => (s.norm.placement = w as 'pre' | 'post'));
      choice('kind', '/norm/kind', (w) => (s.norm.kind = w as 'layernorm' | 'rmsnorm'));
      num('eps', '/norm/eps', (v) => (s.norm.eps = v));
      return;
    case 'tokens': {
      // A set, not a patch: `tokens cls distill` is the whole list of prefix tokens.
      const regs = keyed.registers?.values[0];
      s.tokens = { cls: !!flags.cls, distill: !!flags.distill, registers: regs?.value ?? 0 };
      record('/tokens/cls', flags.cls ?? st.keyword);
      record('/tokens/distill', flags.distill ?? st.keyword);
      record('/tokens/registers', regs ?? st.keyword);
      return;
    }
    case 'pos': {
      const kind = choices.kind;
      const prefix = choices.prefix;
      if (kind) {
        s.pos.kind = kind.value as Settings['pos']['kind'];
        record('/pos/kind', kind);
        // A new kind brings its own default: learned covers the prefix tokens, the others never do.
        s.pos.prefix = kind.value === 'learned';
        delete s.pos.explicitPrefix;
        record('/pos/prefix', kind);
      }
      if (prefix) {
        s.pos.prefix = prefix.value === 'prefix';
        s.pos.explicitPrefix = prefix;
        record('/pos/prefix', prefix);
      }
      return;
    }
    case 'dropout':
      for (const k of ['embed', 'attn', 'proj', 'head', 'path'] as const)
        num(k, `/dropout/${k}`, (v) => (s.dropout[k] = v));
      return;
    case 'init':
      choice('scheme', '/init/scheme', (w) => (s.init.scheme = w as Spec['init']['scheme']));
      num('std', '/init/std', (v) => (s.init.std = v));
      num('seed', '/init/seed', (v) => (s.init.seed = v));
      return;
    case 'optimizer': {
      const o = s.train.optimizer;
      const p = '/train/optimizer';
      choice('kind', `${p}/kind`, (w) => (o.kind = w as TrainSpec['optimizer']['kind']));
      num('lr', `${p}/lr`, (v) => (o.lr = v));
      num('weight_decay', `${p}/weightDecay`, (v) => (o.weightDecay = v));
      num('betas', `${p}/betas/0`, (v) => (o.betas = [v, o.betas[1]]), 0);
      num('betas', `${p}/betas/1`, (v) => (o.betas = [o.betas[0], v]), 1);
      num('eps', `${p}/eps`, (v) => (o.eps = v));
      num('momentum', `${p}/momentum`, (v) => (o.momentum = v));
      return;
    }
    case 'schedule': {
      const sc = s.train.schedule;
      num('warmup', '/train/schedule/warmup', (v) => (sc.warmup = v));
      choice('kind', '/train/schedule/kind', (w) => (sc.kind = w as TrainSpec['schedule']['kind']));
      num('min_lr', '/train/schedule/minLr', (v) => (sc.minLr = v));
      return;
    }
    case 'loss':
      // cross_entropy is the only loss; the word is accepted so specs can say so explicitly.
      num('smoothing', '/train/smoothing', (v) => (s.train.smoothing = v));
      return;
    case 'augment': {
      const pad = keyed.crop_padding?.values[0];
      s.train.augment = { flip: !!flags.flip, cropPadding: pad?.value ?? 0 };
      record('/train/augment/flip', flags.flip ?? st.keyword);
      record('/train/augment/cropPadding', pad ?? st.keyword);
      return;
    }
  }
}

/** Largest channel count for which the default mean/std (0.5 per channel) is filled in. */
const MAX_DEFAULT_CHANNELS = 65536;

/**
 * Settings → Spec, once inheritance is done. Returns the names of missing required statements
 * instead when any is unset. `mlpRatio` is the ratio the hidden size came from, if any.
 */
export function finalize(
  s: Settings,
  meta: { name: string; description: string; chain: string[] },
): { spec: Spec; mlpRatio?: number } | { missing: string[] } {
  const missing = (['image', 'patch', 'width', 'depth', 'heads'] as const).filter(
    (k) => s[k] === undefined,
  );
  if (missing.length) return { missing };
  const { image, patch, width, depth, heads } = s as Required<Settings>;
  const ratio = 'ratio' in s.mlp.size ? s.mlp.size.ratio : undefined;
  const hidden = 'hidden' in s.mlp.size ? s.mlp.size.hidden : Math.floor(width * ratio!);
  const c = image.channels;
  const half =
    Number.isSafeInteger(c) && c >= 1 && c <= MAX_DEFAULT_CHANNELS
      ? new Array<number>(c).fill(0.5)
      : [];
  const spec: Spec = {
    name: meta.name,
    description: meta.description,
    chain: meta.chain,
    image: { ...image },
    patch: { ...patch },
    width,
    depth,
    heads,
    mlp: { hidden, activation: s.mlp.activation },
    norm: { ...s.norm },
    qkvBias: s.qkvBias,
    qkNorm: s.qkNorm,
    layerScale: s.layerScale,
    tokens: { ...s.tokens },
    pos: { kind: s.pos.kind, prefix: s.pos.prefix },
    preNorm: s.preNorm,
    finalNorm: s.finalNorm,
    pool: s.pool,
    fcNorm: s.fcNorm === 'auto' ? s.pool === 'mean' : s.fcNorm,
    head: { ...s.head },
    dropout: { ...s.dropout },
    init: { ...s.init },
    preprocess: {
      mean: s.preprocess.mean ? [...s.preprocess.mean] : half,
      std: s.preprocess.std ? [...s.preprocess.std] : [...half],
      interpolation: s.preprocess.interpolation,
      crop: s.preprocess.crop,
    },
    train: structuredClone(s.train),
  };
  return ratio === undefined ? { spec } : { spec, mlpRatio: ratio };
}
