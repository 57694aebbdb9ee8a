// Every CLI command, in the order `vitc --help` lists them. A new command is a module under
// compiler/cli/ exporting a Command, added here (planned: compile, run, train, eval, bench,
// attention, posembed, patches).
import { checkCommand } from './check.js';
import { compileCommand } from './compile.js';
import { runCommand } from './run.js';
import { trainCommand } from './train.js';
import { evalCommand } from './eval.js';
import type { Command } from './command.js';
import { explainCommand } from './explain.js';
import { benchCommand } from './bench.js';
import { attentionCommand } from './attention.js';
import { posembedCommand } from './posembed.js';
import { patchesCommand } from './patches.js';

export const COMMANDS: readonly Command[] = [
  checkCommand,
  explainCommand,
  compileCommand,
  runCommand,
  trainCommand,
  evalCommand,
  attentionCommand,
  posembedCommand,
  patchesCommand,
  benchCommand,
];

export function findCommand(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}
