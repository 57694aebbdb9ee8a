// Resuming is exact: a run stopped mid-epoch and again right after an epoch's last step (before
// its evaluation), then resumed each time, produces the same per-step losses bit for bit, the
// same final parameters and optimizer state, and the same test accuracies as a run never stopped.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../../runtime/train/checkpoint.js';
import { trainModel, type TrainRunOptions } from '../../runtime/train/loop.js';
import type { MetricsRecord } from '../../runtime/train/metrics.js';
import { TINY_SPEC, syntheticData, tinySpec } from './helpers.js';

const data = syntheticData(68, 16, 7); // 68 images, batch 8: 8 steps per epoch, 4 images dropped
const dirs: string[] = [data.dir];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function run(out: string, extra: Partial<TrainRunOptions> = {}) {
  dirs.push(out);
  const losses: number[] = [];
  const r = await trainModel({
    spec: tinySpec(),
    specFile: TINY_SPEC,
    data: data.source,
    out,
    logEvery: 3,
    log: () => {},
    print: () => {},
    onStep: (s) => losses.push(s.loss),
    ...extra,
  });
  return { r, losses };
}

/** A run that aborts itself right after step `stopAfter` (0-based) has been read back. */
async function runUntil(out: string, stopAfter: number, resume?: string) {
  const ac = new AbortController();
  let seen = -1;
  const losses: number[] = [];
  const res = await run(out, {
    resume,
    signal: ac.signal,
    inFlight: 0,
    onStep: (s) => {
      losses.push(s.loss);
      seen = s.step;
      if (seen === stopAfter) ac.abort();
    },
  });
  return { ...res, losses };
}

const metrics = (dir: string) =>
  readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as MetricsRecord);

describe('resume', () => {
  it('stop + resume twice equals one uninterrupted run, bit for bit', async () => {
    const base = `${data.dir}-a`;
    const split = `${data.dir}-b`;
    const full = await run(base);
    expect(full.r.status).toBe('done');
    expect(full.r.step).toBe(16);
    expect(full.losses.length).toBe(16);

    const first = await runUntil(split, 4); // mid-epoch 1
    expect(first.r.status).toBe('interrupted');
    expect(first.r.step).toBe(5);
    const second = await runUntil(split, 7, split); // last step of epoch 1, before its evaluation
    expect(second.r.status).toBe('interrupted');
    expect(second.r.step).toBe(8);
    const third = await run(split, { resume: split });
    expect(third.r.status).toBe('done');

    const resumed = [...first.losses, ...second.losses, ...third.losses];
    expect(resumed).toEqual(full.losses); // toEqual on numbers is exact (Object.is semantics)

    const spec = tinySpec();
    const a = await loadCheckpoint(join(base, 'last.safetensors'), spec);
    const b = await loadCheckpoint(join(split, 'last.safetensors'), spec);
    expect(b.meta.step).toBe(16);
    for (const [name, v] of a.params)
      expect(
        Buffer.from(
          b.params.get(name)!.buffer,
          b.params.get(name)!.byteOffset,
          v.byteLength,
        ).equals(Buffer.from(v.buffer, v.byteOffset, v.byteLength)),
        name,
      ).toBe(true);
    for (const [name, v] of a.optim)
      expect(Array.from(b.optim.get(name)!), name).toEqual(Array.from(v));

    // The metrics read as one run: same records (timings aside), epoch 1 evaluated after the resume.
    const strip = (r: MetricsRecord) => ({ ...r, images_per_s: 0, elapsed: 0 });
    expect(metrics(split).map(strip)).toEqual(metrics(base).map(strip));
    const epochs = metrics(base).filter((r) => r.kind === 'epoch');
    expect(epochs.map((r) => r.step)).toEqual([8, 16]);
    expect(epochs.every((r) => r.test_acc! >= 0 && r.test_acc! <= 1)).toBe(true);
    expect(
      metrics(base)
        .filter((r) => r.kind === 'step')
        .map((r) => r.step),
    ).toEqual([3, 6, 9, 12, 15]);
    expect(a.meta.best).toEqual(b.meta.best);
  });
});
