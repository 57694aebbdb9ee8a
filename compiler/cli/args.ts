// A small argument parser: each command declares its flags and positionals, and the parser turns
// argv into values or a UsageError (exit code 2) that names the problem and suggests a fix.
import type { DiagnosticCode } from '../diagnostics.js';
import { closest } from './suggest.js';

export type FlagKind = 'boolean' | 'string' | 'number';

export interface FlagSpec {
  /** Long name without dashes: `model` for `--model`. */
  name: string;
  kind: FlagKind;
  /** One-letter alias without the dash: `m` for `-m`. */
  short?: string;
  /** Placeholder shown in help: `NAME` in `--model NAME`. */
  value?: string;
  description: string;
  /** A string/number flag given more than once collects every value (e.g. `--dump graph --dump wgsl`). */
  repeatable?: boolean;
}

export interface PositionalSpec {
  /** Placeholder shown in help: `FILE`. */
  name: string;
  min: number;
  /** Use Infinity for "any number". */
  max: number;
}

export type FlagValue = boolean | string | number | string[] | number[];

export interface ParsedArgs {
  positionals: string[];
  flags: Record<string, FlagValue | undefined>;
}

/** A mistake in how the CLI was called: printed with the usage line, exit code 2. */
export class UsageError extends Error {
  constructor(
    /** A VITC09xx code from the diagnostics catalogue. */
    readonly code: DiagnosticCode,
    message: string,
    /** The command whose usage to show, if known. */
    readonly command?: string,
    /** e.g. "did you mean '--model'?" */
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** A "did you mean" hint for a mistyped name, or undefined when nothing is close. */
export function suggestion(word: string, candidates: readonly string[]): string | undefined {
  const c = closest(word, candidates);
  return c === undefined ? undefined : `did you mean '${c}'?`;
}

/** `--help`/`-h` is understood by every command. */
export const HELP_FLAG: FlagSpec = {
  name: 'help',
  kind: 'boolean',
  short: 'h',
  description: 'show this help',
};

function parseValue(flag: FlagSpec, raw: string, command: string): string | number {
  if (flag.kind === 'number') {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) {
      throw new UsageError('VITC0904', `--${flag.name} expects a number, got '${raw}'`, command);
    }
    return n;
  }
  return raw;
}

/** Parse the arguments that follow the command name. */
export function parseArgs(
  command: string,
  argv: readonly string[],
  flagSpecs: readonly FlagSpec[],
  positional: PositionalSpec,
): ParsedArgs {
  const specs = [HELP_FLAG, ...flagSpecs];
  const byLong = new Map(specs.map((f) => [f.name, f]));
  const byShort = new Map(specs.filter((f) => f.short).map((f) => [f.short as string, f]));
  const flags: Record<string, FlagValue | undefined> = {};
  const positionals: string[] = [];
  const longNames = specs.map((f) => `--${f.name}`);

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    let flag: FlagSpec | undefined;
    let inline: string | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
      flag = byLong.get(name);
      if (!flag) {
        throw new UsageError(
          'VITC0903',
          `unknown option '--${name}' for '${command}'`,
          command,
          suggestion(`--${name}`, longNames),
        );
      }
    } else {
      flag = byShort.get(arg.slice(1));
      if (!flag) {
        const names = longNames.concat(specs.filter((f) => f.short).map((f) => `-${f.short}`));
        throw new UsageError(
          'VITC0903',
          `unknown option '${arg}' for '${command}'`,
          command,
          suggestion(arg, names),
        );
      }
    }

    if (flag.kind === 'boolean') {
      if (inline !== undefined) {
        if (inline !== 'true' && inline !== 'false') {
          throw new UsageError(
            'VITC0904',
            `--${flag.name} takes no value (got '${inline}')`,
            command,
          );
        }
        flags[flag.name] = inline === 'true';
      } else {
        flags[flag.name] = true;
      }
      continue;
    }
    let raw = inline;
    if (raw === undefined) {
      if (i + 1 >= argv.length) {
        throw new UsageError(
          'VITC0902',
          `--${flag.name} needs a value: --${flag.name} ${flag.value ?? 'VALUE'}`,
          command,
        );
      }
      raw = argv[++i];
    }
    const value = parseValue(flag, raw, command);
    if (flag.repeatable) {
      const prev = (flags[flag.name] as (string | number)[] | undefined) ?? [];
      flags[flag.name] = [...prev, value] as string[] | number[];
    } else if (flags[flag.name] !== undefined) {
      throw new UsageError('VITC0904', `--${flag.name} given more than once`, command);
    } else {
      flags[flag.name] = value;
    }
  }

  // `--help` wins over positional checks so `vitc explain --help` works without a FILE.
  if (flags.help) return { positionals, flags };
  if (positionals.length < positional.min) {
    throw new UsageError('VITC0902', `'${command}' needs ${positional.name}`, command);
  }
  if (positionals.length > positional.max) {
    const extra = positionals.slice(positional.max).join(' ');
    // No catalogue code for "too many arguments" yet; VITC0902 is the nearest (argument count).
    throw new UsageError(
      'VITC0902',
      `unexpected argument${positionals.length - positional.max > 1 ? 's' : ''} '${extra}'`,
      command,
    );
  }
  return { positionals, flags };
}

/** One line per flag for a command's help: `  --model NAME   which model of the file …`. */
export function describeFlags(flagSpecs: readonly FlagSpec[]): string {
  const rows = [...flagSpecs, HELP_FLAG].map((f) => {
    const names =
      (f.short ? `-${f.short}, ` : '    ') + `--${f.name}` + (f.value ? ` ${f.value}` : '');
    return [names, f.description] as const;
  });
  const width = Math.max(...rows.map(([n]) => n.length));
  return rows.map(([n, d]) => `  ${n.padEnd(width)}   ${d}`).join('\n');
}
