// Diagnostics: the one catalogue of everything vitc can report, and how it is printed.
// Codes are stable: never renumber or reuse one. Add new codes to DIAGNOSTIC_CATALOGUE in their
// group (and a line in docs/DIAGNOSTICS.md); the code type follows automatically.
import type { SourcePos } from './spec/types.js';

export type Severity = 'error' | 'warning';

export interface CatalogueEntry {
  /** A short title, the same for every occurrence (the message carries the specifics). */
  title: string;
  /** The usual severity; a reporter may still downgrade or upgrade a single occurrence. */
  severity: Severity;
}

/** Group of a code, by its hundreds digit. */
export const DIAGNOSTIC_GROUPS = {
  '01': 'lexing and parsing',
  '02': 'imports, resolution and inheritance',
  '03': 'values and semantic checks',
  '04': 'weights',
  '05': 'data',
  '06': 'code generation and runtime',
  '09': 'command-line usage',
} as const;

export const DIAGNOSTIC_CATALOGUE = {
  // 01xx lexing and parsing
  VITC0101: { title: 'unexpected character', severity: 'error' },
  VITC0102: { title: 'unterminated string', severity: 'error' },
  VITC0103: { title: 'syntax error', severity: 'error' },
  VITC0104: { title: 'unknown statement', severity: 'error' },
  VITC0105: { title: 'unknown word in statement', severity: 'error' },
  VITC0106: { title: 'malformed statement arguments', severity: 'error' },
  VITC0107: { title: 'option repeated in one statement', severity: 'error' },
  VITC0108: { title: 'unexpected item at top level', severity: 'error' },
  VITC0109: { title: 'statement or block not allowed here', severity: 'error' },
  VITC0110: { title: 'conflicting options in one statement', severity: 'error' },
  VITC0111: { title: 'unknown block', severity: 'error' },

  // 02xx imports, resolution and inheritance
  VITC0201: { title: 'cannot read spec file', severity: 'error' },
  VITC0202: { title: 'imported file not found', severity: 'error' },
  VITC0203: { title: 'import cycle', severity: 'error' },
  VITC0204: { title: 'unknown parent model', severity: 'error' },
  VITC0205: { title: 'inheritance cycle', severity: 'error' },
  VITC0206: { title: 'duplicate model name', severity: 'error' },
  VITC0207: { title: 'duplicate statement', severity: 'error' },
  VITC0208: { title: 'missing required setting', severity: 'error' },
  VITC0209: { title: 'unknown model', severity: 'error' },
  VITC0210: { title: 'file defines no model', severity: 'error' },

  // 03xx values and semantic checks
  VITC0300: { title: 'spec does not match the schema', severity: 'error' },
  VITC0301: { title: 'width not divisible by heads', severity: 'error' },
  VITC0302: { title: 'image not divisible by patch', severity: 'error' },
  VITC0303: { title: 'integer required', severity: 'error' },
  VITC0304: { title: 'size must be positive', severity: 'error' },
  VITC0305: { title: 'number out of range', severity: 'error' },
  VITC0306: { title: 'distill token needs a cls token', severity: 'error' },
  VITC0307: { title: 'cls pooling needs a cls token', severity: 'error' },
  VITC0308: { title: 'sincos2d needs width divisible by 4', severity: 'error' },
  VITC0309: { title: 'prefix option needs learned position embedding', severity: 'error' },
  VITC0310: { title: 'dropout rate not in [0, 1)', severity: 'error' },
  VITC0311: { title: 'eps must be positive', severity: 'error' },
  VITC0312: { title: 'layer_scale must be positive', severity: 'error' },
  VITC0313: { title: 'must not be negative', severity: 'error' },
  VITC0314: { title: 'mean/std length differs from image channels', severity: 'error' },
  VITC0315: { title: 'preprocess std must be positive', severity: 'error' },
  VITC0316: { title: 'crop not in (0, 1]', severity: 'error' },
  VITC0317: { title: 'learning rate must be positive', severity: 'error' },
  VITC0318: { title: 'beta not in [0, 1)', severity: 'error' },
  VITC0319: { title: 'label smoothing not in [0, 1)', severity: 'error' },
  VITC0320: { title: 'clip must be positive', severity: 'error' },
  VITC0321: { title: 'init std must be positive', severity: 'error' },
  VITC0322: { title: 'mlp ratio must be positive', severity: 'error' },
  VITC0323: { title: 'momentum not in [0, 1)', severity: 'error' },
  VITC0324: { title: 'warmup not shorter than training', severity: 'warning' },
  VITC0325: { title: 'min_lr above lr', severity: 'warning' },
  VITC0326: { title: 'setting has no effect', severity: 'warning' },

  // 04xx weights (runtime/safetensors.ts, runtime/weights.ts; docs/WEIGHTS.md)
  VITC0401: { title: 'file shorter than the 8-byte header length', severity: 'error' },
  VITC0402: {
    title: 'header length runs past the end of the file, or exceeds 100 MB',
    severity: 'error',
  },
  VITC0403: { title: 'header is not valid UTF-8 JSON', severity: 'error' },
  VITC0404: {
    title: 'header is not an object, or a tensor entry is malformed (dtype, shape, data_offsets)',
    severity: 'error',
  },
  VITC0405: { title: 'unsupported dtype', severity: 'error' },
  VITC0406: { title: 'data_offsets out of range', severity: 'error' },
  VITC0407: { title: 'two tensors overlap in the data section', severity: 'error' },
  VITC0408: { title: 'unused bytes between tensors or after the last one', severity: 'error' },
  VITC0409: { title: 'byte length ≠ shape product × dtype size', severity: 'error' },
  VITC0410: { title: '__metadata__ is not a string → string map', severity: 'error' },
  VITC0411: { title: 'cannot read the file', severity: 'error' },
  VITC0412: { title: 'cannot write the file (nothing is left behind)', severity: 'error' },
  VITC0413: {
    title:
      'a tensor to write is inconsistent (value count ≠ shape, duplicate name, wrong array type)',
    severity: 'error',
  },
  VITC0414: {
    title:
      'weights do not match the model (all missing / unexpected / shape / dtype / NaN problems)',
    severity: 'error',
  },
  VITC0415: { title: 'parameters to save do not match the model', severity: 'error' },

  // 05xx images (runtime/image/errors.ts; docs/IMAGES.md) and data (runtime/data/errors.ts; docs/DATA.md)
  VITC0501: {
    title: 'the file cannot be read (missing, a directory, no permission)',
    severity: 'error',
  },
  VITC0502: { title: 'zero bytes', severity: 'error' },
  VITC0503: { title: 'neither PNG nor JPEG by magic bytes', severity: 'error' },
  VITC0504: { title: 'corrupt or truncated PNG', severity: 'error' },
  VITC0505: { title: 'corrupt or truncated JPEG', severity: 'error' },
  VITC0506: {
    title: 'a valid file of a kind we do not decode (lossless/arithmetic/12-bit JPEG, …)',
    severity: 'error',
  },
  VITC0507: { title: 'over the size limits (decompression-bomb guard)', severity: 'error' },
  VITC0508: {
    title: 'channel count the model wants cannot be produced, or mean/std length wrong',
    severity: 'error',
  },
  VITC0509: {
    title: 'invalid sizes or buffers passed to resize/preprocess/draw/encode',
    severity: 'error',
  },
  VITC0510: { title: 'the PNG cannot be written', severity: 'error' },
  VITC0511: { title: '`--data` argument not understood.', severity: 'error' },
  VITC0512: { title: 'A data set, folder or file that should exist does not.', severity: 'error' },
  VITC0513: {
    title: 'The file exists but could not be read (permissions, I/O).',
    severity: 'error',
  },
  VITC0514: { title: 'gzip stream corrupt or truncated.', severity: 'error' },
  VITC0515: {
    title: 'IDX magic number wrong (not an IDX file, or images/labels swapped).',
    severity: 'error',
  },
  VITC0516: {
    title: 'IDX file length disagrees with its header (truncated or trailing bytes).',
    severity: 'error',
  },
  VITC0517: { title: 'Images and labels disagree in count.', severity: 'error' },
  VITC0518: { title: 'A label is not a valid class index.', severity: 'error' },
  VITC0519: { title: 'CIFAR binary file is not a whole number of records.', severity: 'error' },
  VITC0520: { title: 'batches.meta.txt unusable.', severity: 'error' },
  VITC0521: { title: 'Image folder without classes or without images.', severity: 'error' },
  VITC0522: {
    title: 'Validation folder has a class the training folder lacks.',
    severity: 'error',
  },
  VITC0523: {
    title:
      "Reserved: image decode failures surface as runtime/image's ImageError (VITC0501..0510).",
    severity: 'error',
  },
  VITC0524: {
    title: "An image's channels cannot be converted to the model's channels.",
    severity: 'error',
  },
  VITC0525: {
    title: 'Loader options invalid (batch size, padding, prefetch depth).',
    severity: 'error',
  },
  VITC0526: {
    title: 'A saved loader state does not fit this data set or these options.',
    severity: 'error',
  },
  VITC0527: { title: 'Sample index out of range.', severity: 'error' },
  VITC0528: { title: 'preprocess mean/std do not fit the image channels.', severity: 'error' },
  VITC0529: {
    title: 'IDX header well formed but not something vitc reads (element type, dimensions).',
    severity: 'error',
  },

  // 06xx code generation and runtime: added by the parts that report them.

  // 09xx command-line usage
  VITC0901: { title: 'unknown command', severity: 'error' },
  VITC0902: { title: 'missing argument', severity: 'error' },
  VITC0903: { title: 'unknown option', severity: 'error' },
  VITC0904: { title: 'invalid option value', severity: 'error' },
} as const satisfies Record<string, CatalogueEntry>;

