/**
 * Batches for training and evaluation: `{ images: [B, C, H, W] normalized, labels: [B] }`.
 *
 * Every batch is a pure function of (data set, options, seed, epoch, batch index): the epoch's
 * order is a seeded permutation and each sample's augmentation draws come from a generator keyed
 * by its position in the epoch. So the loader's whole state is (seed, epoch, position), resuming
 * from a saved state reproduces the remaining batches bit for bit, and batches can be prepared
 * ahead (prefetch) without changing what they contain.
 */
import type { Spec } from '../../compiler/spec/types.js';
import { channelNorm, drawView, IDENTITY_VIEW, toChannels, writeView } from './augment.js';
import type { AugmentOptions, Norm } from './augment.js';
import { DataError } from './errors.js';
import { resizeToSpec } from './resize.js';
import { epochPermutation, STREAM_AUGMENT, Xoshiro128 } from './rng.js';
import type { Dataset, Sample, Shape } from './types.js';

export interface LoaderOptions {
  /** Samples per batch. */
  batch: number;
  /** Reshuffle every epoch (training); false keeps the data set's order (evaluation). */
  shuffle?: boolean;
  /** Seed of the shuffle and the augmentation; default 0. */
  seed?: number;
  /** First epoch (0-based); default 0. */
  epoch?: number;
  /** The model's input size and normalization. */
  spec: Pick<Spec, 'image' | 'preprocess'>;
  /** Random crop with zero padding and horizontal flip; default none (evaluation). */
  augment?: AugmentOptions;
  /** Drop the last, incomplete batch of an epoch; default false. */
  dropLast?: boolean;
  /** Batches prepared ahead by the async iterator, 0..4; default 1. */
  prefetch?: number;
}

export interface Batch {
  /** [B, C, H, W], (x/255 − mean)/std per channel. */
  images: Float32Array;
  labels: Int32Array;
  /** B: `batch`, or fewer for the last batch of an epoch without dropLast. */
  size: number;
  epoch: number;
  /** Index of this batch within its epoch. */
  index: number;
  /** Data set indices of the samples, in batch order. */
  indices: Uint32Array;
}

/** Everything needed to continue exactly where a loader stopped; plain JSON. */
export interface LoaderState {
  version: 1;
  seed: number;
  /** Epoch of the next batch. */
  epoch: number;
  /** Index within that epoch of the next batch the caller will receive. */
  position: number;
  /** What the state is only valid for; restore refuses anything else. */
  size: number;
  batch: number;
  shuffle: boolean;
  dropLast: boolean;
  augment: AugmentOptions;
}

const NO_AUGMENT: AugmentOptions = { flip: false, cropPadding: 0 };

/** Ask the event loop to run `f` after pending I/O and timers, i.e. while the caller awaits GPU work. */
function later<T>(f: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const run = () => f().then(resolve, reject);
    if (typeof setImmediate === 'function') setImmediate(run);
    else setTimeout(run, 0);
  });
}

export class BatchLoader {
  readonly batch: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  readonly augment: AugmentOptions;
  readonly prefetch: number;
  /** Shape of every batch sample: the spec's image. */
  readonly shape: Shape;
  /** Batches in one epoch. */
  readonly batchesPerEpoch: number;
  private readonly norm: Norm;
  private readonly spec: Pick<Spec, 'image' | 'preprocess'>;
  private epochNow: number;
  private position = 0;
  private perm: { epoch: number; order: Uint32Array } | null = null;

