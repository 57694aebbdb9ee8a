// The vitc command line. `bin/vitc.js` imports the compiled dist/compiler/cli.js and calls main;
// `npx tsx compiler/cli.ts …` runs this file directly.
//
// Exit codes: 0 ok, 1 diagnostics with errors, 2 usage errors (unknown command or option,
// missing argument). User errors never produce a stack trace; an unexpected exception is a vitc
// bug and is reported as one (with the stack only when VITC_DEBUG is set).
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatDiagnostic } from './diagnostics.js';
import { parseArgs, suggestion, UsageError } from './cli/args.js';
import { commandHelp, mainHelp, usageLine, version } from './cli/help.js';
import { type CliIO, processIO } from './cli/io.js';
import { COMMANDS, findCommand } from './cli/registry.js';

export type { CliIO } from './cli/io.js';
export { bufferIO } from './cli/io.js';

const HELP_NAMES = ['help', ...COMMANDS.map((c) => c.name)];

function runHelp(rest: readonly string[], io: CliIO): number {
  if (rest.length === 0) {
    io.out(mainHelp());
    return 0;
  }
  const cmd = findCommand(rest[0]);
  if (rest[0] === 'help') {
    io.out('usage: vitc help [COMMAND]\n\nShow the list of commands, or the options of COMMAND.\n');
    return 0;
  }
  if (!cmd) {
    const hint = suggestion(rest[0], HELP_NAMES);
    throw new UsageError('VITC0901', `no such command '${rest[0]}'`, undefined, hint);
  }
  io.out(commandHelp(cmd));
  return 0;
}

async function dispatch(argv: readonly string[], io: CliIO): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.err(mainHelp());
    return 2;
  }
  if (first === '--help' || first === '-h') return runHelp([], io);
  if (first === '--version' || first === '-V') {
    io.out(`vitc ${version()}\n`);
    return 0;
  }
  if (first.startsWith('-')) {
    const hint = suggestion(first, ['--help', '--version']);
    throw new UsageError('VITC0903', `unknown option '${first}'`, undefined, hint);
  }
  if (first === 'help') return runHelp(rest, io);
  const cmd = findCommand(first);
  if (!cmd) {
    const hint = suggestion(first, HELP_NAMES);
    throw new UsageError('VITC0901', `unknown command '${first}'`, undefined, hint);
  }
  const args = parseArgs(cmd.name, rest, cmd.flags, cmd.positionals);
  if (args.flags.help) {
    io.out(commandHelp(cmd));
    return 0;
  }
  return cmd.run(args, io);
}

/** Run the CLI; returns the exit code. Never throws for user errors. */
export async function main(argv: string[], io: CliIO = processIO()): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (e) {
    if (e instanceof UsageError) {
      const d = { code: e.code, severity: 'error' as const, message: e.message, hint: e.hint };
      io.err(`vitc: ${formatDiagnostic(d)}\n`);
      io.err(usageLine(e.command ? findCommand(e.command) : undefined));
      return 2;
    }
    const err = e instanceof Error ? e : new Error(String(e));
    io.err(`vitc: internal error: ${err.message}\n`);
    io.err(
      process.env.VITC_DEBUG
        ? `${err.stack ?? ''}\n`
        : 'This is a bug in vitc; rerun with VITC_DEBUG=1 for a stack trace and report it.\n',
    );
    return 70; // EX_SOFTWARE: distinguishes a crash from diagnostics (1) and usage errors (2)
  }
}

function isEntryModule(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryModule()) {
  process.exitCode = await main(process.argv.slice(2));
}
