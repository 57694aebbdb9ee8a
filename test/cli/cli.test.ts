// `vitc check` / `vitc explain` / help, run in-process through main() with captured output.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { bufferIO, main } from '../../compiler/cli.js';

async function run(...argv: string[]) {
  const io = bufferIO();
  const code = await main(argv, io);
  return { code, stdout: io.stdout(), stderr: io.stderr() };
}

const tmp = mkdtempSync(join(tmpdir(), 'vitc-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A copy of specs/vit-base.vit with one line edited, in a temp folder. */
function editedVitBase(name: string, edit: (text: string) => string): string {
  const path = join(tmp, name);
  writeFileSync(path, edit(readFileSync('specs/vit-base.vit', 'utf8')));
  return path;
}

describe('vitc explain', () => {
  it('prints the exact parameter count, compute and memory for ViT-B/16', async () => {
    const r = await run('explain', 'specs/vit-base.vit');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('vit_base_patch16_224');
    expect(r.stdout).toMatch(/Parameters {2}86,567,656/);
    expect(r.stdout).toContain('17.564 GMACs');
    expect(r.stdout).toContain('35.128 GFLOPs');
    expect(r.stdout).toMatch(/tokens\s+cls \+ 196 patches = 197/);
    expect(r.stdout).toMatch(/patch\s+16 x 16 -> grid 14 x 14/);
    expect(r.stdout).toMatch(/training\s+\d+\.\d MiB/);
    expect(r.stdout).toMatch(/blocks\s+85,054,464/);
  });

  it('--json is one object with the spec, chain and facts', async () => {
    const r = await run('explain', 'specs/deit-small-distilled.vit', '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.model).toBe('deit_small_distilled_patch16_224');
    expect(j.chain).toEqual([
      'deit_small_distilled_patch16_224',
      'deit_small_patch16_224',
      'deit_tiny_patch16_224',
    ]);
    expect(j.spec.tokens).toEqual({ cls: true, distill: true, registers: 0 });
    expect(j.tokens).toEqual({ total: 198, prefix: 2, patches: 196 });
    expect(j.params.total).toBe(22_436_432);
    expect(j.flops).toBe(2 * j.macs);
    expect(j.activationBytes.train).toBeGreaterThan(j.activationBytes.inferencePeak);
  });

  it('--model picks a model that is not the last one', async () => {
    const r = await run(
      'explain',
      'specs/vit-medium.vit',
      '--model',
      'vit_medium_patch16_reg4_gap_256',
      '--json',
    );
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.spec.tokens.registers).toBe(4);
    expect(j.spec.pos.prefix).toBe(false);
    const last = JSON.parse((await run('explain', 'specs/vit-medium.vit', '--json')).stdout);
    expect(last.model).toBe('vit_medium_patch16_gap_256');
  });

  it('an unknown --model is a diagnostic (exit 1)', async () => {
    const r = await run('explain', 'specs/vit-base.vit', '--model', 'vit_bsae');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/error VITC\d{4}/);
  });
});

describe('vitc check', () => {
  it('reports every model of every file', async () => {
    const r = await run('check', 'specs/vit-base.vit', 'specs/vit-medium.vit');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      'ok  specs/vit-base.vit  vit_base_patch16_224\n' +
        'ok  specs/vit-medium.vit  vit_medium_patch16_reg4_gap_256, vit_medium_patch16_gap_256\n',
    );
  });

  it('heads that do not divide width: file:line:col, source line and caret, exit 1', async () => {
    const path = editedVitBase('heads7.vit', (t) => t.replace(/heads\s+12/, 'heads       7'));
    const r = await run('check', path);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const m = r.stderr.match(/^(.*heads7\.vit):(\d+):(\d+): error (VITC\d{4}): (.*)$/m);
    expect(m, r.stderr).not.toBeNull();
    const [, file, line, col] = m!;
    expect(file).toBe(path);
    const sourceLine = readFileSync(path, 'utf8').split('\n')[Number(line) - 1];
    const lines = r.stderr.split('\n');
    const at = lines.findIndex((l) => l === m![0]);
    expect(lines[at + 1]).toBe(`    ${sourceLine}`);
    expect(lines[at + 2]).toMatch(new RegExp(`^ {${3 + Number(col)}}\\^`));
    expect(r.stderr).toMatch(/\b7\b/);
  });

  it('a misspelled keyword gets a did-you-mean', async () => {
    const path = editedVitBase('typo.vit', (t) => t.replace(/^(\s*)heads(\s+12)/m, '$1heds$2'));
    const r = await run('check', path);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/typo\.vit:\d+:\d+: error VITC\d{4}/);
    expect(r.stderr).toMatch(/did you mean .?heads/);
  });

  it('a missing file is a diagnostic naming it, exit 1', async () => {
    const r = await run('check', join(tmp, 'nope.vit'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('nope.vit');
    expect(r.stderr).toMatch(/error VITC\d{4}/);
  });

  it('one bad file fails the run but the good ones are still reported', async () => {
    const bad = editedVitBase('bad.vit', (t) => t.replace(/heads\s+12/, 'heads 7'));
    const r = await run('check', bad, 'specs/vit-tiny.vit');
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('ok  specs/vit-tiny.vit  vit_tiny_patch16_224\n');
  });
});

describe('usage', () => {
  it('unknown command: exit 2 with a suggestion and the usage line', async () => {
    const r = await run('explian', 'specs/vit-base.vit');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain("vitc: error VITC0901: unknown command 'explian'");
    expect(r.stderr).toContain("hint: did you mean 'explain'?");
    expect(r.stderr).toContain('usage: vitc COMMAND');
  });

  it('unknown flag, missing FILE and no arguments are usage errors', async () => {
    const flag = await run('explain', 'specs/vit-base.vit', '--jsno');
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain("did you mean '--json'?");
    expect(flag.stderr).toContain('usage: vitc explain FILE [--model NAME] [--json]');
    const missing = await run('check');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("'check' needs FILE");
    const none = await run();
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('commands:');
  });

  it('--help, help CMD, CMD --help and --version', async () => {
    const help = await run('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^ {2}check\s+parse/m);
    expect(help.stdout).toMatch(/^ {2}explain\s+show/m);
    const cmd = await run('help', 'explain');
    expect(cmd.code).toBe(0);
    expect(cmd.stdout).toContain('usage: vitc explain FILE [--model NAME] [--json]');
    expect(cmd.stdout).toContain('--model NAME');
    expect((await run('check', '--help')).stdout).toContain('usage: vitc check FILE...');
    expect((await run('help', 'chek')).stderr).toContain("did you mean 'check'?");
    const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
    expect((await run('--version')).stdout).toBe(`vitc ${pkg.version}\n`);
  });
});

describe('as a program', () => {
  // One subprocess only (tsx start-up costs seconds): the entry-module check and process.exitCode.
  it('compiler/cli.ts run directly exits with the code of main() and prints no stack trace', async () => {
    const exec = promisify(execFile);
    const argv = ['--import', 'tsx', 'compiler/cli.ts', 'frobnicate'];
    const bad = await exec(process.execPath, argv).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("unknown command 'frobnicate'");
    expect(bad.stderr).not.toMatch(/\bat .*\.ts:\d+/);
  });
});