export type DiagnosticCode = keyof typeof DIAGNOSTIC_CATALOGUE;

export interface Diagnostic {
  code: DiagnosticCode;
  severity: Severity;
  message: string;
  /** Where it happened; absent for problems with no place in a file (e.g. an unreadable file). */
  pos?: SourcePos;
  /** Length in characters of the offending span starting at pos (1 when absent). */
  length?: number;
  hint?: string;
}

/** Build a diagnostic with the catalogue's severity for its code. */
export function diagnostic(
  code: DiagnosticCode,
  message: string,
  where?: { pos?: SourcePos; length?: number; hint?: string; severity?: Severity },
): Diagnostic {
  const d: Diagnostic = {
    code,
    severity: where?.severity ?? DIAGNOSTIC_CATALOGUE[code].severity,
    message,
  };
  if (where?.pos) d.pos = where.pos;
  if (where?.length !== undefined) d.length = where.length;
  if (where?.hint) d.hint = where.hint;
  return d;
}

export function hasErrors(ds: readonly Diagnostic[]): boolean {
  return ds.some((d) => d.severity === 'error');
}

/** Thrown by code paths that cannot go on; callers print `diagnostics` with formatDiagnostics. */
export class VitcError extends Error {
  readonly diagnostics: Diagnostic[];
  constructor(diagnostics: Diagnostic[] | Diagnostic) {
    const list = Array.isArray(diagnostics) ? diagnostics : [diagnostics];
    super(list.map((d) => formatDiagnostic(d)).join('\n') || 'vitc error');
    this.name = 'VitcError';
    this.diagnostics = list;
  }
}