  constructor(
    readonly dataset: Dataset,
    opts: LoaderOptions,
  ) {
    const bad = (msg: string): never => {
      throw new DataError('options', dataset.name, msg);
    };
    const isInt = (v: unknown, min: number) =>
      typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
    if (!isInt(opts.batch, 1)) bad(`batch size must be a positive integer, got ${opts.batch}`);
    this.batch = opts.batch;
    this.shuffle = opts.shuffle ?? false;
    this.seed = opts.seed ?? 0;
    if (!Number.isSafeInteger(this.seed)) bad(`seed must be an integer, got ${this.seed}`);
    this.epochNow = opts.epoch ?? 0;
    if (!isInt(this.epochNow, 0)) bad(`epoch must be a non-negative integer, got ${opts.epoch}`);
    this.dropLast = opts.dropLast ?? false;
    this.augment = { ...(opts.augment ?? NO_AUGMENT) };
    if (!isInt(this.augment.cropPadding, 0)) {
      bad(`crop padding must be a non-negative integer, got ${this.augment.cropPadding}`);
    }
    this.prefetch = opts.prefetch ?? 1;
    if (!isInt(this.prefetch, 0) || this.prefetch > 4)
      bad(`prefetch must be 0..4, got ${opts.prefetch}`);
    this.spec = opts.spec;
    const { image } = opts.spec;
    this.shape = { channels: image.channels, height: image.height, width: image.width };
    this.norm = channelNorm(opts.spec.preprocess, image.channels);
    const n = dataset.size;
    this.batchesPerEpoch = this.dropLast ? Math.floor(n / this.batch) : Math.ceil(n / this.batch);
    if (this.batchesPerEpoch === 0) {
      bad(
        `batch size ${this.batch} is larger than the data set (${n} samples) and dropLast is set`,
      );
    }
  }

  /** A loader that continues from `state`; `opts` must describe the same run (seed included). */
  static restore(dataset: Dataset, opts: LoaderOptions, state: LoaderState): BatchLoader {
    const fail = (msg: string): never => {
      throw new DataError('state', dataset.name, `cannot resume the data loader: ${msg}`);
    };
    if (state?.version !== 1) fail(`unknown state version ${String(state?.version)}`);
    const loader = new BatchLoader(dataset, {
      ...opts,
      seed: opts.seed ?? state.seed,
      epoch: state.epoch,
    });
    const diffs: string[] = [];
    const cmp = (what: string, saved: unknown, now: unknown) => {
      if (saved !== now) diffs.push(`${what} was ${String(saved)}, is ${String(now)}`);
    };
    cmp('data set size', state.size, dataset.size);
    cmp('batch', state.batch, loader.batch);
    cmp('shuffle', state.shuffle, loader.shuffle);
    cmp('dropLast', state.dropLast, loader.dropLast);
    cmp('seed', state.seed, loader.seed);
    cmp('flip', state.augment?.flip, loader.augment.flip);
    cmp('crop padding', state.augment?.cropPadding, loader.augment.cropPadding);
    if (diffs.length > 0) fail(diffs.join('; '));
    const p = state.position;
    if (!Number.isSafeInteger(p) || p < 0 || p > loader.batchesPerEpoch) {
      fail(`position ${p} outside 0..${loader.batchesPerEpoch}`);
    }
    loader.seek(state.epoch, p);
    return loader;
  }

  state(): LoaderState {
    return {
      version: 1,
      seed: this.seed,
      epoch: this.epochNow,
      position: this.position,
      size: this.dataset.size,
      batch: this.batch,
      shuffle: this.shuffle,
      dropLast: this.dropLast,
      augment: { ...this.augment },
    };
  }

  get epoch(): number {
    return this.epochNow;
  }

  /** Make batch `position` of `epoch` the next one handed out. */
  seek(epoch: number, position = 0): void {
    if (!Number.isSafeInteger(epoch) || epoch < 0) {
      throw new DataError(
        'state',
        this.dataset.name,
        `epoch ${epoch} is not a non-negative integer`,
      );
    }
    this.epochNow = epoch;
    this.position = position;
    this.normalizePosition();
  }

  /** A finished epoch rolls over to position 0 of the next, so state() never points past the end. */
  private normalizePosition(): void {
    if (this.position >= this.batchesPerEpoch) {
      this.epochNow += 1;
      this.position = 0;
    }
  }

  /** Dataset indices in the order of `epoch`. */
  order(epoch: number): Uint32Array {
    if (this.perm?.epoch !== epoch) {
      const n = this.dataset.size;
      const order = this.shuffle ? epochPermutation(n, this.seed, epoch) : identity(n);
      this.perm = { epoch, order };
    }
    return this.perm.order;
  }

