// Semantic checks of a resolved Spec, each with its own code, located at the statement that set
// the offending value (through the field → source map kept during resolution). Per-field checks
// run first; cross-field checks only look at fields that passed, so one mistake gives one error.
import { type Diagnostic, type DiagnosticCode, diagnostic } from '../diagnostics.js';
import type { Span, WordNode } from '../../grammar/ast.js';
import { MAX_SEED, MAX_SIZE } from './schema.js';
import type { FieldSource, FieldSources } from './settings.js';
import type { Spec } from './types.js';

export interface ValidationInput {
  spec: Spec;
  sources: FieldSources;
  /** The model's name in its `model` header: where problems with no statement of their own go. */
  nameSpan: Span;
  /** The ratio the MLP hidden size came from, when it came from one. */
  mlpRatio?: number;
  /** Where `prefix` / `no_prefix` was written, if it still applies. */
  explicitPrefix?: WordNode;
}

type Kind = 'size' | 'count' | 'seed' | 'positive' | 'nonNegative' | 'rate' | 'crop' | 'finite';

/** Field → (check, label in messages, code for a range failure). */
const FIELDS: [string, Kind, string, DiagnosticCode?][] = [
  ['/image/height', 'size', 'image height'],
  ['/image/width', 'size', 'image width'],
  ['/image/channels', 'size', 'image channels'],
  ['/patch/height', 'size', 'patch height'],
  ['/patch/width', 'size', 'patch width'],
  ['/width', 'size', 'width'],
  ['/depth', 'size', 'depth'],
  ['/heads', 'size', 'heads'],
  ['/norm/eps', 'positive', 'norm eps', 'VITC0311'],
  ['/layerScale', 'positive', 'layer_scale', 'VITC0312'],
  ['/tokens/registers', 'count', 'registers'],
  ['/head/classes', 'count', 'head classes'],
  ...(['embed', 'attn', 'proj', 'head', 'path'] as const).map(
    (k): [string, Kind, string, DiagnosticCode] => [
      `/dropout/${k}`,
      'rate',
      `dropout ${k}`,
      'VITC0310',
    ],
  ),
  ['/init/std', 'positive', 'init std', 'VITC0321'],
  ['/init/seed', 'seed', 'init seed'],
  ['/preprocess/crop', 'crop', 'crop', 'VITC0316'],
  ['/train/batch', 'size', 'batch'],
  ['/train/epochs', 'size', 'epochs'],
  ['/train/optimizer/lr', 'positive', 'lr', 'VITC0317'],
  ['/train/optimizer/weightDecay', 'nonNegative', 'weight_decay'],
  ['/train/optimizer/betas/0', 'rate', 'beta1', 'VITC0318'],
  ['/train/optimizer/betas/1', 'rate', 'beta2', 'VITC0318'],
  ['/train/optimizer/eps', 'positive', 'optimizer eps', 'VITC0311'],
  ['/train/optimizer/momentum', 'rate', 'momentum', 'VITC0323'],
  ['/train/schedule/warmup', 'nonNegative', 'warmup'],
  ['/train/schedule/minLr', 'nonNegative', 'min_lr'],
  ['/train/smoothing', 'rate', 'label smoothing', 'VITC0319'],
  ['/train/clip', 'positive', 'clip', 'VITC0320'],
  ['/train/seed', 'seed', 'train seed'],
  ['/train/augment/cropPadding', 'count', 'crop_padding'],
];

/** Where a derived field points when nothing set it directly. */
const FALLBACK: Record<string, string> = {
  '/fcNorm': '/pool',
  '/preprocess/mean': '/image/channels',
};

function get(spec: Spec, pointer: string): unknown {
  let v: unknown = spec;
  for (const k of pointer.slice(1).split('/')) v = (v as Record<string, unknown> | undefined)?.[k];
  return v;
}

const show = (v: number) => String(v);

