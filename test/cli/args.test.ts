// The hand-written argument parser and its "did you mean" suggestions.
import { describe, expect, it } from 'vitest';
import { type FlagSpec, parseArgs, UsageError } from '../../compiler/cli/args.js';
import { closest, editDistance } from '../../compiler/cli/suggest.js';

const flags: FlagSpec[] = [
  { name: 'model', kind: 'string', short: 'm', value: 'NAME', description: 'model' },
  { name: 'json', kind: 'boolean', description: 'json' },
  { name: 'batch', kind: 'number', value: 'N', description: 'batch' },
  { name: 'dump', kind: 'string', value: 'WHAT', description: 'dump', repeatable: true },
];
const one = { name: 'FILE', min: 1, max: 1 };

function usageError(f: () => unknown): UsageError {
  try {
    f();
  } catch (e) {
    if (e instanceof UsageError) return e;
    throw e;
  }
  throw new Error('expected a UsageError');
}

describe('parseArgs', () => {
  it('reads long, short, inline and numeric flags around positionals', () => {
    const a = parseArgs('x', ['-m', 'vit', 'f.vit', '--json', '--batch=64'], flags, one);
    expect(a.positionals).toEqual(['f.vit']);
    expect(a.flags).toEqual({ model: 'vit', json: true, batch: 64 });
  });

  it('collects repeatable flags and stops at --', () => {
    const a = parseArgs('x', ['--dump', 'graph', '--dump=wgsl', '--', '--json'], flags, one);
    expect(a.flags.dump).toEqual(['graph', 'wgsl']);
    expect(a.flags.json).toBeUndefined();
    expect(a.positionals).toEqual(['--json']);
  });

  it('rejects unknown flags with a suggestion and the VITC0903 code', () => {
    const e = usageError(() => parseArgs('explain', ['f.vit', '--modle', 'a'], flags, one));
    expect(e.code).toBe('VITC0903');
    expect(e.message).toBe("unknown option '--modle' for 'explain'");
    expect(e.hint).toBe("did you mean '--model'?");
    expect(e.command).toBe('explain');
  });

  it('rejects a missing value, a non-number, a repeat and a value on a boolean', () => {
    expect(usageError(() => parseArgs('x', ['f', '--model'], flags, one)).code).toBe('VITC0902');
    expect(usageError(() => parseArgs('x', ['f', '--batch', 'big'], flags, one)).message).toMatch(
      /--batch expects a number, got 'big'/,
    );
    expect(
      usageError(() => parseArgs('x', ['f', '-m', 'a', '-m', 'b'], flags, one)).message,
    ).toMatch(/given more than once/);
    expect(usageError(() => parseArgs('x', ['f', '--json=yes'], flags, one)).code).toBe('VITC0904');
  });

  it('checks the positional count, except with --help', () => {
    expect(usageError(() => parseArgs('explain', [], flags, one)).message).toBe(
      "'explain' needs FILE",
    );
    expect(usageError(() => parseArgs('explain', ['a', 'b'], flags, one)).message).toMatch(
      /unexpected argument 'b'/,
    );
    expect(parseArgs('explain', ['--help'], flags, one).flags.help).toBe(true);
  });
});

describe('suggestions', () => {
  it('edit distance', () => {
    expect(editDistance('explian', 'explain')).toBe(2);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('check', 'check')).toBe(0);
  });

  it('suggests only plausible typos', () => {
    expect(closest('chek', ['check', 'explain'])).toBe('check');
    expect(closest('expl', ['check', 'explain'])).toBe('explain');
    expect(closest('frobnicate', ['check', 'explain'])).toBeUndefined();
  });
});