  private slot(epoch: number, index: number): Uint32Array {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.batchesPerEpoch) {
      throw new DataError(
        'index',
        this.dataset.name,
        `batch ${index} outside 0..${this.batchesPerEpoch - 1}`,
      );
    }
    const n = this.dataset.size;
    const start = index * this.batch;
    return this.order(epoch).slice(start, Math.min(start + this.batch, n));
  }

  /** Batch `index` of `epoch`, built synchronously; does not move the loader. */
  batchAt(index: number, epoch = this.epochNow): Batch {
    const indices = this.slot(epoch, index);
    return this.assemble(
      epoch,
      index,
      indices,
      Array.from(indices, (i) => this.dataset.get(i)),
    );
  }

  /** The same batch with image files read asynchronously where the data set can. */
  async batchAtAsync(index: number, epoch = this.epochNow): Promise<Batch> {
    const indices = this.slot(epoch, index);
    const ds = this.dataset;
    const samples = ds.load
      ? await Promise.all(Array.from(indices, (i) => ds.load!(i)))
      : Array.from(indices, (i) => ds.get(i));
    return this.assemble(epoch, index, indices, samples);
  }

  /** The next batch, synchronously; moves the loader (crossing into the next epoch at the end). */
  next(): Batch {
    const b = this.batchAt(this.position);
    this.position += 1;
    this.normalizePosition();
    return b;
  }

  private assemble(epoch: number, index: number, indices: Uint32Array, samples: Sample[]): Batch {
    const { channels: c, height: h, width: w } = this.shape;
    const per = c * h * w;
    const images = new Float32Array(samples.length * per);
    const labels = new Int32Array(samples.length);
    const augmenting = this.augment.flip || this.augment.cropPadding > 0;
    samples.forEach((raw, j) => {
      const where = `${this.dataset.name} item ${indices[j]}`;
      const s = resizeToSpec(toChannels(raw, c, where), this.spec);
      // Keyed by the position in the epoch, not the data set index: the same image gets fresh
      // draws every epoch, and a batch's draws do not depend on which batches were built before it.
      const view = augmenting
        ? drawView(
            Xoshiro128.from([this.seed, epoch, STREAM_AUGMENT, index * this.batch + j]),
            this.augment,
          )
        : IDENTITY_VIEW;
      writeView(s, view, this.norm, images, j * per);
      labels[j] = raw.label;
    });
    return { images, labels, size: samples.length, epoch, index, indices };
  }

  /**
   * The remaining batches of the current epoch. While the caller holds batch k (typically
   * awaiting GPU work on it), batches k+1..k+prefetch are being read and decoded. The loader's
   * state advances as each batch is handed out, so state() inside the loop body resumes right
   * after the batch in hand. After the last batch the loader is at the next epoch's start.
   */
  async *epochBatches(): AsyncGenerator<Batch, void, undefined> {
    const epoch = this.epochNow;
    let next = this.position;
    const queue: Promise<Batch>[] = [];
    const fill = () => {
      while (queue.length < Math.max(1, this.prefetch) && next < this.batchesPerEpoch) {
        const k = next++;
        const p = later(() => this.batchAtAsync(k, epoch));
        // Batches left behind by an early `break` must not surface as unhandled rejections.
        p.catch(() => {});
        queue.push(p);
      }
    };
    fill();
    while (queue.length > 0) {
      const b = await queue.shift()!;
      if (this.epochNow !== epoch || this.position !== b.index) {
        throw new DataError(
          'state',
          this.dataset.name,
          'the loader was moved while iterating over an epoch',
        );
      }
      this.position += 1;
      this.normalizePosition();
      if (this.prefetch > 0) fill();
      yield b;
      if (this.prefetch === 0) fill();
    }
  }

  [Symbol.asyncIterator](): AsyncGenerator<Batch, void, undefined> {
    return this.epochBatches();
  }
}

function identity(n: number): Uint32Array {
  const a = new Uint32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}
