/**
 * ImageError: every user-facing failure of image input and output. The message always names the
 * file (or '<bytes>' / a caller-given label for in-memory data) so that a batch of thousands of
 * images points straight at the bad one; `code` is stable (VITC0501..VITC0510, docs/IMAGES.md).
 */

/** Stable codes; keep in step with the table in docs/IMAGES.md. */
export const IMAGE_ERRORS = {
  read: 501, // the file cannot be read (missing, a directory, no permission)
  empty: 502, // zero bytes
  format: 503, // neither PNG nor JPEG by magic bytes
  png: 504, // corrupt or truncated PNG
  jpeg: 505, // corrupt or truncated JPEG
  unsupported: 506, // a valid file of a kind we do not decode (lossless/arithmetic/12-bit JPEG, …)
  tooLarge: 507, // over the size limits (decompression-bomb guard)
  channels: 508, // channel count the model wants cannot be produced, or mean/std length wrong
  argument: 509, // invalid sizes or buffers passed to resize/preprocess/draw/encode
  write: 510, // the PNG cannot be written
} as const;

export type ImageErrorKind = keyof typeof IMAGE_ERRORS;

export class ImageError extends Error {
  override name = 'ImageError';
  /** 'VITC05nn'. */
  readonly code: string;
  constructor(
    readonly kind: ImageErrorKind,
    /** The file path, or a label for in-memory data. */
    readonly file: string,
    readonly detail: string,
  ) {
    const c = `VITC${String(IMAGE_ERRORS[kind]).padStart(4, '0')}`;
    super(`${file}: error ${c}: ${detail}`);
    this.code = c;
  }
}

/** Pixels of a decoded or processed image: row-major HWC floats on the 0..255 scale. */
export interface RasterImage {
  width: number;
  height: number;
  channels: 1 | 3 | 4;
  data: Float32Array;
  /** Where the pixels came from, used to name the file in errors further down the pipeline. */
  source?: string;
}

/** Throws ImageError('argument') unless the buffer length matches width × height × channels. */
export function checkRaster(img: RasterImage, what = img.source ?? '<image>'): void {
  const { width, height, channels, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new ImageError('argument', what, `invalid image size ${width}×${height}`);
  }
  if (channels !== 1 && channels !== 3 && channels !== 4) {
    throw new ImageError('channels', what, `images have 1, 3 or 4 channels, not ${channels}`);
  }
  if (data.length !== width * height * channels) {
    throw new ImageError(
      'argument',
      what,
      `pixel buffer has ${data.length} values, expected ${width}×${height}×${channels}`,
    );
  }
}
