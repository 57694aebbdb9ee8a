/**
 * The CIFAR "binary version" (https://www.cs.toronto.edu/~kriz/cifar.html). CIFAR-10: each
 * record is 1 label byte then 3072 pixel bytes (1024 red, 1024 green, 1024 blue, rows of 32);
 * train = data_batch_1..5.bin, test = test_batch.bin, class names one per line in
 * batches.meta.txt. CIFAR-100: 2 label bytes (coarse, fine) per record, train.bin / test.bin,
 * fine names in fine_label_names.txt; vitc trains on the fine labels.
 */
import { DataError } from './errors.js';
import { pathKind, readBytes } from './io.js';
import { MemoryDataset, checkLabels } from './memory.js';

export const CIFAR10_CLASSES = [
  'airplane',
  'automobile',
  'bird',
  'cat',
  'deer',
  'dog',
  'frog',
  'horse',
  'ship',
  'truck',
] as const;

export const CIFAR_SIDE = 32;
export const CIFAR_PIXELS = 3 * CIFAR_SIDE * CIFAR_SIDE;

export interface CifarLayout {
  /** Label bytes before the pixels; the last of them is the label vitc uses. */
  labelBytes: number;
  files: { train: string[]; test: string[] };
  meta: string;
  /** The folder the official tarball extracts to, looked for inside the given path. */
  tarDir: string;
  defaultClasses?: readonly string[];
}

export const CIFAR10: CifarLayout = {
  labelBytes: 1,
  files: {
    train: [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`),
    test: ['test_batch.bin'],
  },
  meta: 'batches.meta.txt',
  tarDir: 'cifar-10-batches-bin',
  defaultClasses: CIFAR10_CLASSES,
};

export const CIFAR100: CifarLayout = {
  labelBytes: 2,
  files: { train: ['train.bin'], test: ['test.bin'] },
  meta: 'fine_label_names.txt',
  tarDir: 'cifar-100-binary',
};

/** Class names from a meta file: one per line, blank lines (the file ends with some) dropped. */
export function parseCifarMeta(text: string, file: string): string[] {
  const names = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  if (names.length === 0) throw new DataError('cifarMeta', file, 'no class names in the file');
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw new DataError('cifarMeta', file, `class name '${n}' appears twice`);
    seen.add(n);
  }
  return names;
}

/** Record count of one batch file, checking that the file is a whole number of records. */
export function cifarRecordCount(bytes: Uint8Array, file: string, labelBytes = 1): number {
  const rec = labelBytes + CIFAR_PIXELS;
  if (bytes.length === 0 || bytes.length % rec !== 0) {
    throw new DataError(
      'cifarRecords',
      file,
      `${bytes.length} bytes is not a whole number of ${rec}-byte records ` +
        `(${Math.floor(bytes.length / rec)} records and ${bytes.length % rec} bytes over)`,
    );
  }
  return bytes.length / rec;
}

/**
 * A data set from CIFAR batch files already in memory, in order; `files[i]` names `parts[i]`
 * in errors. Labels are checked against `classes`.
 */
export function cifarDataset(
  name: string,
  parts: readonly Uint8Array[],
  files: readonly string[],
  classes: readonly string[],
  layout: CifarLayout = CIFAR10,
): MemoryDataset {
  const rec = layout.labelBytes + CIFAR_PIXELS;
  const counts = parts.map((p, i) => cifarRecordCount(p, files[i]!, layout.labelBytes));
  const total = counts.reduce((a, b) => a + b, 0);
  const all = parts.length === 1 ? parts[0]! : new Uint8Array(total * rec);
  if (parts.length > 1) {
    let at = 0;
    for (const p of parts) {
      all.set(p, at);
      at += p.length;
    }
  }
  const labels = new Uint8Array(total);
  for (let i = 0; i < total; i++) labels[i] = all[i * rec + layout.labelBytes - 1]!;
  // Check per file so the message names the file that holds the bad label.
  let first = 0;
  parts.forEach((_, k) => {
    checkLabels(labels.subarray(first, first + counts[k]!), classes.length, files[k]!);
    first += counts[k]!;
  });
  return new MemoryDataset(
    name,
    classes,
    { channels: 3, height: CIFAR_SIDE, width: CIFAR_SIDE },
    all,
    labels,
    'chw',
    { stride: rec, offset: layout.labelBytes },
  );
}

/**
 * Open CIFAR from `dir` (the batch folder, or the folder holding the tarball's extracted
 * cifar-10-batches-bin/). Without the meta file CIFAR-10 falls back to its standard names.
 */
export async function openCifar(
  dir: string,
  split: 'train' | 'test',
  layout: CifarLayout = CIFAR10,
  name = `cifar (${split})`,
): Promise<MemoryDataset> {
  const { join } = await import('node:path');
  const kind = await pathKind(dir);
  if (kind !== 'dir') {
    throw new DataError('notFound', dir, kind ? 'is not a folder' : 'folder not found');
  }
  if ((await pathKind(join(dir, layout.tarDir))) === 'dir') dir = join(dir, layout.tarDir);
  const files = layout.files[split].map((f) => join(dir, f));
  const missing: string[] = [];
  for (const f of files) if ((await pathKind(f)) !== 'file') missing.push(f);
  if (missing.length > 0) {
    throw new DataError(
      'notFound',
      dir,
      `missing ${missing.map((m) => m.slice(dir.length + 1)).join(', ')} for the ${split} split`,
      `expected ${layout.files[split].join(', ')} (the binary version of the data set)`,
    );
  }
  const metaPath = join(dir, layout.meta);
  let classes: readonly string[];
  if ((await pathKind(metaPath)) === 'file') {
    classes = parseCifarMeta(new TextDecoder().decode(await readBytes(metaPath)), metaPath);
  } else if (layout.defaultClasses) {
    classes = layout.defaultClasses;
  } else {
    throw new DataError('notFound', metaPath, 'class names file not found');
  }
  // Read concurrently; report the first failing file in file order, not the first to fail.
  const settled = await Promise.allSettled(files.map((f) => readBytes(f)));
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  const parts = settled.map((r) => (r as PromiseFulfilledResult<Uint8Array>).value);
  return cifarDataset(name, parts, files, classes, layout);
}
