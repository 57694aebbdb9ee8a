// `vitc attention SPEC --image I [--weights W] [--layer L|last|all] [--head H|mean|all]
//   [--rollout] --out attn.png`: where the model looks. The CLS token's attention over the patches
// (row 0 of each block's softmax probabilities, patch columns only), on the patch grid, blended
// as a heatmap over the image the model saw; or attention rollout over all blocks.
// Also holds the small argument helpers the other picture commands (posembed, patches) share.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Spec } from '../spec/types.js';
import { resolveSpec } from '../spec/load.js';
import type { Command } from './command.js';
import type { CliIO } from './io.js';
import { UsageError } from './args.js';
import { printDiagnostics } from './report.js';
import { reportUserError } from './user-error.js';

const COLORMAPS = ['inferno', 'viridis', 'gray'] as const;
export type FigureColormap = (typeof COLORMAPS)[number];

/**
 * SPEC as a resolved Spec: a .vit file (diagnostics printed with their source lines) or a folder
 * written by `vitc compile` (its spec.json). Undefined after printing errors.
 */
export function resolveSpecArg(io: CliIO, source: string, model?: string): Spec | undefined {
  if (existsSync(source) && statSync(source).isDirectory()) {
    const file = join(source, 'spec.json');
    if (!existsSync(file)) {
      io.err(
        `vitc: error: ${source}: not a compiled model folder (no spec.json) and not a .vit file\n`,
      );
      return undefined;
    }
    return JSON.parse(readFileSync(file, 'utf8')) as Spec;
  }
  const r = resolveSpec(source, model);
  const failed = printDiagnostics(io, r.diagnostics, r.sources);
  return failed || !r.spec ? undefined : r.spec;
}

/** A flag that must be given (the picture commands need --out). */
export function required(value: unknown, flag: string, command: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new UsageError('VITC0902', `'${command}' needs --${flag}`, command);
  }
  return value;
}

/** An optional positive-integer flag. */
export function positiveInt(value: unknown, flag: string, command: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new UsageError(
      'VITC0904',
      `--${flag} must be a positive integer, got '${value}'`,
      command,
    );
  }
  return n;
}

/** `N` or `HxW` (also `H×W`, `H*W`) as { height, width }. */
export function sizeArg(
  value: unknown,
  flag: string,
  command: string,
): { height: number; width: number } | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+)(?:\s*[x×*]\s*(\d+))?$/.exec(String(value).trim());
  const h = m ? Number(m[1]) : NaN;
  const w = m ? Number(m[2] ?? m[1]) : NaN;
  if (!(h >= 1 && w >= 1)) {
    throw new UsageError(
      'VITC0904',
      `--${flag} must be N or HxW (positive integers), got '${value}'`,
      command,
    );
  }
  return { height: h, width: w };
}

export function colormapArg(
  value: unknown,
  fallback: FigureColormap,
  command: string,
): FigureColormap {
  if (value === undefined) return fallback;
  if (!(COLORMAPS as readonly unknown[]).includes(value)) {
    throw new UsageError(
      'VITC0904',
      `--colormap must be one of ${COLORMAPS.join(', ')}, got '${value}'`,
      command,
    );
  }
  return value as FigureColormap;
}

type Choice = number | 'all' | 'mean' | 'last';

function choiceArg(
  value: unknown,
  flag: string,
  words: readonly string[],
  count: number,
  what: string,
): Choice {
  const s = String(value);
  if (words.includes(s)) return s as Choice;
  const n = Number(s);
  if (!/^\d+$/.test(s) || n >= count) {
    throw new UsageError(
      'VITC0904',
      `--${flag} must be ${words.join(', ')} or a number 0..${count - 1} (the model has ${count} ${what}), got '${s}'`,
      'attention',
    );
  }
  return n;
}

