// `vitc check FILE…`: parse and resolve every model of each file, print diagnostics or a summary.
import { loadSpecFile } from '../spec/load.js';
import type { Command } from './command.js';
import { catchVitc, printDiagnostics } from './report.js';

export const checkCommand: Command = {
  name: 'check',
  summary: 'parse and validate .vit files (all models in each file)',
  usage: 'vitc check FILE...',
  details:
    'Resolves every model of each FILE (imports, extends, defaults) and validates it.\n' +
    "Prints 'ok  FILE  model, ...' for a clean file, otherwise the diagnostics.\n" +
    'Exit code 0 when no file has errors (warnings allowed), 1 otherwise.',
  positionals: { name: 'FILE', min: 1, max: Infinity },
  flags: [],
  async run(args, io) {
    let failed = false;
    for (const file of args.positionals) {
      const r = catchVitc(io, () => loadSpecFile(file));
      if (!r.value) {
        failed = true;
        continue;
      }
      const { specs, diagnostics, sources } = r.value;
      const errors = printDiagnostics(io, diagnostics, sources);
      if (errors) {
        failed = true;
        continue;
      }
      const names = specs.length > 0 ? specs.map((s) => s.name).join(', ') : '(no models)';
      io.out(`ok  ${file}  ${names}\n`);
    }
    return failed ? 1 : 0;
  },
};
