/**
 * Image folders in torchvision's ImageFolder layout: one folder per class, images anywhere below
 * it. Two layouts are understood:
 *
 *   DIR/train/<class>/…  and  DIR/val/<class>/… (or DIR/test/…)   — the splits as given
 *   DIR/<class>/…                                                 — split here, seeded
 *
 * Classes are the training folder's subfolders sorted by name (code point order, as Python's
 * sorted()), so label indices agree with a torchvision model trained on the same folder; files
 * are listed in sorted walk order, as ImageFolder lists them. Images are decoded by runtime/image
 * when a sample is asked for, not at open, so opening a large folder costs one directory walk.
 */
// Static node imports: folders are Node-only anyway (runtime/image's decoder reads files too).
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { decodeImage } from '../image/decode.js';
import { DataError } from './errors.js';
import { pathKind, readBytes, readBytesSync } from './io.js';
import { STREAM_SPLIT, seededPermutation } from './rng.js';
import type { Dataset, Sample, Shape } from './types.js';

export interface FolderOptions {
  /** Single-level layout only: fraction of each class held out as the test split; default 0.1. */
  valFraction?: number;
  /** Single-level layout only: seed of the hold-out choice; default 0. */
  splitSeed?: number;
}

/** Extensions runtime/image decodes (checked case-insensitively, as torchvision does). */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'] as const;

/** Python's string order (by code point), which differs from JS's UTF-16 order above U+FFFF. */
export function codePointCompare(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i]!.codePointAt(0)! - y[i]!.codePointAt(0)!;
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

interface Entry {
  path: string;
  label: number;
}

export class FolderDataset implements Dataset {
  readonly fixedShape = false;
  readonly size: number;

  constructor(
    readonly name: string,
    readonly root: string,
    readonly classes: readonly string[],
    readonly files: readonly Entry[],
    readonly shape: Shape,
  ) {
    this.size = files.length;
  }

  private entry(i: number): Entry {
    const e = Number.isInteger(i) ? this.files[i] : undefined;
    if (!e)
      throw new DataError('index', this.name, `sample index ${i} outside 0..${this.size - 1}`);
    return e;
  }

  label(i: number): number {
    return this.entry(i).label;
  }

  get(i: number): Sample {
    const e = this.entry(i);
    return decodeSample(readBytesSync(fs, e.path), e.path, e.label);
  }

  /** Reads the file without blocking; decoding itself is synchronous JS. */
  async load(i: number): Promise<Sample> {
    const e = this.entry(i);
    return decodeSample(await readBytes(e.path), e.path, e.label);
  }
}

/** Decode errors are runtime/image's ImageError (VITC0501..0510), which already name the file. */
function decodeSample(bytes: Uint8Array, path: string, label: number): Sample {
  const img = decodeImage(bytes, { source: path });
  return {
    image: img.data,
    width: img.width,
    height: img.height,
    channels: img.channels,
    label,
  };
}

/** Subfolders of `dir` (following links), sorted, hidden ones (`.git`, `.ipynb_checkpoints`) skipped. */
async function subdirs(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const d of await fsp.readdir(dir, { withFileTypes: true })) {
    if (d.name.startsWith('.')) continue;
    if (d.isDirectory() || (d.isSymbolicLink() && (await pathKind(join(dir, d.name))) === 'dir')) {
      out.push(d.name);
    }
  }
  return out.sort(codePointCompare);
}

/** Image files below `dir`, in the order of a sorted os.walk (files of a folder, then its subfolders). */
async function imagesUnder(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const d of (await fsp.readdir(dir, { withFileTypes: true })).sort((a, b) =>
    codePointCompare(a.name, b.name),
  )) {
    const lower = d.name.toLowerCase();
    if (d.name.startsWith('.') || !IMAGE_EXTENSIONS.some((x) => lower.endsWith(x))) continue;
    const p = join(dir, d.name);
    if (d.isFile() || (d.isSymbolicLink() && (await pathKind(p)) === 'file')) files.push(p);
  }
  for (const sub of await subdirs(dir)) files.push(...(await imagesUnder(join(dir, sub))));
  return files;
}

