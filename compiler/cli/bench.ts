// `vitc bench SPEC|DIR [--batch N] [--train] [--peer tfjs|ort|none] [--warmup N] [--runs N] [--json]`
// Forward (and training-step) images/s of the compiled model, against a peer library on the same
// GPUDevice in the same run. The measuring code lives in bench/ (bench/run.ts); it is imported
// lazily because the peers are dev dependencies and their loading is slow.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { VitcError } from '../diagnostics.js';
import { resolveSpec } from '../spec/load.js';
import type { Spec } from '../spec/types.js';
import { sharedDevice } from '../../runtime/device.js';
import type { Command } from './command.js';
import { UsageError } from './args.js';
import { parseBatch, parsePrecision } from './compile.js';
import { reportUserError } from './user-error.js';

const PEERS = ['tfjs', 'ort', 'none'] as const;

function count(v: unknown, flag: string, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > 10_000)
    throw new UsageError('VITC0904', `--${flag} must be an integer ≥ ${min}, got '${v}'`, 'bench');
  return n;
}

/** A spec file, or a folder written by `vitc compile` (its spec.json; the plan is rebuilt for --batch). */
function loadSpec(source: string, model?: string): Spec {
  if (existsSync(source) && statSync(source).isDirectory()) {
    const p = join(source, 'spec.json');
    if (!existsSync(p))
      throw new Error(`${source}: not a compiled model (no spec.json; run \`vitc compile\`)`);
    return JSON.parse(readFileSync(p, 'utf8')) as Spec;
  }
  const r = resolveSpec(source, model);
  const errors = r.diagnostics.filter((d) => d.severity === 'error');
  if (!r.spec || errors.length) throw new VitcError(errors.length ? errors : r.diagnostics);
  return r.spec;
}

export const benchCommand: Command = {
  name: 'bench',
  summary:
    'images/s of forward (and training step) on WebGPU, against tfjs or ONNX Runtime on the same adapter',
  usage:
    'vitc bench SPEC|DIR [--batch N] [--train] [--peer tfjs|ort|none] [--precision f32|f16] [--warmup N] [--runs N] [--weights W] [--json]',
  details:
    'Times whole forwards (each ends with reading the output back, so GPU time is included) and reports\n' +
    'the median. With --peer, the same model runs in TensorFlow.js (tfjs-backend-webgpu) or ONNX Runtime Web\n' +
    "(WebGPU EP, on an ONNX export of vitc's graph) on vitc's own GPUDevice, with the same weights and images;\n" +
    "the peer's logits must match vitc's (relative L2 < 1e-4; 1e-2 with --precision f16) before anything is timed. Runs alternate\n" +
    'between vitc and the peer, so changes in machine load hit both. --train adds the training step\n' +
    '(forward, loss, backward, clipping, optimizer update; tfjs is the only peer that trains).\n' +
    'Peers need the dev dependencies (@tensorflow/tfjs-core, @tensorflow/tfjs-backend-webgpu, onnxruntime-web).',
  positionals: { name: 'SPEC|DIR', min: 1, max: 1 },
  flags: [
    {
      name: 'batch',
      kind: 'string',
      short: 'b',
      value: 'N',
      description: 'batch size (default 1)',
    },
    { name: 'train', kind: 'boolean', description: 'also time the training step' },
    {
      name: 'tune',
      kind: 'boolean',
      description:
        'autotune tiles, subgroup variants and attention schedules on this adapter first (cached in ~/.cache/vitc)',
    },
    {
      name: 'peer',
      kind: 'string',
      short: 'p',
      value: 'NAME',
      description: 'tfjs, ort or none (default tfjs)',
    },
    {
      name: 'precision',
      kind: 'string',
      value: 'f32|f16',
      description: "vitc's forward storage precision (f16 needs shader-f16; the peer stays f32)",
    },
    { name: 'warmup', kind: 'string', value: 'N', description: 'untimed runs first (default 1)' },
    { name: 'runs', kind: 'string', short: 'n', value: 'N', description: 'timed runs (default 5)' },
    {
      name: 'weights',
      kind: 'string',
      short: 'w',
      value: 'W',
      description: 'safetensors weights (default: seeded init)',
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
    const source = args.positionals[0];
    const batch = parseBatch(args.flags.batch);
    const peer = (args.flags.peer as string | undefined) ?? 'tfjs';
    if (!(PEERS as readonly string[]).includes(peer))
      throw new UsageError(
        'VITC0904',
        `--peer must be one of ${PEERS.join(', ')}, got '${peer}'`,
        'bench',
      );
    const precision = parsePrecision(args.flags.precision, 'bench');
    if (precision === 'f16' && args.flags.train)
      throw new UsageError(
        'VITC0904',
        '--precision f16 is for the forward; training keeps f32 weights (drop --train)',
        'bench',
      );
    const warmup = count(args.flags.warmup, 'warmup', 1, 0);
    const runs = count(args.flags.runs, 'runs', 5, 1);
    let bench: typeof import('../../bench/run.js');
    let report: typeof import('../../bench/report.js');
    try {
      [bench, report] = await Promise.all([
        import('../../bench/run.js'),
        import('../../bench/report.js'),
      ]);
    } catch (e) {
      io.err(
        `vitc: error: the benchmark code (bench/) could not be loaded: ${(e as Error).message}\n`,
      );
      return 1;
    }
    try {
      const spec = loadSpec(source, args.flags.model as string | undefined);
      const device = await sharedDevice();
      const result = await bench.runBench({
        spec,
        specFile: source,
        batch,
        peer: peer as (typeof PEERS)[number],
        train: Boolean(args.flags.train),
        tune: Boolean(args.flags.tune),
        precision,
        warmup,
        runs,
        weights: args.flags.weights as string | undefined,
        device,
        log: (l) => io.err(l + '\n'),
      });
      io.out(args.flags.json ? JSON.stringify(result, null, 2) + '\n' : report.formatBench(result));
      return 0;
    } catch (e) {
      if (e instanceof bench.PeerMismatchError) {
        io.err(`vitc: error: ${e.message}\n`);
        return 1;
      }
      const code = (e as { code?: string }).code;
      if (code === 'ERR_MODULE_NOT_FOUND') {
        io.err(
          `vitc: error: peer '${peer}' is not installed (${(e as Error).message}); install the dev dependencies or use --peer none\n`,
        );
        return 1;
      }
      return reportUserError(io, e);
    }
  },
};
