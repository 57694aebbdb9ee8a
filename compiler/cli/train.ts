// `vitc train SPEC --data SOURCE --out DIR [--epochs N --batch N --lr X --weight-decay X --warmup N
//  --smoothing X --clip X --seed N --limit N --val F] [--resume DIR]`
// Trains on WebGPU (runtime/train/loop.ts): progress on stderr, one summary line per epoch on
// stdout, DIR/metrics.jsonl, DIR/curves.png, DIR/last.safetensors and DIR/best.safetensors.
// Ctrl-C finishes the current step, saves DIR/last.safetensors and exits 130.
import { VitcError } from '../diagnostics.js';
import { resolveSpec } from '../spec/load.js';
import type { Spec } from '../spec/types.js';
import type { FlagSpec, ParsedArgs } from './args.js';
import { UsageError } from './args.js';
import type { Command } from './command.js';
import { version } from './help.js';
import { reportUserError } from './user-error.js';

type Check = (n: number) => boolean;

/** A numeric flag, or undefined when absent; anything else is a usage error naming the flag. */
export function numberFlag(
  args: ParsedArgs,
  name: string,
  cmd: string,
  ok: Check,
  what: string,
): number | undefined {
  const raw = args.flags[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (String(raw).trim() === '' || !Number.isFinite(n) || !ok(n))
    throw new UsageError('VITC0904', `--${name} must be ${what}, got '${String(raw)}'`, cmd);
  return n;
}

export const isPosInt: Check = (n) => Number.isSafeInteger(n) && n >= 1;

/** Resolves SPEC (and --model) or throws the spec's diagnostics. */
export function loadSpec(file: string, model?: string): Spec {
  const r = resolveSpec(file, model);
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  if (!r.spec || errors.length) throw new VitcError(errors.length ? errors : r.diagnostics);
  return r.spec;
}

const FLAGS: FlagSpec[] = [
  {
    name: 'data',
    kind: 'string',
    short: 'd',
    value: 'SOURCE',
    description: 'fashion-mnist | cifar10:DIR | folder:DIR | mnist:DIR … (docs/DATA.md)',
  },
  {
    name: 'out',
    kind: 'string',
    short: 'o',
    value: 'DIR',
    description:
      'run folder: checkpoints, metrics.jsonl, curves.png (default: the --resume folder)',
  },
  {
    name: 'resume',
    kind: 'string',
    value: 'DIR',
    description: 'continue from DIR/last.safetensors (bit-identical to an uninterrupted run)',
  },
  {
    name: 'epochs',
    kind: 'string',
    value: 'N',
    description: 'epochs (default: the spec train block)',
  },
  { name: 'batch', kind: 'string', short: 'b', value: 'N', description: 'batch size' },
  { name: 'lr', kind: 'string', value: 'X', description: 'peak learning rate' },
  { name: 'weight-decay', kind: 'string', value: 'X', description: 'AdamW weight decay' },
  { name: 'warmup', kind: 'string', value: 'N', description: 'warmup epochs (may be fractional)' },
  { name: 'smoothing', kind: 'string', value: 'X', description: 'label smoothing in [0, 1)' },
  { name: 'clip', kind: 'string', value: 'X', description: "global gradient-norm clip, or 'none'" },
  {
    name: 'seed',
    kind: 'string',
    value: 'N',
    description: 'seed of the initialization, data order, augmentation and dropout',
  },
  {
    name: 'limit',
    kind: 'string',
    value: 'N',
    description: 'train on the first N training images only (quick runs)',
  },
  {
    name: 'test-limit',
    kind: 'string',
    value: 'N',
    description: 'evaluate on the first N test images only',
  },
  {
    name: 'val',
    kind: 'string',
    value: 'F',
    description:
      'hold out this fraction of the training images (per class, seeded) for validation; the best checkpoint is chosen on it',
  },
  {
    name: 'log-every',
    kind: 'string',
    value: 'N',
    description: 'a metrics.jsonl record every N steps (default 50)',
  },
  {
    name: 'model',
    kind: 'string',
    short: 'm',
    value: 'NAME',
    description: 'which model of SPEC (default: the last one)',
  },
];

export const trainCommand: Command = {
  name: 'train',
  summary: 'train a model on WebGPU: checkpoints, metrics.jsonl, curves.png',
  usage:
    'vitc train SPEC --data SOURCE --out DIR [--epochs N] [--batch N] [--lr X] [--weight-decay X] [--warmup N]\n' +
    '                  [--smoothing X] [--clip X|none] [--seed N] [--limit N] [--test-limit N] [--val F] [--resume DIR]',
  details:
    "Flags override the spec's train block. Each epoch drops its last partial batch, then evaluates on the\n" +
    'test split; DIR/last.safetensors is written every epoch and DIR/best.safetensors when the test accuracy\n' +
    'improves (timm-named weights plus optim.* optimizer state; `vitc run --weights` reads them). Ctrl-C\n' +
    'finishes the current step, saves DIR/last.safetensors and exits 130; --resume DIR continues exactly.',
  positionals: { name: 'SPEC', min: 1, max: 1 },
  flags: FLAGS,
  async run(args, io) {
    const cmd = 'train';
    const data = args.flags.data as string | undefined;
    const resume = args.flags.resume as string | undefined;
    const out = (args.flags.out as string | undefined) ?? resume;
    if (!data && !resume)
      throw new UsageError('VITC0902', 'give --data SOURCE (e.g. --data fashion-mnist)', cmd);
    if (!out)
      throw new UsageError('VITC0902', 'give --out DIR (where checkpoints and metrics go)', cmd);
    const pos = (name: string) => numberFlag(args, name, cmd, isPosInt, 'a positive integer');
    const clipRaw = args.flags.clip;
    const overrides = {
      epochs: pos('epochs'),
      batch: numberFlag(
        args,
        'batch',
        cmd,
        (n) => isPosInt(n) && n <= 4096,
        'an integer in 1..4096',
      ),
      lr: numberFlag(args, 'lr', cmd, (n) => n > 0, 'a positive number'),
      weightDecay: numberFlag(args, 'weight-decay', cmd, (n) => n >= 0, 'a number ≥ 0'),
      warmup: numberFlag(args, 'warmup', cmd, (n) => n >= 0, 'a number of epochs ≥ 0'),
      smoothing: numberFlag(args, 'smoothing', cmd, (n) => n >= 0 && n < 1, 'a number in [0, 1)'),
      clip:
        clipRaw === 'none'
          ? null
          : numberFlag(args, 'clip', cmd, (n) => n > 0, "a positive number or 'none'"),
      seed: numberFlag(
        args,
        'seed',
        cmd,
        (n) => Number.isSafeInteger(n) && n >= 0,
        'a non-negative integer',
      ),
    };
    const limit = pos('limit');
    const testLimit = pos('test-limit');
    const val = numberFlag(args, 'val', cmd, (n) => n > 0 && n < 1, 'a fraction in (0, 1)');
    const logEvery = pos('log-every');

    // Ctrl-C: the first asks the loop to stop after the current step and save; a second one quits.
    const controller = new AbortController();
    const onSigint = () => {
      if (controller.signal.aborted) {
        io.err('\nvitc: second interrupt: exiting now (the last complete checkpoint is kept)\n');
        process.exit(130);
      }
      io.err(
        '\nvitc: interrupted: finishing the current step and saving a checkpoint (Ctrl-C again to quit now)\n',
      );
      controller.abort();
    };
    process.on('SIGINT', onSigint);
    const { sharedDevice } = await import('../../runtime/device.js');
    let dev: Awaited<ReturnType<typeof sharedDevice>> | undefined;
    try {
      const spec = loadSpec(args.positionals[0], args.flags.model as string | undefined);
      const { trainModel } = await import('../../runtime/train/loop.js');
      dev = await sharedDevice();
      const r = await trainModel({
        spec,
        specFile: args.positionals[0],
        data,
        out,
        resume,
        overrides,
        limit,
        testLimit,
        ...(val !== undefined ? { val } : {}),
        logEvery,
        device: dev,
        log: (t) => io.err(t),
        print: (t) => io.out(t),
        tty: io.color,
        signal: controller.signal,
        version: version(),
      });
      if (r.status === 'interrupted') {
        io.err(
          `vitc: stopped at step ${r.step}/${r.totalSteps}; checkpoint saved to ${r.last}\n` +
            `vitc: continue with: vitc train ${args.positionals[0]} --resume ${out}\n`,
        );
        return 130;
      }
      const best = r.best
        ? `; best ${r.best.on} accuracy ${(r.best.accuracy * 100).toFixed(2)}% in ${r.best.path}`
        : '';
      io.err(`vitc: done: ${r.step} steps, ${r.epoch} epochs; last checkpoint ${r.last}${best}\n`);
      return 0;
    } catch (e) {
      return reportUserError(io, e);
    } finally {
      process.off('SIGINT', onSigint);
      // dawn.node can keep the process alive while a device exists; the next user gets a new one.
      dev?.destroy();
    }
  },
};
