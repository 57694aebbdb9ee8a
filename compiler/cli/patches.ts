// `vitc patches --image I (--patch P | --spec SPEC) [--size S] [--numbers] --out grid.png`: the
// image cut into patches as a ViT sees it, with grid lines and optional patch numbers (row-major,
// the token order after the prefix tokens).
import type { Command } from './command.js';
import { UsageError } from './args.js';
import { positiveInt, required, resolveSpecArg, sizeArg } from './attention.js';
import { reportUserError } from './user-error.js';

export const patchesCommand: Command = {
  name: 'patches',
  summary: 'draw an image cut into patches, with grid lines and patch numbers, as a PNG',
  usage: 'vitc patches --image IMG (--patch P | --spec SPEC) [--size S] [--numbers] --out OUT.png',
  details:
    "With --spec, the image is preprocessed as the model's spec says (resize, centre crop, channels)\n" +
    'and cut into its patches (--patch overrides the size). Otherwise --size S (or HxW) resizes the\n' +
    'image to exactly that size (bicubic), or it is used as it is. Patch numbers count from 0,\n' +
    'row-major: patch i is token (prefix tokens + i) of the model. Sizes are N or HxW.',
  positionals: { name: '', min: 0, max: 0 },
  flags: [
    {
      name: 'image',
      kind: 'string',
      short: 'i',
      value: 'IMG',
      description: 'the image (PNG or JPEG)',
    },
    { name: 'out', kind: 'string', short: 'o', value: 'OUT.png', description: 'the PNG to write' },
    { name: 'patch', kind: 'string', short: 'p', value: 'P', description: 'patch size, P or HxW' },
    {
      name: 'spec',
      kind: 'string',
      value: 'SPEC',
      description: "take image size, preprocessing and patch from a model's spec",
    },
    {
      name: 'model',
      kind: 'string',
      short: 'm',
      value: 'NAME',
      description: 'which model of SPEC (default: the last one)',
    },
    {
      name: 'size',
      kind: 'string',
      short: 's',
      value: 'S',
      description: 'resize the image to S×S (or HxW) first',
    },
    {
      name: 'numbers',
      kind: 'boolean',
      short: 'n',
      description: 'write the index of each patch in its corner',
    },
    {
      name: 'scale',
      kind: 'string',
      value: 'K',
      description: 'enlarge K times (default: at least 128 pixels, numbers fitting)',
    },
  ],
  async run(args, io) {
    const cmd = 'patches';
    const imagePath = required(args.flags.image, 'image', cmd);
    const out = required(args.flags.out, 'out', cmd);
    let patch = sizeArg(args.flags.patch, 'patch', cmd);
    const size = sizeArg(args.flags.size, 'size', cmd);
    const scale = positiveInt(args.flags.scale, 'scale', cmd);
    const specPath = args.flags.spec as string | undefined;
    if (specPath === undefined && !patch)
      throw new UsageError('VITC0902', "'patches' needs --patch P or --spec SPEC", cmd);
    if (specPath !== undefined && size)
      throw new UsageError(
        'VITC0904',
        '--size and --spec are exclusive: the spec sets the size',
        cmd,
      );
    if (args.flags.model !== undefined && specPath === undefined)
      throw new UsageError('VITC0904', '--model needs --spec', cmd);
    const spec =
      specPath === undefined
        ? undefined
        : resolveSpecArg(io, specPath, args.flags.model as string | undefined);
    if (specPath !== undefined && !spec) return 1;
    patch ??= spec!.patch;
    try {
      const img = await import('../../runtime/image/index.js');
      const viz = await import('../../runtime/viz/index.js');
      const decoded = await img.readImage(imagePath);
      let canvas;
      if (spec) canvas = viz.denormalize(img.preprocessImage(decoded, spec), spec);
      else
        canvas = img.toCanvas(
          size ? img.resizeImage(decoded, size.width, size.height, 'bicubic') : decoded,
        );
      if (canvas.width % patch.width !== 0 || canvas.height % patch.height !== 0) {
        throw new UsageError(
          'VITC0904',
          `${imagePath}: a ${canvas.height}×${canvas.width} image does not divide into ${patch.height}×${patch.width} patches; give --size`,
          cmd,
        );
      }
      const numbers = Boolean(args.flags.numbers);
      const k = scale ?? viz.autoPatchScale(canvas, patch, numbers);
      if (numbers && !viz.numbersFit(canvas, patch, k)) {
        io.err(
          `vitc: note: at --scale ${k} the patch numbers do not fit inside the patches; leave out --scale to fit them\n`,
        );
      }
      const figure = viz.patchGridFigure(canvas, patch, { numbers, scale: k });
      await img.writePng(out, figure);
      const rows = canvas.height / patch.height;
      const cols = canvas.width / patch.width;
      io.out(
        `wrote ${out} (${figure.width}×${figure.height}): ${rows}×${cols} = ${rows * cols} patches of ${patch.height}×${patch.width} pixels\n`,
      );
      return 0;
    } catch (e) {
      if (e instanceof UsageError) throw e;
      return reportUserError(io, e);
    }
  },
};
