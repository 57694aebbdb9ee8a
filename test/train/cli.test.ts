// `vitc train` and `vitc eval` end to end, in-process: a short run writes its checkpoints,
// metrics and curves; `vitc eval` prints the accuracy a float64 CPU recomputation gives;
// `vitc run` reads the best checkpoint; bad data, flags and checkpoints are named errors.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { interpret } from '../../compiler/ir/interp.js';
import { lowerVit } from '../../compiler/lower/vit.js';
import { main } from '../../compiler/cli.js';
import { bufferIO } from '../../compiler/cli/io.js';
import { BatchLoader, openDataset } from '../../runtime/data/index.js';
import { decodeImage } from '../../runtime/image/index.js';
import { loadWeights } from '../../runtime/weights.js';
import { OPTIM_TENSORS } from '../../runtime/train/checkpoint.js';
import { TINY_SPEC, syntheticData, tinySpec } from './helpers.js';

const data = syntheticData(40, 12, 11);
const out = `${data.dir}-run`;
afterAll(() => [data.dir, out].forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('vitc train / eval', () => {
  it('trains, writes checkpoints, metrics and curves, and eval matches the CPU', async () => {
    const io = bufferIO();
    const code = await main(
      [
        'train',
        TINY_SPEC,
        '--data',
        data.source,
        '--out',
        out,
        '--epochs',
        '2',
        '--batch',
        '8',
        '--limit',
        '32',
        '--log-every',
        '2',
        '--lr',
        '5e-3',
      ],
      io,
    );
    expect(io.stderr()).not.toMatch(/\n\s+at /);
    expect(code).toBe(0);
    expect(io.stdout()).toMatch(
      /^epoch 1\/2 {2}train loss \d\.\d{4} acc [\d.]+% {2}test loss \d\.\d{4} acc [\d.]+% \(best\)/m,
    );
    expect(io.stdout()).toMatch(/^epoch 2\/2 /m);
    expect(io.stderr()).toMatch(/32 images, 4 steps of 8 per epoch/);
    expect(io.stderr()).toMatch(
      /epoch 2\/2 {2}step 8\/8 \[#{20}\] {2}loss \d\.\d{4} {2}[\d.]+ img\/s {2}ETA/,
    );
    expect(io.stderr()).toMatch(/vitc: done: 8 steps, 2 epochs/);
    for (const f of ['last.safetensors', 'best.safetensors', 'metrics.jsonl', 'curves.png'])
      expect(existsSync(join(out, f)), f).toBe(true);

    const recs = readFileSync(join(out, 'metrics.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(recs.map((r) => `${r.kind}@${r.step}`)).toEqual([
      'step@2',
      'step@4',
      'epoch@4',
      'step@6',
      'step@8',
      'epoch@8',
    ]);
    for (const r of recs) {
      expect(r.loss).toBeGreaterThan(0);
      expect(r.lr).toBeGreaterThan(0);
      expect(r.images_per_s).toBeGreaterThan(0);
    }
    const png = decodeImage(readFileSync(join(out, 'curves.png')));
    expect([png.width, png.height]).toEqual([640, 300]);

    // eval: the GPU's accuracy equals argmax of the float64 interpreter's logits on the same inputs.
    const best = join(out, 'best.safetensors');
    const ev = bufferIO();
    expect(
      await main(
        ['eval', TINY_SPEC, '--weights', best, '--data', data.source, '--batch', '5', '--json'],
        ev,
      ),
    ).toBe(0);
    const res = JSON.parse(ev.stdout());
    const spec = tinySpec();
    const params = await loadWeights(spec, best, { ignore: OPTIM_TENSORS, onNotice: () => {} });
    const ds = await openDataset(data.source, 'test');
    const b = new BatchLoader(ds, { batch: ds.size, spec }).batchAt(0);
    const logits = interpret(
      lowerVit(spec, { batch: ds.size, mode: 'eval' }),
      new Map([['image', b.images]]),
      params,
    ).get('logits')!;
    let correct = 0;
    const confusion = Array.from({ length: 10 }, () => new Array<number>(10).fill(0));
    for (let i = 0; i < ds.size; i++) {
      const row = Array.from(logits.subarray(i * 10, i * 10 + 10));
      const pred = row.indexOf(Math.max(...row));
      confusion[b.labels[i]][pred]++;
      if (pred === b.labels[i]) correct++;
    }
    expect(res.samples).toBe(12);
    expect(res.accuracy).toBe(correct / 12);
    expect(res.confusion).toEqual(confusion);
    expect(res.perClass.map((c: { name: string }) => c.name)).toEqual([
      'T-shirt/top',
      'Trouser',
      'Pullover',
      'Dress',
      'Coat',
      'Sandal',
      'Shirt',
      'Sneaker',
      'Bag',
      'Ankle boot',
    ]);
    // The epoch record's test accuracy for the best epoch is the same number.
    expect(Math.max(...recs.filter((r) => r.kind === 'epoch').map((r) => r.test_acc))).toBe(
      res.accuracy,
    );

    const text = bufferIO();
    expect(await main(['eval', TINY_SPEC, '--weights', best, '--data', data.source], text)).toBe(0);
    expect(text.stdout()).toContain(
      `accuracy ${((correct / 12) * 100).toFixed(2)}% (${correct}/12)`,
    );
    expect(text.stdout()).toMatch(/confusion matrix/);
    expect(text.stdout()).toMatch(/^Ankle boot +\s+\d/m);

    // vitc run reads a checkpoint as weights (its optim.* tensors are skipped).
    const input = join(out, 'x.safetensors');
    const { writeSafetensors } = await import('../../runtime/safetensors.js');
    await writeSafetensors(input, [
      { name: 'image', dtype: 'F32', shape: [1, 1, 8, 8], data: b.images.slice(0, 64) },
    ]);
    const run = bufferIO();
    expect(await main(['run', TINY_SPEC, '--weights', best, '--input', input, '--json'], run)).toBe(
      0,
    );
    const got = JSON.parse(run.stdout()).results[0].logits as number[];
    got.forEach((v, k) => expect(Math.abs(v - logits[k])).toBeLessThan(1e-4));
  });

  it('a missing data folder is a named DataError, exit 1, no stack trace', async () => {
    const io = bufferIO();
    const code = await main(
      ['train', TINY_SPEC, '--data', 'folder:/nonexistent/imgs', '--out', `${out}-x`],
      io,
    );
    expect(code).toBe(1);
    expect(io.stderr()).toMatch(/\/nonexistent\/imgs.*error VITC0512/);
    expect(io.stderr()).not.toMatch(/\n\s+at /);
    expect(existsSync(`${out}-x`)).toBe(false);
  });

  it('bad flags are usage errors (exit 2)', async () => {
    for (const [args, msg] of [
      [
        ['--data', data.source, '--out', out, '--epochs', '0'],
        /--epochs must be a positive integer, got '0'/,
      ],
      [
        ['--data', data.source, '--out', out, '--smoothing', '1'],
        /--smoothing must be a number in \[0, 1\)/,
      ],
      [
        ['--data', data.source, '--out', out, '--clip', 'x'],
        /--clip must be a positive number or 'none'/,
      ],
      [
        ['--data', data.source, '--out', out, '--val', '1'],
        /--val must be a fraction in \(0, 1\), got '1'/,
      ],
      [['--out', out], /give --data SOURCE/],
      [['--data', data.source], /give --out DIR/],
    ] as const) {
      const io = bufferIO();
      expect(await main(['train', TINY_SPEC, ...args], io)).toBe(2);
      expect(io.stderr()).toMatch(msg);
    }
  });

  it('a corrupt checkpoint given to --resume names the file (exit 1)', async () => {
    const dir = `${data.dir}-bad`;
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'last.safetensors'), 'not a safetensors file at all');
    const io = bufferIO();
    const code = await main(['train', TINY_SPEC, '--data', data.source, '--resume', dir], io);
    rmSync(dir, { recursive: true, force: true });
    expect(code).toBe(1);
    expect(io.stderr()).toMatch(/last\.safetensors: error VITC04\d\d/);
    expect(io.stderr()).not.toMatch(/\n\s+at /);
  });

  it('--val holds out part of the training set, chooses the best checkpoint on it and keeps it on resume', async () => {
    const dir = `${data.dir}-val`;
    const run = (extra: string[]) => {
      const io = bufferIO();
      return main(['train', TINY_SPEC, '--data', data.source, ...extra], io).then((code) => ({
        code,
        io,
      }));
    };
    const common = ['--batch', '8', '--limit', '40', '--lr', '5e-3'];
    const first = await run(['--out', dir, '--epochs', '1', '--val', '0.2', ...common]);
    expect(first.io.stderr()).not.toMatch(/\n\s+at /);
    expect(first.code).toBe(0);
    // 40 images, a fifth of each class held out (rounded per class).
    const split = /\((\d+) images, (\d+) held out for validation, /.exec(first.io.stderr());
    expect(split).not.toBeNull();
    const [nTrain, nVal] = [Number(split![1]), Number(split![2])];
    expect(nTrain + nVal).toBe(40);
    expect(nVal).toBeGreaterThanOrEqual(6);
    expect(nVal).toBeLessThanOrEqual(10);
    expect(first.io.stdout()).toMatch(
      /^epoch 1\/1 {2}train loss [\d.]+ acc [\d.]+% {2}val loss [\d.]+ acc [\d.]+% {2}test loss [\d.]+ acc [\d.]+% \(best\)/m,
    );
    expect(first.io.stderr()).toMatch(/best val accuracy [\d.]+% in /);
    const epochs = () =>
      readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .filter((r) => r.kind === 'epoch');
    const [e1] = epochs();
    expect(e1.val_acc).toBeGreaterThanOrEqual(0);
    expect(e1.val_acc).toBeLessThanOrEqual(1);
    expect(e1.val_loss).toBeGreaterThan(0);

    // Another fraction on resume would change the training images: refused, nothing written.
    const bad = await run(['--resume', dir, '--epochs', '2', '--val', '0.5']);
    expect(bad.code).toBe(1);
    expect(bad.io.stderr()).toMatch(/last\.safetensors: error VITC0525: the run held out 0\.2/);
    expect(epochs().length).toBe(1);
    // Without --val the checkpoint's split is kept.
    const resumed = await run(['--resume', dir, '--epochs', '2']);
    expect(resumed.code).toBe(0);
    expect(resumed.io.stderr()).toContain(`(${nTrain} images, ${nVal} held out for validation, `);
    expect(epochs().map((r) => r.val_acc !== undefined)).toEqual([true, true]);
    rmSync(dir, { recursive: true, force: true });
  });
});