/** The classes of a split folder and each class's images. */
async function scan(dir: string): Promise<{ classes: string[]; files: string[][] }> {
  let classes: string[];
  try {
    classes = await subdirs(dir);
  } catch (e) {
    throw new DataError('unreadable', dir, `cannot list the folder: ${(e as Error).message}`);
  }
  if (classes.length === 0) {
    throw new DataError(
      'folderEmpty',
      dir,
      'no class folders (expected DIR/<class>/<image>.png|jpg)',
    );
  }
  const files = await Promise.all(classes.map((c) => imagesUnder(join(dir, c))));
  const empty = classes.filter((_, i) => files[i]!.length === 0);
  if (empty.length > 0) {
    throw new DataError(
      'folderEmpty',
      dir,
      `no .png/.jpg/.jpeg images in class folder${empty.length > 1 ? 's' : ''} ${empty.join(', ')}`,
    );
  }
  return { classes, files };
}

/**
 * Per class, the files of `split` when a single-level folder is divided: each class's sorted list
 * is shuffled by (seed, class index) and the first round(n·fraction) go to test. Per-class (not
 * global) so every class is represented in both splits in the same proportion.
 */
export function splitFiles(
  files: readonly string[],
  classIndex: number,
  fraction: number,
  seed: number,
  split: 'train' | 'test',
): string[] {
  const n = files.length;
  const order = seededPermutation(n, [seed, STREAM_SPLIT, classIndex]);
  const held = new Set(order.subarray(0, Math.round(n * fraction)));
  return files.filter((_, i) => held.has(i) === (split === 'test'));
}

export async function openFolder(
  dir: string,
  split: 'train' | 'test',
  opts: FolderOptions = {},
  name = `folder:${dir} (${split})`,
): Promise<FolderDataset> {
  const kind = await pathKind(dir);
  if (kind !== 'dir')
    throw new DataError('notFound', dir, kind ? 'is not a folder' : 'folder not found');
  let classes: string[];
  let perClass: string[][];
  let root = dir;
  if ((await pathKind(join(dir, 'train'))) === 'dir') {
    const train = await scan(join(dir, 'train'));
    classes = train.classes;
    if (split === 'train') {
      root = join(dir, 'train');
      perClass = train.files;
    } else {
      const evalDir = (await pathKind(join(dir, 'val'))) === 'dir' ? 'val' : 'test';
      root = join(dir, evalDir);
      if ((await pathKind(root)) !== 'dir') {
        throw new DataError(
          'notFound',
          join(dir, 'val'),
          'no val/ (or test/) folder next to train/',
        );
      }
      const held = await scan(root);
      const unknown = held.classes.filter((c) => !classes.includes(c));
      if (unknown.length > 0) {
        throw new DataError(
          'folderClasses',
          root,
          `class folder${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} not in ${join(dir, 'train')}`,
        );
      }
      // Labels are the training folder's indices, even when val/ lacks some classes.
      perClass = classes.map((c) => held.files[held.classes.indexOf(c)] ?? []);
    }
  } else {
    const fraction = opts.valFraction ?? 0.1;
    const seed = opts.splitSeed ?? 0;
    if (!(fraction > 0 && fraction < 1)) {
      throw new DataError('options', dir, `valFraction must be in (0, 1), got ${fraction}`);
    }
    if (!Number.isSafeInteger(seed))
      throw new DataError('options', dir, `splitSeed must be an integer, got ${seed}`);
    const all = await scan(dir);
    classes = all.classes;
    perClass = all.files.map((f, c) => splitFiles(f, c, fraction, seed, split));
  }
  const files = perClass.flatMap((fs, label) => fs.map((path) => ({ path, label })));
  if (files.length === 0)
    throw new DataError('folderEmpty', root, `no images for the ${split} split`);
  const first = decodeImage(await readBytes(files[0]!.path), { source: files[0]!.path });
  const shape = { channels: first.channels, height: first.height, width: first.width };
  return new FolderDataset(name, root, classes, files, shape);
}
