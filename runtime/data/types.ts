/**
 * What every data source gives the loader. Samples are HWC float32 in 0..255, the same layout
 * runtime/image's decodeImage returns, so image files and in-memory sets go through one path;
 * the loader alone turns them into normalized CHW batches.
 */

export interface Shape {
  channels: number;
  height: number;
  width: number;
}

export interface Sample {
  /** Pixels, HWC (row-major, channels interleaved), float32 in 0..255. */
  image: Float32Array;
  width: number;
  height: number;
  channels: number;
  /** Class index into Dataset.classes. */
  label: number;
}

export interface Dataset {
  /** For messages: the source and split, e.g. `fashion-mnist (train)`. */
  readonly name: string;
  readonly size: number;
  /** Class names, index = label. */
  readonly classes: readonly string[];
  /**
   * The shape of every sample when `fixedShape` (IDX, CIFAR); for image folders, where files may
   * differ, the shape of the first image.
   */
  readonly shape: Shape;
  readonly fixedShape: boolean;
  /** Sample i, decoded synchronously. */
  get(i: number): Sample;
  /** Sample i with the file read asynchronously (image folders); absent for in-memory sets. */
  load?(i: number): Promise<Sample>;
  /** Label of sample i without decoding the image. */
  label(i: number): number;
}
