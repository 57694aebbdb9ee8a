// Ctrl-C on a real `vitc train` process: the current step finishes, last.safetensors is saved
// (mid-epoch, loadable, at the step the message names), the process exits 130 by itself.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../../runtime/train/checkpoint.js';
import { TINY_SPEC, syntheticData, tinySpec } from './helpers.js';

const data = syntheticData(800, 8, 5); // 100 steps per epoch: far more than run before the signal
const out = `${data.dir}-run`;
afterAll(() => [data.dir, out].forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('vitc train and SIGINT', () => {
  it('saves a checkpoint and exits 130', async () => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'compiler/cli.ts',
        'train',
        TINY_SPEC,
        '--data',
        data.source,
        '--out',
        out,
      ],
      {
        cwd: process.cwd(),
        env: { ...process.env, NO_COLOR: '1' },
      },
    );
    let stderr = '';
    let sent = false;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      // The first progress line comes after the first step was read back: the loop is running.
      if (!sent && /step +\d+\/200/.test(stderr)) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
    expect(sent).toBe(true);
    expect(stderr).toMatch(/interrupted: finishing the current step/);
    expect(code).toBe(130);
    const m = /stopped at step (\d+)\/200; checkpoint saved to (.*last\.safetensors)/.exec(stderr);
    expect(m).not.toBeNull();
    expect(m![2]).toBe(join(out, 'last.safetensors'));
    const ck = await loadCheckpoint(m![2], tinySpec());
    expect(ck.meta.step).toBe(Number(m![1]));
    expect(ck.meta.step).toBeGreaterThan(0);
    expect(ck.meta.step).toBeLessThan(100);
    expect(ck.meta.loader.position).toBe(ck.meta.step);
    expect(stderr).not.toMatch(/\n\s+at /);
  });
});