/**
 * One diagnostic as text: `file:line:col: error VITCnnnn: message`, then (when the source text is
 * given) the source line indented by 4 and a caret (`^~~~` over the span) under it, then the hint.
 */
export function formatDiagnostic(d: Diagnostic, sourceText?: string): string {
  const where = d.pos ? `${d.pos.file}:${d.pos.line}:${d.pos.col}: ` : '';
  const out = [`${where}${d.severity} ${d.code}: ${d.message}`];
  if (d.pos && sourceText !== undefined) {
    const line = sourceText.split('\n')[d.pos.line - 1];
    if (line !== undefined) {
      const text = line.replace(/\r$/, '');
      // Keep tabs in the lead so the caret lines up whatever the terminal's tab width is.
      const lead = text
        .slice(0, Math.max(0, d.pos.col - 1))
        .replace(/[^\t]/g, ' ')
        .padEnd(d.pos.col - 1, ' ');
      const room = Math.max(1, text.length - (d.pos.col - 1));
      const span = Math.max(1, Math.min(d.length ?? 1, room));
      out.push(`    ${text}`, `    ${lead}^${'~'.repeat(span - 1)}`);
    }
  }
  if (d.hint) out.push(`  hint: ${d.hint}`);
  return out.join('\n');
}

/** Source text for a file: a map (as LoadResult.sources), a record or a lookup function. */
export type SourceLookup =
  | ReadonlyMap<string, string>
  | Readonly<Record<string, string>>
  | ((file: string) => string | undefined);

function lookup(sources: SourceLookup | undefined, file: string): string | undefined {
  if (!sources) return undefined;
  if (typeof sources === 'function') return sources(file);
  if (sources instanceof Map) return sources.get(file);
  return (sources as Record<string, string>)[file];
}

/** "2 errors, 1 warning" (empty string for none). */
export function summarizeDiagnostics(ds: readonly Diagnostic[]): string {
  const errors = ds.filter((d) => d.severity === 'error').length;
  const warnings = ds.length - errors;
  const parts: string[] = [];
  if (errors) parts.push(`${errors} error${errors === 1 ? '' : 's'}`);
  if (warnings) parts.push(`${warnings} warning${warnings === 1 ? '' : 's'}`);
  return parts.join(', ');
}

/** Several diagnostics, each with its source snippet, separated by blank lines; optional summary. */
export function formatDiagnostics(
  ds: readonly Diagnostic[],
  sources?: SourceLookup,
  options: { summary?: boolean } = {},
): string {
  const blocks = ds.map((d) =>
    formatDiagnostic(d, d.pos ? lookup(sources, d.pos.file) : undefined),
  );
  if (options.summary && ds.length) blocks.push(summarizeDiagnostics(ds));
  return blocks.join('\n\n');
}
