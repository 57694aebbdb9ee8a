// `vitc run` end to end, in-process: a fixture's weights and input reproduce PyTorch's logits on
// WebGPU; bad weights give a named error and exit 1; missing inputs are usage errors (exit 2).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { bufferIO } from '../../compiler/cli/io.js';
import { main } from '../../compiler/cli.js';
import { readSafetensors, tensorData } from '../../runtime/safetensors.js';
import { relErr } from '../autodiff/helpers.js';

const fx = 'test/fixtures/pre_gelu_cls';
/** `vitc run` on the fixture's model, weights and input tensor. */
const runFixture = [
  'run',
  `${fx}/model.vit`,
  '--weights',
  `${fx}/weights.safetensors`,
  '--input',
  `${fx}/input.safetensors`,
];

describe('vitc run', () => {
  it('reproduces PyTorch logits from a fixture', async () => {
    const io = bufferIO();
    const code = await main([...runFixture, '--json'], io);
    expect(io.stderr()).not.toMatch(/WARNING/);
    expect(code).toBe(0);
    const out = JSON.parse(io.stdout()) as {
      results: { logits: number[]; top: { index: number; prob: number }[] }[];
    };
    const ref = tensorData(
      await readSafetensors(`${fx}/expected.safetensors`),
      'logits',
    ) as Float64Array;
    const got = out.results.flatMap((r) => r.logits);
    expect(got.length).toBe(ref.length);
    let num = 0;
    let den = 0;
    got.forEach((v, i) => {
      num += (v - ref[i]) ** 2;
      den += ref[i] ** 2;
    });
    expect(Math.sqrt(num / den)).toBeLessThan(1e-5);
    const probs = out.results[0].top.map((t) => t.prob);
    expect(probs[0]).toBeGreaterThanOrEqual(probs[1]);
  });

  it('names every mismatched tensor when the weights belong to another model', async () => {
    const io = bufferIO();
    const code = await main(
      [
        'run',
        'specs/vit-tiny.vit',
        '--weights',
        `${fx}/weights.safetensors`,
        '--input',
        `${fx}/input.safetensors`,
      ],
      io,
    );
    expect(code).toBe(1);
    expect(io.stderr()).toMatch(/VITC0414/);
    expect(io.stderr()).toMatch(/pos_embed: expected \[1, 197, 192\], found \[1, 17, 24\]/);
    expect(io.stderr()).not.toMatch(/\n\s+at /);
  });

  // Subprocesses, to choose the adapter: lavapipe has shader-f16, SwiftShader does not.
  const vitc = (adapter: string, ...args: string[]) =>
    promisify(execFile)(process.execPath, ['--import', 'tsx', 'compiler/cli.ts', ...args], {
      env: { ...process.env, VITC_ADAPTER: adapter },
    }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
  const f16Args = [...runFixture, '--precision', 'f16'];

  it('--precision f16 on lavapipe stays within f16 rounding of PyTorch', async () => {
    const r = await vitc('lavapipe', ...f16Args, '--json');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { results: { logits: number[] }[] };
    const ref = tensorData(
      await readSafetensors(`${fx}/expected.safetensors`),
      'logits',
    ) as Float64Array;
    const err = relErr(
      out.results.flatMap((x) => x.logits),
      ref,
    );
    expect(err).toBeLessThan(5e-3);
    expect(err).toBeGreaterThan(5e-5); // f16 rounding shows
  });

  it('--precision f16 on an adapter without shader-f16 is a clear error, exit 1', async () => {
    const r = await vitc('swiftshader', ...f16Args);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /needs the WebGPU feature 'shader-f16'; SwiftShader.*VITC_ADAPTER=lavapipe/,
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('--tune autotunes on this adapter, keeps the logits and writes the cache', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vitc-run-tune-'));
    const saved = process.env.VITC_TUNE_CACHE;
    process.env.VITC_TUNE_CACHE = join(dir, 'autotune.json');
    try {
      const io = bufferIO();
      const code = await main([...runFixture, '--tune', '--json'], io);
      expect(code).toBe(0);
      const out = JSON.parse(io.stdout()) as { results: { logits: number[] }[] };
      const ref = tensorData(
        await readSafetensors(`${fx}/expected.safetensors`),
        'logits',
      ) as Float64Array;
      expect(
        relErr(
          out.results.flatMap((x) => x.logits),
          ref,
        ),
      ).toBeLessThan(1e-5);
      const cache = readFileSync(join(dir, 'autotune.json'), 'utf8');
      expect(cache).toMatch(/flash_attention_/);
      expect(cache).toMatch(/matmul_/);
    } finally {
      if (saved === undefined) delete process.env.VITC_TUNE_CACHE;
      else process.env.VITC_TUNE_CACHE = saved;
    }
  });

  it('warns loudly without weights', async () => {
    const io = bufferIO();
    const code = await main(['run', `${fx}/model.vit`, '--input', `${fx}/input.safetensors`], io);
    expect(code).toBe(0);
    expect(io.stderr()).toMatch(/WARNING: no --weights/);
  });

  it('is a usage error without inputs', async () => {
    const io = bufferIO();
    expect(await main(['run', `${fx}/model.vit`], io)).toBe(2);
  });
});