export const attentionCommand: Command = {
  name: 'attention',
  summary: "draw where the model looks: the CLS token's attention over the patches, as a PNG",
  usage:
    'vitc attention SPEC --image IMG --out OUT.png [--weights W] [--layer L|last|all] [--head H|mean|all] [--rollout]',
  details:
    "Runs IMG through the model on WebGPU and draws row 0 (the cls token's query) of each block's\n" +
    'attention probabilities, patch columns only (prefix tokens skipped), on the patch grid, blended\n' +
    'over the preprocessed image. Models without a cls token show the mean over all query tokens.\n' +
    'Blocks and heads are numbered from 0. Panels: --layer all (default): one per block, heads averaged;\n' +
    '--layer L --head all: one per head of block L; --layer all --head all: blocks × heads.\n' +
    '--rollout: attention rollout (Abnar & Zuidema 2020) over all blocks, heads averaged.\n' +
    'Each panel is scaled to its own min..max. See docs/PICTURES.md.',
  positionals: { name: 'SPEC', min: 1, max: 1 },
  flags: [
    {
      name: 'image',
      kind: 'string',
      short: 'i',
      value: 'IMG',
      description: 'the input image (PNG or JPEG)',
    },
    { name: 'out', kind: 'string', short: 'o', value: 'OUT.png', description: 'the PNG to write' },
    {
      name: 'weights',
      kind: 'string',
      short: 'w',
      value: 'W',
      description: 'safetensors weights (without: random init, with a warning)',
    },
    {
      name: 'layer',
      kind: 'string',
      short: 'l',
      value: 'L',
      description: 'block number, last, or all (default all)',
    },
    {
      name: 'head',
      kind: 'string',
      value: 'H',
      description: 'head number, mean, or all (default mean)',
    },
    {
      name: 'rollout',
      kind: 'boolean',
      description: 'attention rollout over all blocks instead of single blocks',
    },
    {
      name: 'model',
      kind: 'string',
      short: 'm',
      value: 'NAME',
      description: 'which model of SPEC (default: the last one)',
    },
    {
      name: 'alpha',
      kind: 'string',
      value: 'A',
      description: 'heatmap weight in the blend, 0..1 (default 0.6)',
    },
    {
      name: 'colormap',
      kind: 'string',
      value: 'NAME',
      description: 'inferno (default), viridis or gray',
    },
    {
      name: 'smooth',
      kind: 'boolean',
      description: 'bilinear upsampling of the maps (default: blocky patches)',
    },
    {
      name: 'scale',
      kind: 'string',
      value: 'K',
      description: 'enlarge the image K times (default: at least 112 pixels)',
    },
  ],
  async run(args, io) {
    const source = args.positionals[0]!;
    const cmd = 'attention';
    const imagePath = required(args.flags.image, 'image', cmd);
    const out = required(args.flags.out, 'out', cmd);
    const rollout = Boolean(args.flags.rollout);
    if (rollout && (args.flags.layer !== undefined || args.flags.head !== undefined)) {
      throw new UsageError(
        'VITC0904',
        '--rollout combines all blocks with heads averaged; drop --layer and --head',
        cmd,
      );
    }
    const alpha = args.flags.alpha === undefined ? 0.6 : Number(args.flags.alpha);
    if (!(alpha >= 0 && alpha <= 1))
      throw new UsageError('VITC0904', `--alpha must be in [0, 1], got '${args.flags.alpha}'`, cmd);
    const colormap = colormapArg(args.flags.colormap, 'inferno', cmd);
    const scale = positiveInt(args.flags.scale, 'scale', cmd);
    if (existsSync(source) && statSync(source).isDirectory()) {
      throw new UsageError(
        'VITC0904',
        `${source}: attention maps need the .vit spec (a separately compiled plan), not a compiled folder`,
        cmd,
      );
    }
    const model = args.flags.model as string | undefined;
    const spec = resolveSpecArg(io, source, model);
    if (!spec) return 1;
    const layerSel = choiceArg(
      args.flags.layer ?? 'all',
      'layer',
      ['all', 'last'],
      spec.depth,
      'blocks',
    );
    const headSel = choiceArg(
      args.flags.head ?? 'mean',
      'head',
      ['all', 'mean'],
      spec.heads,
      'heads',
    );
    if (headSel === 'last')
      throw new UsageError('VITC0904', "--head must be a number, mean or all, got 'last'", cmd);
    try {
      const viz = await import('../../runtime/viz/index.js');
      const img = await import('../../runtime/image/index.js');
      const { loadModel } = await import('../../runtime/model.js');
      const chw = img.preprocessImage(await img.readImage(imagePath), spec);
      const m = await loadModel(source, {
        weights: args.flags.weights as string | undefined,
        attention: true,
        batch: 1,
        model,
        warn: (l) => io.err(l + '\n'),
      });
      let attention: Float32Array[];
      try {
        attention = (await m.forwardWithAttention(chw)).attention!;
      } finally {
        m.destroy();
      }
      const g = viz.attnGeometry(spec);
      if (!g.cls) {
        io.err(
          `vitc: note: model "${spec.name}" has no cls token: each map is the attention of all ${g.tokens} query tokens, averaged\n`,
        );
      }
      const layers =
        layerSel === 'all'
          ? attention.map((_, i) => i)
          : [layerSel === 'last' ? spec.depth - 1 : (layerSel as number)];
      const heads: (number | 'mean')[] =
        headSel === 'all'
          ? Array.from({ length: spec.heads }, (_, h) => h)
          : [headSel as number | 'mean'];
      const panels: { map?: Float64Array; label: string }[] = [];
      let panelCols: number | undefined;
      if (rollout)
        panels.push(
          { label: 'image' },
          { map: viz.attentionRollout(attention, g), label: 'rollout' },
        );
      else {
        // A blocks × heads grid reads row by row, so it leaves the image out (it is under every map).
        if (layers.length > 1 && heads.length > 1) panelCols = heads.length;
        else panels.push({ label: 'image' });
        for (const l of layers)
          for (const h of heads) {
            const label = `layer ${l}${h === 'mean' ? '' : ` head ${h}`}`;
            panels.push({ map: viz.clsAttention(attention[l]!, g, h), label });
          }
      }
      const figure = viz.overlayFigure(viz.denormalize(chw, spec), panels, g, {
        alpha,
        colormap,
        smooth: Boolean(args.flags.smooth),
        scale,
        panelCols,
      });
      await img.writePng(out, figure);
      const what = rollout
        ? 'attention rollout'
        : `${panels.filter((p) => p.map).length} attention map(s)`;
      io.out(
        `wrote ${out} (${figure.width}×${figure.height}): ${what}, ${g.cls ? 'cls token' : 'mean query'} over a ${g.rows}×${g.cols} patch grid\n`,
      );
      return 0;
    } catch (e) {
      return reportUserError(io, e);
    }
  },
};
