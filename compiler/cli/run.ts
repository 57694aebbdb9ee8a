// `vitc run SPEC|DIR [--weights W] (--image A [B…] | --input X.safetensors) [--top K] [--labels F] [--json]`
// Decodes and preprocesses images as the spec says, runs the compiled model on WebGPU, prints the
// top-k classes with probabilities.
import { readFileSync } from 'node:fs';
import { readSafetensors, tensorData } from '../../runtime/safetensors.js';
import { loadModel } from '../../runtime/model.js';
import type { Spec } from '../spec/types.js';
import type { Command } from './command.js';
import { UsageError } from './args.js';
import { parseBatch, parsePrecision } from './compile.js';
import { reportUserError } from './user-error.js';

export function softmaxRow(row: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of row) max = Math.max(max, v);
  const e = Float64Array.from(row, (v) => Math.exp(v - max));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

export function topK(p: Float64Array, k: number): { index: number; prob: number }[] {
  return Array.from(p, (prob, index) => ({ index, prob }))
    .sort((a, b) => b.prob - a.prob || a.index - b.index)
    .slice(0, k);
}

async function loadInputs(args: { images: string[]; input?: string }, spec: Spec) {
  if (args.input) {
    const f = await readSafetensors(args.input);
    if (!f.tensors.has('image'))
      throw Object.assign(
        new Error(
          `${args.input}: no tensor named 'image' (found: ${[...f.tensors.keys()].join(', ')})`,
        ),
        { code: 'VITC0405' },
      );
    return {
      data: Float32Array.from(tensorData(f, 'image') as ArrayLike<number>),
      names: [] as string[],
    };
  }
  const img = await import('../../runtime/image/index.js');
  const decoded = await Promise.all(args.images.map((p) => img.readImage(p)));
  return { data: img.preprocessBatch(decoded, spec), names: args.images };
}

export const runCommand: Command = {
  name: 'run',
  summary: 'run a model on images (or a tensor file) on WebGPU and print the top classes',
  usage:
    'vitc run SPEC|DIR [--weights W.safetensors] (--image A.png [B.jpg …] | --input X.safetensors) [--top K] [--labels FILE] [--precision f32|f16] [--tune] [--json]',
  details:
    'SPEC is compiled on the fly; DIR is a folder written by `vitc compile`. Images are decoded (PNG, JPEG),\n' +
    "resized, center-cropped and normalized as the spec's preprocess block says. Without --weights the model\n" +
    'runs on seeded random weights, with a loud warning.',
  positionals: { name: 'SPEC|DIR [IMAGE…]', min: 1, max: Infinity },
  flags: [
    {
      name: 'weights',
      kind: 'string',
      short: 'w',
      value: 'W',
      description: 'safetensors weights (timm or HF names)',
    },
    {
      name: 'image',
      kind: 'string',
      short: 'i',
      value: 'IMG',
      repeatable: true,
      description: 'image file(s); more may follow as arguments',
    },
    {
      name: 'input',
      kind: 'string',
      value: 'X',
      description: "safetensors with a preprocessed 'image' tensor [n, C, H, W]",
    },
    {
      name: 'top',
      kind: 'string',
      short: 'k',
      value: 'K',
      description: 'classes to print per image (default 5)',
    },
    { name: 'labels', kind: 'string', value: 'FILE', description: 'class names, one per line' },
    {
      name: 'batch',
      kind: 'string',
      short: 'b',
      value: 'N',
      description: 'batch size to compile for (default: all images, max 64)',
    },
    {
      name: 'model',
      kind: 'string',
      short: 'm',
      value: 'NAME',
      description: 'which model of SPEC (default: the last one)',
    },
    {
      name: 'tune',
      kind: 'boolean',
      description:
        'autotune tiles, subgroup variants and attention schedules on this adapter first (cached in ~/.cache/vitc)',
    },
    {
      name: 'precision',
      kind: 'string',
      value: 'f32|f16',
      description: 'f16 keeps weights and activations in f16 (needs shader-f16; logits move ~1e-3)',
    },
    { name: 'json', kind: 'boolean', description: 'print one JSON object' },
  ],
  async run(args, io) {
    const [source, ...more] = args.positionals;
    const images = [...((args.flags.image as string[] | undefined) ?? []), ...more];
    const input = args.flags.input as string | undefined;
    if (!images.length && !input)
      throw new UsageError('VITC0902', 'give --image FILE… or --input X.safetensors', 'run');
    if (images.length && input)
      throw new UsageError('VITC0904', '--image and --input are exclusive', 'run');
    const precision = parsePrecision(args.flags.precision, 'run');
    const top = args.flags.top === undefined ? 5 : Number(args.flags.top);
    if (!Number.isInteger(top) || top < 1)
      throw new UsageError(
        'VITC0904',
        `--top must be a positive integer, got '${args.flags.top}'`,
        'run',
      );
    try {
      const labels = args.flags.labels
        ? readFileSync(args.flags.labels as string, 'utf8')
            .split('\n')
            .map((l) => l.trim())
            .filter(Boolean)
        : undefined;
      const batch =
        args.flags.batch !== undefined
          ? parseBatch(args.flags.batch)
          : Math.min(64, Math.max(1, images.length || 1));
      const model = await loadModel(source, {
        weights: args.flags.weights as string | undefined,
        batch,
        model: args.flags.model as string | undefined,
        precision,
        tune: Boolean(args.flags.tune),
        warn: (l) => io.err(l + '\n'),
      });
      try {
        const { data, names } = await loadInputs({ images, input }, model.spec);
        const logits = await model.forward(data);
        const K = model.plan.outputs[0].shape[1];
        const n = logits.length / K;
        const results = [];
        for (let i = 0; i < n; i++) {
          const p = softmaxRow(logits.subarray(i * K, (i + 1) * K));
          const best = topK(p, Math.min(top, K)).map((t) => ({
            ...t,
            label: labels?.[t.index] ?? `class ${t.index}`,
          }));
          results.push({
            image: names[i] ?? `#${i}`,
            top: best,
            logits: Array.from(logits.subarray(i * K, (i + 1) * K)),
          });
        }
        if (args.flags.json)
          io.out(
            JSON.stringify(
              { model: model.spec.name, weights: model.weightsSource, results },
              null,
              2,
            ) + '\n',
          );
        else
          for (const r of results) {
            io.out(`${r.image}\n`);
            for (const t of r.top)
              io.out(`  ${(t.prob * 100).toFixed(2).padStart(6)}%  ${t.label}\n`);
          }
      } finally {
        model.destroy();
      }
      return 0;
    } catch (e) {
      return reportUserError(io, e);
    }
  },
};
