// The shape of a CLI command. Each command lives in its own module under compiler/cli/ and is
// registered once in registry.ts; main() parses its flags from this declaration and calls run().
import type { FlagSpec, ParsedArgs, PositionalSpec } from './args.js';
import type { CliIO } from './io.js';

export interface Command {
  name: string;
  /** One line for `vitc --help`. */
  summary: string;
  /** Usage line(s) without the leading `usage: `, e.g. `vitc explain FILE [--model NAME] [--json]`. */
  usage: string;
  /** Paragraphs for `vitc help CMD`, after the usage line and before the options. */
  details?: string;
  positionals: PositionalSpec;
  flags: FlagSpec[];
  /** Returns the exit code: 0 ok, 1 diagnostics with errors. Usage errors throw UsageError. */
  run(args: ParsedArgs, io: CliIO): Promise<number>;
}
