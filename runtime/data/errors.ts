/**
 * User-facing data errors. Every failure to find, read or interpret a data set is a DataError
 * whose message names the file (or the `--data` argument) and says what is wrong, so the CLI can
 * print `error.message` and exit without a stack trace. Codes are listed in docs/DATA.md.
 */

export const DATA_ERRORS = {
  /** `--data` argument not understood. */
  unknownSource: 511,
  /** A data set, folder or file that should exist does not. */
  notFound: 512,
  /** The file exists but could not be read (permissions, I/O). */
  unreadable: 513,
  /** gzip stream corrupt or truncated. */
  badGzip: 514,
  /** IDX magic number wrong (not an IDX file, or images/labels swapped). */
  idxMagic: 515,
  /** IDX file length disagrees with its header (truncated or trailing bytes). */
  idxLength: 516,
  /** Images and labels disagree in count. */
  countMismatch: 517,
  /** A label is not a valid class index. */
  labelRange: 518,
  /** CIFAR binary file is not a whole number of records. */
  cifarRecords: 519,
  /** batches.meta.txt unusable. */
  cifarMeta: 520,
  /** Image folder without classes or without images. */
  folderEmpty: 521,
  /** Validation folder has a class the training folder lacks. */
  folderClasses: 522,
  /** Reserved: image decode failures surface as runtime/image's ImageError (VITC0501..0510). */
  decode: 523,
  /** An image's channels cannot be converted to the model's channels. */
  channels: 524,
  /** Loader options invalid (batch size, padding, prefetch depth). */
  options: 525,
  /** A saved loader state does not fit this data set or these options. */
  state: 526,
  /** Sample index out of range. */
  index: 527,
  /** preprocess mean/std do not fit the image channels. */
  normalize: 528,
  /** IDX header well formed but not something vitc reads (element type, dimensions). */
  idxUnsupported: 529,
  // 530 is reserved for the data pipeline's next error.
} as const;

export type DataErrorKind = keyof typeof DATA_ERRORS;

export class DataError extends Error {
  override name = 'DataError';
  /** `VITC0511` … `VITC0530`. */
  readonly code: string;
  constructor(
    kind: DataErrorKind,
    /** The file, folder or `--data` argument the error is about. */
    readonly file: string,
    readonly detail: string,
    readonly hint?: string,
  ) {
    const c = `VITC${String(DATA_ERRORS[kind]).padStart(4, '0')}`;
    super(`${file}: error ${c}: ${detail}${hint ? `\n  hint: ${hint}` : ''}`);
    this.code = c;
  }
}

/** The message of an unknown thrown value, for wrapping Node I/O errors. */
export function causeText(e: unknown): string {
  if (e && typeof e === 'object' && 'code' in e && typeof e.code === 'string') {
    const msg = e instanceof Error ? e.message : String(e);
    return `${e.code}: ${msg.replace(/^[A-Z]+: /, '')}`;
  }
  return e instanceof Error ? e.message : String(e);
}
