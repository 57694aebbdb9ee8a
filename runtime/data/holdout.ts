/**
 * A validation split held out of a training set (`vitc train --val F`): per class, the class's
 * indices are shuffled with (seed, STREAM_HOLDOUT, class) and the first round(n·F) go to
 * validation, so every class keeps its proportion in both parts. Both parts keep the data set's
 * order (the loader shuffles the training part per epoch), and the split depends only on the
 * labels, F and the seed: a resumed run holds out the same images.
 *
 * Why: choosing the best checkpoint by test accuracy selects on the test set; with a held-out
 * part the best checkpoint is chosen on it and the test split is only reported.
 */
import type { Dataset } from './types.js';
import { STREAM_HOLDOUT, seededPermutation } from './rng.js';

export function holdOut(
  ds: Dataset,
  fraction: number,
  seed: number,
): { train: Dataset; val: Dataset } {
  if (!(fraction > 0 && fraction < 1))
    throw new RangeError(`holdOut: the fraction must be in (0, 1), got ${fraction}`);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < ds.size; i++) {
    const c = ds.label(i);
    const list = byClass.get(c);
    if (list) list.push(i);
    else byClass.set(c, [i]);
  }
  const held = new Uint8Array(ds.size);
  for (const [c, list] of byClass) {
    const order = seededPermutation(list.length, [seed, STREAM_HOLDOUT, c]);
    for (const k of order.subarray(0, Math.round(list.length * fraction))) held[list[k]!] = 1;
  }
  const pick = (want: number) => {
    const idx: number[] = [];
    for (let i = 0; i < ds.size; i++) if (held[i] === want) idx.push(i);
    return idx;
  };
  return {
    train: subset(ds, pick(0), ds.name),
    val: subset(ds, pick(1), ds.name.replace(/\(train\)$/, '(held-out val)')),
  };
}

/** The samples `idx` of a data set, in that order. */
export function subset(ds: Dataset, idx: readonly number[], name: string): Dataset {
  const load = ds.load;
  return {
    name,
    size: idx.length,
    classes: ds.classes,
    shape: ds.shape,
    fixedShape: ds.fixedShape,
    get: (i) => ds.get(idx[i]!),
    ...(load ? { load: (i: number) => load.call(ds, idx[i]!) } : {}),
    label: (i) => ds.label(idx[i]!),
  };
}
