// Usage and help texts, built from the command table so they never drift from what is parsed.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeFlags } from './args.js';
import type { Command } from './command.js';
import { COMMANDS } from './registry.js';

/** vitc's version from package.json, found by walking up from this module (src or dist). */
export function version(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'vitc' && pkg.version) return pkg.version;
    } catch {
      // not here; keep walking up
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

export function mainHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length), 4);
  const lines = [
    'vitc: a compiler for Vision Transformers (.vit specs -> WGSL kernels + TypeScript runtime)',
    '',
    'usage: vitc COMMAND [options] [arguments]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}   ${c.summary}`),
    `  ${'help'.padEnd(width)}   show help for a command: vitc help COMMAND`,
    '',
    'options:',
    '  -h, --help       show this help',
    '  -V, --version    print the version',
    '',
    "Run 'vitc help COMMAND' for a command's options.",
  ];
  return lines.join('\n') + '\n';
}

export function commandHelp(c: Command): string {
  const parts = [`usage: ${c.usage}`, '', c.summary];
  if (c.details) parts.push('', c.details);
  parts.push('', 'options:', describeFlags(c.flags));
  return parts.join('\n') + '\n';
}

/** The short text printed under a usage error. */
export function usageLine(c?: Command): string {
  return c
    ? `usage: ${c.usage}\nRun 'vitc help ${c.name}' for details.\n`
    : "usage: vitc COMMAND [options] [arguments]\nRun 'vitc --help' for the list of commands.\n";
}
