// Checkpoints: the round trip is exact; a write that fails after its temp file exists, or a
// process killed at that moment, leaves the previous checkpoint intact and loadable; a corrupt
// or foreign file is a WeightsError naming it; plain weight loaders skip the optimizer state.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { modelParams } from '../../compiler/spec/params.js';
import { initParams } from '../../runtime/init.js';
import { WeightsError, loadWeights } from '../../runtime/weights.js';
import {
  type Checkpoint,
  OPTIM_TENSORS,
  loadCheckpoint,
  saveCheckpoint,
  zeroOptimizerState,
} from '../../runtime/train/checkpoint.js';
import { tinySpec } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'vitc-ckpt-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function checkpoint(seed: number, step: number): Checkpoint {
  const spec = tinySpec();
  const optim = zeroOptimizerState(spec, spec.train.optimizer);
  for (const [k, v] of optim) v.fill(k.length * 1e-3 + seed);
  return {
    params: initParams(spec, seed),
    optim,
    meta: {
      spec: spec.name,
      version: 'test',
      step,
      epoch: 1,
      loader: {
        version: 1,
        seed: 3,
        epoch: 1,
        position: 2,
        size: 64,
        batch: 8,
        shuffle: true,
        dropLast: true,
        augment: { flip: true, cropPadding: 1 },
      },
      train: spec.train,
      initSeed: seed,
      rng: { scheme: 'x', seed: 3 },
      data: { source: 'fashion-mnist', limit: 64, testLimit: null },
      best: { accuracy: 0.5, step: 8 },
      elapsed: 12.5,
      sums: {
        epoch: { loss: 1, correct: 2, samples: 3, steps: 4 },
        window: { loss: 0, correct: 0, samples: 0, steps: 0 },
      },
    },
  };
}

describe('checkpoints', () => {
  const spec = tinySpec();
  const path = join(dir, 'last.safetensors');

  it('round-trips weights, optimizer state and metadata exactly', async () => {
    const ck = checkpoint(1, 10);
    await saveCheckpoint(path, spec, ck);
    const back = await loadCheckpoint(path, spec);
    expect(back.meta).toEqual(ck.meta);
    for (const p of modelParams(spec)) {
      expect(Array.from(back.params.get(p.name)!)).toEqual(Array.from(ck.params.get(p.name)!));
      expect(Array.from(back.optim.get(`exp_avg_sq.${p.name}`)!)).toEqual(
        Array.from(ck.optim.get(`exp_avg_sq.${p.name}`)!),
      );
    }
    // A plain weights reader sees timm names; the optimizer state is skipped only when asked.
    const w = await loadWeights(spec, path, { ignore: OPTIM_TENSORS, onNotice: () => {} });
    expect(Array.from(w.get('head.weight')!)).toEqual(Array.from(ck.params.get('head.weight')!));
    await expect(loadWeights(spec, path, { onNotice: () => {} })).rejects.toThrow(
      /unexpected optim\.exp_avg\./,
    );
  });

  it('a write failing after the temp file exists keeps the previous checkpoint', async () => {
    await saveCheckpoint(path, spec, checkpoint(1, 10));
    let tmpSeen = '';
    const err = await saveCheckpoint(path, spec, checkpoint(2, 20), {
      beforeRename: (tmp) => {
        tmpSeen = tmp;
        expect(readFileSync(tmp).length).toBeGreaterThan(1000); // the new bytes are all there
        throw new Error('disk on fire');
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WeightsError);
    expect((err as WeightsError).message).toMatch(
      /last\.safetensors: error VITC0412: cannot write the checkpoint: disk on fire/,
    );
    expect(existsSync(tmpSeen)).toBe(false);
    const back = await loadCheckpoint(path, spec);
    expect(back.meta.step).toBe(10);
    expect(Array.from(back.params.get('pos_embed')!)).toEqual(
      Array.from(initParams(spec, 1).get('pos_embed')!),
    );
  });

  it('a process killed between writing and renaming leaves the previous checkpoint loadable', async () => {
    await saveCheckpoint(path, spec, checkpoint(1, 10));
    const before = readFileSync(path);
    // The child writes step 20 and SIGKILLs itself once the temp file is complete.
    const script = join(dir, 'child.mts');
    const url = (p: string) => new URL(`file://${resolve(p)}`).href;
    writeFileSync(
      script,
      `import { saveCheckpoint } from '${url('runtime/train/checkpoint.ts')}';\n` +
        `import { initParams } from '${url('runtime/init.ts')}';\n` +
        `import { zeroOptimizerState } from '${url('runtime/train/checkpoint.ts')}';\n` +
        `import { tinySpec } from '${url('test/train/helpers.ts')}';\n` +
        `const spec = tinySpec();\n` +
        `const meta = JSON.parse(process.argv[2]);\n` +
        `await saveCheckpoint(${JSON.stringify(path)}, spec, { params: initParams(spec, 2), optim: zeroOptimizerState(spec, spec.train.optimizer), meta },\n` +
        `  { beforeRename: () => { process.kill(process.pid, 'SIGKILL'); } });\n`,
    );
    const meta = { ...checkpoint(2, 20).meta };
    const r = spawnSync(process.execPath, ['--import', 'tsx', script, JSON.stringify(meta)], {
      cwd: process.cwd(),
      encoding: 'utf8',
    });
    expect(r.signal).toBe('SIGKILL');
    // The killed writer's temp file is left behind (nothing could remove it); the checkpoint is not touched.
    expect(readdirSync(dir).some((f) => f.startsWith('last.safetensors.tmp-'))).toBe(true);
    expect(readFileSync(path).equals(before)).toBe(true);
    expect((await loadCheckpoint(path, spec)).meta.step).toBe(10);
  });

  it('names the file when a checkpoint is corrupt, foreign or of another model', async () => {
    const bad = join(dir, 'truncated.safetensors');
    writeFileSync(bad, readFileSync(path).subarray(0, 100));
    await expect(loadCheckpoint(bad, spec)).rejects.toThrow(/truncated\.safetensors: error VITC04/);
    const plain = join(dir, 'plain.safetensors');
    const { saveWeights } = await import('../../runtime/weights.js');
    await saveWeights(plain, initParams(spec, 0), spec);
    await expect(loadCheckpoint(plain, spec)).rejects.toThrow(
      /plain\.safetensors: error VITC0414: not a vitc training checkpoint/,
    );
    const other = { ...spec, name: 'other' };
    await expect(loadCheckpoint(path, other)).rejects.toThrow(
      /checkpoint is of model "train_tiny", not "other"/,
    );
  });
});
