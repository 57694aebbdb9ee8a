/**
 * A data set held in memory as bytes (IDX, CIFAR): a 60000-image set is 47 MB as uint8 but would
 * be 188 MB as float32, so the conversion to float happens per sample, when it is asked for.
 */
import { DataError } from './errors.js';
import type { Dataset, Sample, Shape } from './types.js';

export class MemoryDataset implements Dataset {
  readonly size: number;
  readonly fixedShape = true;
  private readonly stride: number;
  private readonly recordStride: number;
  private readonly recordOffset: number;

  constructor(
    readonly name: string,
    readonly classes: readonly string[],
    readonly shape: Shape,
    /** Images in `layout` order, image i at `i * record.stride + record.offset`. */
    private readonly pixels: Uint8Array,
    private readonly labels: Uint8Array,
    /** CIFAR stores planes (CHW); IDX images are single-channel, where HWC and CHW coincide. */
    private readonly layout: 'hwc' | 'chw',
    /**
     * CIFAR interleaves a label byte with each image; reading the pixels in place, rather than
     * copying them out, keeps one copy of a 150 MB training set in memory instead of two.
     */
    record?: { stride: number; offset: number },
  ) {
    this.stride = shape.channels * shape.height * shape.width;
    this.recordStride = record?.stride ?? this.stride;
    this.recordOffset = record?.offset ?? 0;
    this.size = labels.length;
    if (pixels.length < this.size * this.recordStride) {
      throw new Error(`MemoryDataset ${name}: ${pixels.length} bytes for ${this.size} images`);
    }
  }

  private check(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.size) {
      throw new DataError('index', this.name, `sample index ${i} outside 0..${this.size - 1}`);
    }
  }

  label(i: number): number {
    this.check(i);
    return this.labels[i]!;
  }

  get(i: number): Sample {
    this.check(i);
    const { channels: c, height: h, width: w } = this.shape;
    const at = i * this.recordStride + this.recordOffset;
    const src = this.pixels.subarray(at, at + this.stride);
    const image = new Float32Array(this.stride);
    if (this.layout === 'hwc' || c === 1) {
      for (let k = 0; k < this.stride; k++) image[k] = src[k]!;
    } else {
      const plane = h * w;
      for (let ch = 0; ch < c; ch++) {
        for (let p = 0; p < plane; p++) image[p * c + ch] = src[ch * plane + p]!;
      }
    }
    return { image, width: w, height: h, channels: c, label: this.labels[i]! };
  }
}

/** Throw DataError when a label is not a class index; `file` is the labels file. */
export function checkLabels(labels: Uint8Array, classes: number, file: string): void {
  for (let i = 0; i < labels.length; i++) {
    if (labels[i]! >= classes) {
      throw new DataError(
        'labelRange',
        file,
        `label ${labels[i]} of item ${i} is not a class index (there are ${classes} classes)`,
      );
    }
  }
}
