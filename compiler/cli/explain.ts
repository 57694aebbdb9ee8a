// `vitc explain FILE [--model NAME] [--json]`: the resolved spec and what it implies.
import { fusionText, planFacts, planText } from '../codegen/report.js';
import { specFacts } from '../spec/facts.js';
import { resolveSpec } from '../spec/load.js';
import type { Command } from './command.js';
import { explainText } from './explainText.js';
import { catchVitc, printDiagnostics } from './report.js';

export const explainCommand: Command = {
  name: 'explain',
  summary: 'show the resolved spec, parameter count, FLOPs and activation memory',
  usage: 'vitc explain FILE [--model NAME] [--json] [--fusion]',
  details:
    'Acts on the last model defined in FILE unless --model names another.\n' +
    'MACs count matrix products only (patch embedding, linear layers, q @ k^T, attn @ v, head), as\n' +
    "fvcore and timm's model cards do; FLOPs = 2 x MACs. Activation memory is per image at f32:\n" +
    'the tensors a training forward keeps for backward, and the peak live set of an inference forward.\n' +
    'The compiled plan (batch 1) gives dispatches and the device memory a forward pass and a training\n' +
    'step allocate; --fusion also prints every fusion decision and why.',
  positionals: { name: 'FILE', min: 1, max: 1 },
  flags: [
    {
      name: 'model',
      kind: 'string',
      short: 'm',
      value: 'NAME',
      description: 'which model of FILE (default: the last one)',
    },
    { name: 'json', kind: 'boolean', description: 'print one JSON object instead of text' },
    {
      name: 'fusion',
      kind: 'boolean',
      description: 'print the fusion decisions and dispatches per block',
    },
  ],
  async run(args, io) {
    const file = args.positionals[0];
    const model = args.flags.model as string | undefined;
    const r = catchVitc(io, () => resolveSpec(file, model));
    if (!r.value) return 1;
    const { spec, diagnostics, sources } = r.value;
    const errors = printDiagnostics(io, diagnostics, sources);
    if (errors || !spec) return 1;
    const facts = specFacts(spec);
    const pf = planFacts(spec);
    if (args.flags.json) {
      const { fusion, ...forward } = pf.forward;
      const plan = {
        ...pf,
        forward: args.flags.fusion ? { ...forward, reasons: fusion.reasons } : forward,
      };
      const json = { file, model: spec.name, chain: spec.chain, spec, ...facts, plan };
      io.out(JSON.stringify(json, null, 2) + '\n');
    } else {
      io.out(
        explainText(file, spec, facts) +
          '\n' +
          planText(pf) +
          (args.flags.fusion ? '\n' + fusionText(pf) : ''),
      );
    }
    return 0;
  },
};