/** The first problem of one number under a check, as [code, message] (undefined when fine). */
function checkNumber(
  v: number,
  kind: Kind,
  label: string,
  code?: DiagnosticCode,
): [DiagnosticCode, string] | undefined {
  if (!Number.isFinite(v)) return ['VITC0305', `${label} is out of range`];
  const integer = kind === 'size' || kind === 'count' || kind === 'seed';
  if (integer && !Number.isInteger(v))
    return ['VITC0303', `${label} must be an integer, got ${show(v)}`];
  const max = kind === 'seed' ? MAX_SEED : MAX_SIZE;
  if (integer && v > max) return ['VITC0305', `${label} ${show(v)} is too large (at most ${max})`];
  switch (kind) {
    case 'size':
      return v >= 1 ? undefined : ['VITC0304', `${label} must be positive, got ${show(v)}`];
    case 'count':
    case 'seed':
    case 'nonNegative':
      return v >= 0 ? undefined : ['VITC0313', `${label} must not be negative, got ${show(v)}`];
    case 'positive':
      return v > 0 ? undefined : [code!, `${label} must be positive, got ${show(v)}`];
    case 'rate':
      return v >= 0 && v < 1 ? undefined : [code!, `${label} must be in [0, 1), got ${show(v)}`];
    case 'crop':
      return v > 0 && v <= 1 ? undefined : [code!, `${label} must be in (0, 1], got ${show(v)}`];
    default:
      return undefined;
  }
}

