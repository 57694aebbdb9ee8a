// Every CLI command, in the order `vitc --help` lists them. A new command is a module under
// compiler/cli/ exporting a Command, added here (planned: compile, run, train, eval, bench,
// attention, posembed, patches).
import { checkCommand } from './check.js';
import { compileCommand } from './compile.js';
import { runCommand } from './run.js';
import type { Command } from './command.js';
import { explainCommand } from './explain.js';

export const COMMANDS: readonly Command[] = [checkCommand, explainCommand, compileCommand, runCommand];

export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}
