// `vitc eval SPEC --weights W --data SOURCE [--split test] [--batch N] [--limit N] [--json]`
// Runs the eval-mode plan over a data split on WebGPU and prints the accuracy, the accuracy per
// class and the confusion matrix (rows: true class, columns: predicted), with class names.
import type { EvalSummary } from '../../runtime/train/evaluate.js';
import { UsageError } from './args.js';
import type { Command } from './command.js';
import { isPosInt, loadSpec, numberFlag } from './train.js';
import { reportUserError } from './user-error.js';

/** The confusion matrix as text: one row per true class, counts per predicted class. */
export function formatConfusion(s: EvalSummary): string {
  const K = s.classes.length;
  const corner = 'true \\ predicted';
  const nameW = Math.max(corner.length, ...s.classes.map((c) => c.length));
  const cellW = Math.max(4, ...s.confusion.flat().map((v) => String(v).length)) + 1;
  const lines = [
    `${corner.padEnd(nameW)} ${Array.from({ length: K }, (_, k) => String(k).padStart(cellW)).join('')}`,
  ];
  s.confusion.forEach((row, k) => {
    lines.push(
      `${s.classes[k].padEnd(nameW)} ${row.map((v) => String(v).padStart(cellW)).join('')}`,
    );
  });
  return lines.join('\n') + '\n';
}

export function formatSummary(s: EvalSummary, header: string): string {
  const pct = (v: number) => (Number.isNaN(v) ? '     -' : `${(v * 100).toFixed(2).padStart(6)}%`);
  const nameW = Math.max(5, ...s.classes.map((c) => c.length));
  const lines = [
    header,
    `accuracy ${pct(s.accuracy).trim()} (${Math.round(s.accuracy * s.samples)}/${s.samples})  loss ${s.loss.toFixed(4)}`,
    '',
    'per class:',
  ];
  s.classes.forEach((c, k) => {
    const n = s.confusion[k].reduce((a, b) => a + b, 0);
    lines.push(
      `  ${String(k).padStart(2)} ${c.padEnd(nameW)} ${pct(s.perClass[k])}  (${s.confusion[k][k]}/${n})`,
    );
  });
  lines.push('', 'confusion matrix (rows: true class, columns: predicted class index):');
  return lines.join('\n') + '\n' + formatConfusion(s);
}

export const evalCommand: Command = {
  name: 'eval',
  summary: 'evaluate weights on a data split: accuracy, per-class accuracy, confusion matrix',
  usage:
    'vitc eval SPEC --weights W.safetensors --data SOURCE [--split test|train] [--batch N] [--limit N] [--json]',
  details:
    'Weights may be a vitc training checkpoint (its optim.* tensors are ignored) or any timm/HF weights.\n' +
    'Images are preprocessed as the spec says, in the data set order, without augmentation.',
  positionals: { name: 'SPEC', min: 1, max: 1 },
  flags: [
    {
      name: 'weights',
      kind: 'string',
      short: 'w',
      value: 'W',
      description: 'safetensors weights or a vitc checkpoint',
    },
    {
      name: 'data',
      kind: 'string',
      short: 'd',
      value: 'SOURCE',
      description: 'fashion-mnist | cifar10:DIR | folder:DIR | mnist:DIR … (docs/DATA.md)',
    },
    { name: 'split', kind: 'string', value: 'SPLIT', description: 'test (default) or train' },
    {
      name: 'batch',
      kind: 'string',
      short: 'b',
      value: 'N',
      description: 'batch size to compile for (default: the spec train batch)',
    },
    {
      name: 'limit',
      kind: 'string',
      value: 'N',
      description: 'the first N images of the split only',
    },
    {
      name: 'model',
      kind: 'string',
      short: 'm',
      value: 'NAME',
      description: 'which model of SPEC (default: the last one)',
    },
    { name: 'json', kind: 'boolean', description: 'print one JSON object' },
  ],
  async run(args, io) {
    const cmd = 'eval';
    const weights = args.flags.weights as string | undefined;
    const data = args.flags.data as string | undefined;
    if (!weights) throw new UsageError('VITC0902', 'give --weights W.safetensors', cmd);
    if (!data)
      throw new UsageError('VITC0902', 'give --data SOURCE (e.g. --data fashion-mnist)', cmd);
    const split = (args.flags.split as string | undefined) ?? 'test';
    if (split !== 'test' && split !== 'train')
      throw new UsageError('VITC0904', `--split must be 'test' or 'train', got '${split}'`, cmd);
    const batchFlag = numberFlag(
      args,
      'batch',
      cmd,
      (n) => isPosInt(n) && n <= 4096,
      'an integer in 1..4096',
    );
    const limit = numberFlag(args, 'limit', cmd, isPosInt, 'a positive integer');
    const { sharedDevice } = await import('../../runtime/device.js');
    let dev: Awaited<ReturnType<typeof sharedDevice>> | undefined;
    try {
      const spec = loadSpec(args.positionals[0], args.flags.model as string | undefined);
      const { openDataset } = await import('../../runtime/data/index.js');
      const { loadWeights } = await import('../../runtime/weights.js');
      const { Evaluator } = await import('../../runtime/train/evaluate.js');
      const { OPTIM_TENSORS } = await import('../../runtime/train/checkpoint.js');
      const { firstN } = await import('../../runtime/train/loop.js');
      const ds = firstN(await openDataset(data, split), limit);
      const params = await loadWeights(spec, weights, {
        ignore: OPTIM_TENSORS,
        onNotice: (m) => io.err(`vitc: notice: ${m}\n`),
      });
      const batch = Math.min(batchFlag ?? spec.train.batch, ds.size);
      dev = await sharedDevice();
      const ev = await Evaluator.create(dev, spec, { batch, specFile: args.positionals[0] });
      try {
        ev.setParams(params);
        const s = await ev.evaluate(ds);
        if (args.flags.json) {
          const perClass = s.classes.map((name, k) => ({
            index: k,
            name,
            accuracy: Number.isNaN(s.perClass[k]) ? null : s.perClass[k],
            samples: s.confusion[k].reduce((a, b) => a + b, 0),
          }));
          io.out(
            JSON.stringify(
              {
                model: spec.name,
                weights,
                data: ds.name,
                samples: s.samples,
                accuracy: s.accuracy,
                loss: s.loss,
                perClass,
                confusion: s.confusion,
              },
              null,
              2,
            ) + '\n',
          );
        } else
          io.out(
            formatSummary(s, `${spec.name} on ${ds.name} (${ds.size} images), weights ${weights}`),
          );
      } finally {
        ev.destroy();
      }
      return 0;
    } catch (e) {
      return reportUserError(io, e);
    } finally {
      dev?.destroy();
    }
  },
};