export function validateSpec(input: ValidationInput): Diagnostic[] {
  const { spec, sources, nameSpan } = input;
  const out: Diagnostic[] = [];
  const bad = new Set<string>();

  const locate = (p: string): FieldSource => {
    const direct = sources.get(p) ?? (FALLBACK[p] ? sources.get(FALLBACK[p]) : undefined);
    // Unset fields lose every tie: an explicit statement is a better place to point at.
    return direct ?? { span: nameSpan, depth: Infinity, model: spec.name };
  };
  /** Report at the most local of the fields involved (ties: the last one listed). */
  const report = (
    code: DiagnosticCode,
    message: string,
    paths: string[],
    hint?: string,
    at?: Span,
  ) => {
    let best = paths.length ? locate(paths[0]!) : { span: nameSpan, depth: 0, model: spec.name };
    for (const p of paths.slice(1)) if (locate(p).depth <= best.depth) best = locate(p);
    const span = at ?? best.span;
    const inherited =
      !at && best.depth >= 1 && Number.isFinite(best.depth)
        ? `model '${spec.name}' inherits this from ${best.model ? `'${best.model}'` : `the top-level block of ${span.pos.file}`}`
        : undefined;
    const hints = [hint, inherited].filter(Boolean).join('; ');
    out.push(
      diagnostic(code, message, { pos: span.pos, length: span.length, hint: hints || undefined }),
    );
  };

  for (const [p, kind, label, code] of FIELDS) {
    const v = get(spec, p);
    if (typeof v !== 'number') continue;
    const problem = checkNumber(v, kind, label, code);
    if (problem) {
      report(problem[0], problem[1], [p]);
      bad.add(p);
    }
  }
  if (input.mlpRatio !== undefined) {
    const r = input.mlpRatio;
    if (!Number.isFinite(r) || r <= 0) {
      report(
        Number.isFinite(r) ? 'VITC0322' : 'VITC0305',
        Number.isFinite(r)
          ? `mlp ratio must be positive, got ${show(r)}`
          : 'mlp ratio is out of range',
        ['/mlp/hidden'],
      );
      bad.add('/mlp/hidden');
    } else if (!bad.has('/width')) {
      const h = spec.mlp.hidden;
      const problem = checkNumber(
        h,
        'size',
        `mlp hidden size floor(${spec.width} × ${show(r)}) = ${h}`,
      );
      if (problem) report(problem[0], problem[1], ['/mlp/hidden']);
      if (problem) bad.add('/mlp/hidden');
    }
  } else {
    const problem = checkNumber(spec.mlp.hidden, 'size', 'mlp hidden');
    if (problem) report(problem[0], problem[1], ['/mlp/hidden']);
  }
  for (const which of ['mean', 'std'] as const) {
    spec.preprocess[which].forEach((v, i) => {
      const p = `/preprocess/${which}/${i}`;
      const problem = checkNumber(
        v,
        which === 'std' ? 'positive' : 'finite',
        `preprocess ${which}`,
        'VITC0315',
      );
      if (problem) {
        report(problem[0], problem[1], [p]);
        bad.add(`/preprocess/${which}`);
      }
    });
  }

  const ok = (...ps: string[]) => ps.every((p) => !bad.has(p));
  const { image, patch, tokens } = spec;
  if (ok('/width', '/heads') && spec.width % spec.heads !== 0)
    report('VITC0301', `width ${spec.width} is not divisible by heads ${spec.heads}`, [
      '/width',
      '/heads',
    ]);
  for (const side of ['height', 'width'] as const) {
    if (ok(`/image/${side}`, `/patch/${side}`) && image[side] % patch[side] !== 0)
      report(
        'VITC0302',
        `image ${side} ${image[side]} is not divisible by patch ${side} ${patch[side]}`,
        [`/patch/${side}`, `/image/${side}`],
      );
  }
  if (tokens.distill && !tokens.cls)
    report(
      'VITC0306',
      'a distill token needs a cls token',
      ['/tokens/cls', '/tokens/distill'],
      'write `tokens cls distill`',
    );
  if (spec.pool === 'cls' && !tokens.cls)
    report(
      'VITC0307',
      'pool cls needs a cls token',
      ['/tokens/cls', '/pool'],
      'add `cls` to tokens, or use `pool mean`',
    );
  if (spec.pos.kind === 'sincos2d' && ok('/width') && spec.width % 4 !== 0)
    report(
      'VITC0308',
      `sincos2d position embedding needs width divisible by 4, got ${spec.width}`,
      ['/width', '/pos/kind'],
    );
  if (input.explicitPrefix && spec.pos.kind !== 'learned')
    report(
      'VITC0309',
      `'${input.explicitPrefix.value}' applies only to a learned position embedding, not ${spec.pos.kind}`,
      [],
      undefined,
      input.explicitPrefix,
    );
  const channels = image.channels;
  for (const which of ['mean', 'std'] as const) {
    const n = spec.preprocess[which].length;
    if (ok('/image/channels', `/preprocess/${which}`) && n !== channels)
      report(
        'VITC0314',
        `preprocess ${which} has ${n} value${n === 1 ? '' : 's'} but the image has ${channels} channel${channels === 1 ? '' : 's'}`,
        ['/image/channels', `/preprocess/${which}`],
        `give one ${which} per channel`,
      );
  }

  const t = spec.train;
  if (
    ok('/train/schedule/warmup', '/train/epochs') &&
    t.schedule.warmup > 0 &&
    t.schedule.warmup >= t.epochs
  )
    report(
      'VITC0324',
      `warmup of ${t.schedule.warmup} epochs is not shorter than training (${t.epochs} epochs)`,
      ['/train/schedule/warmup', '/train/epochs'],
      'set `schedule warmup N` with N below epochs',
    );
  if (ok('/train/optimizer/lr', '/train/schedule/minLr') && t.schedule.minLr > t.optimizer.lr)
    report('VITC0325', `min_lr ${t.schedule.minLr} is above lr ${t.optimizer.lr}`, [
      '/train/optimizer/lr',
      '/train/schedule/minLr',
    ]);
  if (sources.has('/train/optimizer/momentum') && t.optimizer.kind !== 'sgd')
    report(
      'VITC0326',
      `momentum has no effect with ${t.optimizer.kind}`,
      ['/train/optimizer/momentum'],
      'momentum applies to sgd',
    );
  if (sources.has('/train/precision') && t.precision !== 'f32')
    report(
      'VITC0326',
      `train precision ${t.precision} has no effect: vitc trains in f32`,
      ['/train/precision'],
      'f16 is available for the forward: vitc run / vitc bench --precision f16',
    );
  if (sources.has('/fcNorm') && spec.fcNorm && !spec.finalNorm)
    report(
      'VITC0326',
      'fc_norm true has no effect with final_norm false',
      ['/fcNorm'],
      'fc_norm moves the final norm after pooling',
    );
  return out;
}
