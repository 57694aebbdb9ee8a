// `vitc posembed SPEC [--weights W] --out pos.png`: the cosine similarity of each patch
// position's embedding to every other patch position, as the grid of small maps of Dosovitskiy et
// al. 2020 (Fig. 7). Learned embeddings come from the weights (patch part only); sincos2d models
// draw their fixed table; `pos none` has nothing to draw.
import type { Command } from './command.js';
import { UsageError } from './args.js';
import { colormapArg, positiveInt, required, resolveSpecArg } from './attention.js';
import { reportUserError } from './user-error.js';

export const posembedCommand: Command = {
  name: 'posembed',
  summary: 'draw how alike the position embeddings of the patch positions are, as a PNG',
  usage: 'vitc posembed SPEC|DIR --out OUT.png [--weights W] [--cell PX] [--colormap NAME]',
  details:
    'The small map in row r, column c shows how similar the position embedding of patch (r, c) is to\n' +
    'that of every patch position (cosine similarity, colours from -1 to 1, bar on the right).\n' +
    'A learned pos_embed comes from --weights (rows of prefix tokens skipped); a sincos2d model\n' +
    'needs no weights. Rows and columns are numbered from 0. See docs/PICTURES.md.',
  positionals: { name: 'SPEC|DIR', min: 1, max: 1 },
  flags: [
    { name: 'out', kind: 'string', short: 'o', value: 'OUT.png', description: 'the PNG to write' },
    {
      name: 'weights',
      kind: 'string',
      short: 'w',
      value: 'W',
      description: 'safetensors weights (needed for a learned embedding)',
    },
    {
      name: 'model',
      kind: 'string',
      short: 'm',
      value: 'NAME',
      description: 'which model of SPEC (default: the last one)',
    },
    {
      name: 'cell',
      kind: 'string',
      value: 'PX',
      description: 'pixels per cell of a small map (default: maps ~32 pixels wide)',
    },
    {
      name: 'colormap',
      kind: 'string',
      value: 'NAME',
      description: 'viridis (default), inferno or gray',
    },
  ],
  async run(args, io) {
    const cmd = 'posembed';
    const source = args.positionals[0]!;
    const out = required(args.flags.out, 'out', cmd);
    const cell = positiveInt(args.flags.cell, 'cell', cmd);
    const colormap = colormapArg(args.flags.colormap, 'viridis', cmd);
    const weights = args.flags.weights as string | undefined;
    const spec = resolveSpecArg(io, source, args.flags.model as string | undefined);
    if (!spec) return 1;
    if (spec.pos.kind === 'none') {
      throw new UsageError(
        'VITC0904',
        `${source}: model "${spec.name}" has no position embedding (pos none): there is nothing to draw`,
        cmd,
      );
    }
    if (spec.pos.kind === 'learned' && weights === undefined) {
      throw new UsageError(
        'VITC0902',
        `model "${spec.name}" has a learned position embedding: give --weights W.safetensors`,
        cmd,
      );
    }
    try {
      const viz = await import('../../runtime/viz/index.js');
      const { writePng } = await import('../../runtime/image/index.js');
      let params: Map<string, Float32Array> | undefined;
      if (spec.pos.kind === 'learned') {
        const { loadWeights } = await import('../../runtime/weights.js');
        params = await loadWeights(spec, weights!, {
          onNotice: (m) => io.err(`vitc: note: ${m}\n`),
        });
      } else if (weights !== undefined) {
        io.err(
          `vitc: note: model "${spec.name}" uses the fixed sincos2d table; --weights is not read\n`,
        );
      }
      const t = viz.patchPosEmbed(spec, params);
      const P = t.rows * t.cols;
      const sim = viz.cosineSimilarity(t.values, P, t.dim);
      await writePng(out, viz.similarityFigure(sim, t.rows, t.cols, { cell, colormap }));
      const from = t.kind === 'learned' ? `learned pos_embed of ${weights}` : 'sincos2d table';
      io.out(
        `wrote ${out}: cosine similarity of ${P} patch positions (${t.rows}×${t.cols} grid, ${from}, dim ${t.dim})\n`,
      );
      return 0;
    } catch (e) {
      return reportUserError(io, e);
    }
  },
};
