// Turns a `vitc train` run into the committed demo model:
//   npx tsx tools/release-model.ts runs/fmnist-tiny [--checkpoint best] [--out models/fmnist-tiny]
//     [--log runs/fmnist-tiny.log] [--command 'vitc train …']…  (one --command per session)
// writes OUT.safetensors (the weights only, float32, timm names; the optimizer state of the
// checkpoint is left out, a third of the size) and OUT.json (provenance: the spec, the exact
// command, the adapter, the time, the per-epoch accuracies from DIR/metrics.jsonl). Both atomically.
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  readSafetensors,
  tensorData,
  writeFileAtomic,
  writeSafetensors,
  type TensorToWrite,
} from '../runtime/safetensors.js';
import { OPTIM_PREFIX } from '../runtime/train/checkpoint.js';

const args = process.argv.slice(2);
const flag = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const dir = args[0];
if (!dir || dir.startsWith('--')) {
  console.error(
    'usage: tsx tools/release-model.ts RUN_DIR [--checkpoint best|last] [--out models/NAME]',
  );
  process.exit(2);
}
const which = flag('--checkpoint', 'best');
const out = flag('--out', 'models/fmnist-tiny');
const ckPath = join(dir, `${which}.safetensors`);

process.on('uncaughtException', (e) => {
  // A tool for people: the message, not a stack trace.
  console.error(`release-model: error: ${(e as Error).message}`);
  process.exit(1);
});
const ck = await readSafetensors(ckPath);
const tensors: TensorToWrite[] = [];
for (const [name, info] of ck.tensors) {
  if (name.startsWith(OPTIM_PREFIX)) continue;
  if (info.dtype !== 'F32')
    throw new Error(`${ckPath}: tensor ${name} is ${info.dtype}, expected F32`);
  tensors.push({
    name,
    dtype: 'F32',
    shape: info.shape,
    data: tensorData(ck, name) as Float32Array,
  });
}
const meta = ck.metadata;
// Checkpoint metadata (runtime/train/checkpoint.ts): `vitc.*` keys, JSON where not a string.
const parse = (k: string): unknown =>
  meta[`vitc.${k}`] === undefined ? undefined : JSON.parse(meta[`vitc.${k}`]);

interface Epoch {
  kind: string;
  epoch: number;
  step: number;
  loss: number;
  train_acc: number;
  test_acc: number;
  test_loss: number;
  images_per_s: number;
  elapsed: number;
}
const records = readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l.trim())
  .map((l) => JSON.parse(l) as Epoch & Record<string, unknown>);
const epochs = records.filter((r) => r.kind === 'epoch');
// The training command's console log (optional): the adapter line and the wall time.
const logFile = flag('--log', '');
const log = logFile ? readFileSync(logFile, 'utf8') : '';
const adapter = /device: ([^\n]+)/.exec(log)?.[1] ?? null;
// A run resumed N times has N + 1 sessions: their wall times add up (logs concatenated).
const walls = [...log.matchAll(/exit 0 after (\d+) s/g)].map((m) => Number(m[1]));
// --command may be given once per session (the first run, then each --resume).
const commands = args.flatMap((a, i) => (a === '--command' ? [args[i + 1]] : []));
const best = parse('best') as { accuracy: number; step: number } | undefined;
const params = tensors.reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0);

await writeSafetensors(`${out}.safetensors`, tensors, {
  format: 'pt',
  trained_by: 'vitc train',
  spec: meta['vitc.spec'] ?? '',
  step: meta['vitc.step'] ?? '',
  test_accuracy: best ? String(best.accuracy) : '',
});
const provenance = {
  model: `${out}.safetensors`,
  spec: 'specs/fmnist-tiny.vit',
  trained_by: 'vitc train (WebGPU)',
  checkpoint: `${basename(dir)}/${which}.safetensors`,
  params,
  step: Number(meta['vitc.step']),
  epoch: Number(meta['vitc.epoch']),
  version: meta['vitc.version'] ?? null,
  train: parse('train'),
  data: parse('data'),
  test_accuracy: best?.accuracy ?? null,
  best_step: best?.step ?? null,
  train_seconds: Number(parse('elapsed')),
  commands,
  adapter,
  wall_seconds: walls.length ? walls.reduce((a, b) => a + b, 0) : null,
  history: epochs.map((e) => ({
    epoch: e.epoch + 1,
    step: e.step,
    train_loss: e.loss,
    train_accuracy: e.train_acc,
    test_loss: e.test_loss,
    test_accuracy: e.test_acc,
    images_per_s: e.images_per_s,
    elapsed_s: e.elapsed,
  })),
};
await writeFileAtomic(
  `${out}.json`,
  new TextEncoder().encode(JSON.stringify(provenance, null, 2) + '\n'),
);
console.log(
  `wrote ${out}.safetensors (${tensors.length} tensors, ${params} parameters) and ${out}.json; ` +
    `test accuracy ${best ? (100 * best.accuracy).toFixed(2) + '%' : 'unknown'} at step ${best?.step ?? '?'}`,
);
