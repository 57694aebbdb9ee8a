// `vitc compile SPEC [--out DIR] [--model NAME] [--batch N]`: spec → generated/<name>/
// (kernels/*.wgsl, plan.json, model.ts). VITC_DUMP=graph,fused,plan,wgsl prints the stages.
import { basename, relative, resolve } from 'node:path';
import { emitGenerated } from '../codegen/emit.js';
import { compileSpec, dumpStages } from '../pipeline.js';
import { resolveSpec } from '../spec/load.js';
import type { Command } from './command.js';
import { catchVitc, printDiagnostics } from './report.js';
import { UsageError } from './args.js';

/** generated/<file stem>: specs/vit-base.vit → generated/vit-base. */
export function defaultOutDir(specFile: string): string {
  return `generated/${basename(specFile).replace(/\.vit$/, '')}`;
}

/** The spec path as recorded in generated files: relative to the working directory, with '/'. */
export function specPathForHeader(specFile: string): string {
  return relative(process.cwd(), resolve(specFile)).split('\\').join('/');
}

export function parseBatch(v: unknown): number {
  if (v === undefined) return 1;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 4096)
    throw new UsageError('VITC0904', `--batch must be an integer in 1..4096, got '${v}'`);
  return n;
}

/** --precision f32 (default) | f16: storage precision of a forward plan. */
export function parsePrecision(v: unknown, command: string): 'f32' | 'f16' {
  if (v === undefined || v === 'f32') return 'f32';
  if (v === 'f16') return 'f16';
  throw new UsageError('VITC0904', `--precision must be f32 or f16, got '${v}'`, command);
}

export const compileCommand: Command = {
  name: 'compile',
  summary: 'compile a spec to WGSL kernels, plan.json and a TypeScript module',
  usage: 'vitc compile SPEC [--out DIR] [--model NAME] [--batch N]',
  details:
    'Writes DIR (default generated/<spec file name>/): kernels/*.wgsl, plan.json and model.ts.\n' +
    'The output is deterministic and replaced as a whole (never half-written).\n' +
    'VITC_DUMP=graph,fused,plan,wgsl prints those stages to stderr.',
  positionals: { name: 'SPEC', min: 1, max: 1 },
  flags: [
    { name: 'out', kind: 'string', short: 'o', value: 'DIR', description: 'output folder' },
    {
      name: 'model',
      kind: 'string',
      short: 'm',
      value: 'NAME',
      description: 'which model of SPEC (default: the last one)',
    },
    {
      name: 'batch',
      kind: 'string',
      short: 'b',
      value: 'N',
      description: 'batch size the plan is compiled for (default 1)',
    },
  ],
  async run(args, io) {
    const file = args.positionals[0];
    const batch = parseBatch(args.flags.batch);
    const r = catchVitc(io, () => resolveSpec(file, args.flags.model as string | undefined));
    if (!r.value) return 1;
    const { spec, diagnostics, sources } = r.value;
    if (printDiagnostics(io, diagnostics, sources) || !spec) return 1;
    const t0 = performance.now();
    const specFile = specPathForHeader(file);
    const { plan } = compileSpec(spec, { batch, specFile, dump: dumpStages(), log: io.err });
    const out = (args.flags.out as string | undefined) ?? defaultOutDir(file);
    const res = await emitGenerated(plan, spec, out);
    const ms = performance.now() - t0;
    io.out(
      `wrote ${out}/  (${plan.kernels.length} kernels, ${plan.steps.length} dispatches, ${res.files.length} files) in ${ms.toFixed(0)} ms\n`,
    );
    return 0;
  },
};
