// The human-readable report of `vitc explain`: the resolved spec grouped the way the language
// groups it, then what the spec implies (tokens, parameters, compute, memory).
import type { SpecFacts } from '../spec/facts.js';
import type { Spec } from '../spec/types.js';
import { bytes, num, percent, si, table, thousands } from './format.js';

function onOff(b: boolean): string {
  return b ? 'true' : 'false';
}

function tokensText(s: Spec, f: SpecFacts): string {
  const parts: string[] = [];
  if (s.tokens.cls) parts.push('cls');
  if (s.tokens.distill) parts.push('distill');
  if (s.tokens.registers > 0) parts.push(`${s.tokens.registers} registers`);
  const prefix = parts.length > 0 ? parts.join(' + ') + ' + ' : '';
  return `${prefix}${f.tokens.patches} patches = ${f.tokens.total}`;
}

function posText(s: Spec, f: SpecFacts): string {
  if (s.pos.kind === 'none') return 'none';
  if (s.pos.kind === 'sincos2d') return 'sincos2d (fixed, patches only)';
  if (f.tokens.prefix === 0) return 'learned';
  return s.pos.prefix ? 'learned (covers prefix tokens)' : 'learned no_prefix (patches only)';
}

function architecture(s: Spec, f: SpecFacts): string {
  const { image, patch } = s;
  return table([
    ['image', `${image.height} x ${image.width} x ${image.channels}`],
    ['patch', `${patch.height} x ${patch.width} -> grid ${f.grid.rows} x ${f.grid.cols}`],
    ['tokens', tokensText(s, f)],
    ['width', `${s.width}`],
    ['depth', `${s.depth}`],
    ['heads', `${s.heads} (head dim ${f.headDim})`],
    ['mlp', `hidden ${s.mlp.hidden} ${s.mlp.activation} (ratio ${num(s.mlp.hidden / s.width)})`],
    ['norm', `${s.norm.placement} ${s.norm.kind} eps ${num(s.norm.eps)}`],
    ['qkv_bias', onOff(s.qkvBias)],
    ['qk_norm', onOff(s.qkNorm)],
    ['layer_scale', s.layerScale === null ? 'off' : num(s.layerScale)],
    ['pos', posText(s, f)],
    ['pre_norm', onOff(s.preNorm)],
    ['final_norm', onOff(s.finalNorm)],
    ['pool', s.pool === 'mean' ? 'mean (over patch tokens)' : 'cls'],
    ['fc_norm', onOff(s.fcNorm)],
    ['head', s.head.classes > 0 ? `${s.head.classes} classes` : '0 (features only)'],
    [
      'dropout',
      `embed ${num(s.dropout.embed)} attn ${num(s.dropout.attn)} proj ${num(s.dropout.proj)} ` +
        `head ${num(s.dropout.head)} path ${num(s.dropout.path)}`,
    ],
    ['init', `${s.init.scheme} std ${num(s.init.std)} seed ${s.init.seed}`],
  ]);
}

function preprocess(s: Spec): string {
  const p = s.preprocess;
  // timm: resize the shorter side to floor(size / crop_pct), then center-crop to size.
  const resize =
    p.crop === 1
      ? 'no crop'
      : `resize to ${Math.floor(s.image.height / p.crop)} x ${Math.floor(s.image.width / p.crop)}, ` +
        `center-crop ${s.image.height} x ${s.image.width}`;
  return table([
    ['mean', p.mean.map(num).join(' ')],
    ['std', p.std.map(num).join(' ')],
    ['interpolation', p.interpolation],
    ['crop', `${num(p.crop)} (${resize})`],
  ]);
}

function train(s: Spec): string {
  const t = s.train;
  const o = t.optimizer;
  const opt =
    `${o.kind} lr ${num(o.lr)} weight_decay ${num(o.weightDecay)}` +
    (o.kind === 'sgd'
      ? ` momentum ${num(o.momentum)}`
      : ` betas ${num(o.betas[0])} ${num(o.betas[1])} eps ${num(o.eps)}`);
  const aug = [
    t.augment.flip ? 'flip' : '',
    t.augment.cropPadding > 0 ? `crop_padding ${t.augment.cropPadding}` : '',
  ]
    .filter(Boolean)
    .join(' ');
  return table([
    ['batch', `${t.batch}`],
    ['epochs', `${t.epochs}`],
    ['optimizer', opt],
    [
      'schedule',
      `warmup ${num(t.schedule.warmup)} ${t.schedule.kind} min_lr ${num(t.schedule.minLr)}`,
    ],
    ['loss', `cross_entropy smoothing ${num(t.smoothing)}`],
    ['clip', t.clip === null ? 'off' : num(t.clip)],
    ['precision', t.precision],
    ['seed', `${t.seed}`],
    ['augment', aug || 'none'],
  ]);
}

function params(s: Spec, f: SpecFacts): string {
  const p = f.params;
  const row = (label: string, n: number, note = ''): [string, string] => [
    label,
    `${thousands(n).padStart(thousands(p.total).length)}  ${percent(n, p.total).padStart(6)}${note}`,
  ];
  return table([
    row('embedding', p.embedding, '  (tokens, position, patch projection)'),
    row('blocks', p.blocks, `  (${s.depth} x ${thousands(p.perBlock)})`),
    row('norms', p.norms, '  (outside the blocks)'),
    row('head', p.head),
  ]);
}

function compute(f: SpecFacts): string {
  const m = f.macsBreakdown;
  const row = (label: string, n: number): [string, string] => [
    label,
    `${si(n).padStart(11)}  ${percent(n, f.macs).padStart(6)}`,
  ];
  return table(
    [
      row('patch embed', m.patchEmbed),
      row('qkv', m.qkv),
      row('q @ k^T', m.attnScores),
      row('attn @ v', m.attnValues),
      row('attn proj', m.attnProj),
      row('mlp', m.mlp),
      row('head', m.head),
    ],
    '    ',
  );
}

/** The full `vitc explain` text for one resolved model. */
export function explainText(file: string, s: Spec, f: SpecFacts): string {
  const out: string[] = [];
  out.push(`${s.name}  (${file})`);
  if (s.description) out.push(...s.description.split('\n').map((l) => `  ${l}`));
  out.push(`  chain: ${s.chain.join(' <- ')}`);
  out.push('', 'Architecture', architecture(s, f));
  out.push('', 'Preprocess', preprocess(s));
  out.push('', 'Train defaults', train(s));
  out.push('', `Parameters  ${thousands(f.params.total)}`, params(s, f));
  out.push(
    '',
    'Compute per image (forward)',
    table([
      [
        'MACs',
        `${si(f.macs)}MACs  (${thousands(f.macs)}; matmuls only, as fvcore/timm count them)`,
      ],
      ['FLOPs', `${si(f.flops)}FLOPs (2 x MACs)`],
      [
        'other',
        `${si(f.otherFlops)}FLOPs (bias, norms, softmax, activations, residuals; estimated)`,
      ],
    ]),
    '  MACs by op:',
    compute(f),
  );
  out.push(
    '',
    'Activation memory per image (f32)',
    table([
      ['training', `${bytes(f.activationBytes.train).padStart(10)}  (tensors kept for backward)`],
      [
        'inference',
        `${bytes(f.activationBytes.inferencePeak).padStart(10)}  (peak live set, unfused)`,
      ],
      ['fvcore count', `${si(f.timmActivations, 2)} activations (timm's "Activations (M)")`],
    ]),
  );
  return out.join('\n') + '\n';
}
