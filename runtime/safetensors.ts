/**
 * The safetensors format (https://github.com/huggingface/safetensors), read and written exactly:
 *
 *   [u64 little-endian N] [N bytes of UTF-8 JSON header] [data section]
 *
 * The header maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets
 * relative to the start of the data section) and may hold "__metadata__", a string→string map.
 * Reading validates everything the Rust reference implementation validates (header bounds, JSON,
 * dtypes, offsets contiguous from 0 to the end of the file with no overlap or gap, byte length =
 * shape product × dtype size) and reports failures as WeightsError naming the file and the tensor.
 * Writing sorts tensors by name, lays the data out in that order with no gaps and pads the header
 * with spaces to a multiple of 8, as the Rust writer does, so the same tensors give the same bytes.
 *
 * Everything here works on Uint8Array; file access is confined to the thin wrappers at the end
 * (readFileBytes, writeFileAtomic), which load node:fs lazily so a browser bundle never needs it.
 */
import { encodeBf16, encodeF16 } from './half.js';

/** One thing wrong with a weights file against a model, collected so all are reported at once. */
export interface WeightsProblem {
  kind: 'missing' | 'extra' | 'shape' | 'dtype' | 'nonfinite';
  /** The name as vitc (timm) knows it, or the file's name for extras. */
  name: string;
  /** The name in the file, when it differs (HF names, stripped `module.` prefixes). */
  fileName?: string;
  expected?: number[];
  found?: number[];
  note?: string;
}

/**
 * A user-facing failure to read, check or write weights. `code` is VITC0401..VITC0415 (see
 * docs/WEIGHTS.md); the message names the file and, where there is one, the tensor.
 */
export class WeightsError extends Error {
  override name = 'WeightsError';
  readonly code: string;
  constructor(
    code: number,
    readonly file: string,
    readonly detail: string,
    readonly tensor?: string,
    readonly problems: readonly WeightsProblem[] = [],
  ) {
    const c = `VITC${String(code).padStart(4, '0')}`;
    super(`${file}: error ${c}: ${detail}`);
    this.code = c;
  }
}

export type Dtype = 'F32' | 'F16' | 'BF16' | 'F64' | 'I32' | 'I64';
export const DTYPE_SIZE: Readonly<Record<Dtype, number>> = {
  F32: 4,
  F16: 2,
  BF16: 2,
  F64: 8,
  I32: 4,
  I64: 8,
};

/** One tensor's header entry; its bytes are `bytes.subarray(begin, end)` of the parsed file. */
export interface TensorInfo {
  name: string;
  dtype: Dtype;
  shape: number[];
  /** Absolute byte range in the file (data_offsets shifted by 8 + N). */
  begin: number;
  end: number;
}

export interface SafetensorsFile {
  /** Where the bytes came from, for messages (a path or '<bytes>'). */
  source: string;
  bytes: Uint8Array;
  /** Tensors in header order. */
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
}

/** The Rust implementation refuses headers above 100 MB; so do we (a corrupt length is likely). */
const MAX_HEADER = 100_000_000;

function fail(code: number, source: string, message: string, tensor?: string): never {
  throw new WeightsError(code, source, message, tensor);
}

const fmtShape = (s: readonly number[]) => `[${s.join(', ')}]`;

/** Parses and validates a safetensors file; the tensor data is not copied. */
export function parseSafetensors(bytes: Uint8Array, source = '<bytes>'): SafetensorsFile {
  if (bytes.length < 8) {
    fail(401, source, `file is ${bytes.length} bytes, shorter than the 8-byte header length`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(bytes.length - 8)) {
    fail(402, source, `header length ${n} runs past the end of the file (${bytes.length} bytes)`);
  }
  if (n > BigInt(MAX_HEADER)) fail(402, source, `header length ${n} exceeds the 100 MB limit`);
  const headerLen = Number(n);
  const dataStart = 8 + headerLen;
  let header: unknown;
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart));
    header = JSON.parse(text);
  } catch (e) {
    fail(403, source, `header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    fail(404, source, 'header is not a JSON object');
  }
  const metadata: Record<string, string> = {};
  const tensors = new Map<string, TensorInfo>();
  const dataLen = bytes.length - dataStart;
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
        fail(410, source, '__metadata__ is not a map of strings');
      }
      for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(410, source, `__metadata__ value "${k}" is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    tensors.set(name, parseEntry(name, entry, source, dataStart, dataLen));
  }
  checkLayout([...tensors.values()], source, dataStart, dataLen);
  return { source, bytes, tensors, metadata };
}

function parseEntry(
  name: string,
  entry: unknown,
  source: string,
  dataStart: number,
  dataLen: number,
): TensorInfo {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
    fail(404, source, `tensor "${name}": header entry is not an object`, name);
  }
  const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
  if (typeof dtype !== 'string') fail(404, source, `tensor "${name}": missing dtype`, name);
  if (!(dtype in DTYPE_SIZE)) {
    fail(
      405,
      source,
      `tensor "${name}": unsupported dtype ${dtype} (supported: F32 F16 BF16 F64 I32 I64)`,
      name,
    );
  }
  const isDim = (d: unknown) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0;
  if (!Array.isArray(shape) || !shape.every(isDim)) {
    fail(
      404,
      source,
      `tensor "${name}": shape ${JSON.stringify(shape)} is not a list of sizes`,
      name,
    );
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isDim)) {
    fail(
      404,
      source,
      `tensor "${name}": data_offsets ${JSON.stringify(offsets)} is not [begin, end]`,
      name,
    );
  }
  const [b, e] = offsets as [number, number];
  if (b > e || e > dataLen) {
    fail(
      406,
      source,
      `tensor "${name}": data_offsets [${b}, ${e}] out of range (data section is ${dataLen} bytes)`,
      name,
    );
  }
  const dims = shape as number[];
  const count = dims.reduce((p, d) => p * d, 1);
  const want = count * DTYPE_SIZE[dtype as Dtype];
  if (want !== e - b) {
    fail(
      409,
      source,
      `tensor "${name}": ${dtype} ${fmtShape(dims)} needs ${want} bytes but data_offsets span ${e - b}`,
      name,
    );
  }
  return { name, dtype: dtype as Dtype, shape: dims, begin: dataStart + b, end: dataStart + e };
}

/** Tensors must tile the data section exactly, as the Rust reader requires. */
function checkLayout(infos: TensorInfo[], source: string, dataStart: number, dataLen: number) {
  const sorted = [...infos].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = dataStart;
  let prev: TensorInfo | null = null;
  for (const t of sorted) {
    if (t.begin < pos) {
      fail(
        407,
        source,
        `tensor "${t.name}" overlaps tensor "${prev!.name}" in the data section`,
        t.name,
      );
    }
    if (t.begin > pos) {
      const where = prev ? `after tensor "${prev.name}"` : 'at the start of the data section';
      fail(
        408,
        source,
        `${t.begin - pos} unused bytes ${where}, before tensor "${t.name}"`,
        t.name,
      );
    }
    pos = t.end;
    prev = t;
  }
  if (pos !== dataStart + dataLen) {
    const after = prev ? ` after tensor "${prev.name}"` : '';
    fail(
      408,
      source,
      `${dataStart + dataLen - pos} trailing bytes${after} not covered by any tensor`,
      prev?.name,
    );
  }
}

/** Host byte order; safetensors is little-endian and typed arrays use the host's order. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Copy the tensor's bytes into a fresh, aligned buffer (the data section may be unaligned). */
function alignedCopy(file: SafetensorsFile, t: TensorInfo): ArrayBuffer {
  const out = new Uint8Array(t.end - t.begin);
  out.set(file.bytes.subarray(t.begin, t.end));
  if (!LITTLE_ENDIAN) {
    const size = DTYPE_SIZE[t.dtype];
    for (let i = 0; i < out.length; i += size) out.subarray(i, i + size).reverse();
  }
  return out.buffer;
}

export type RawData = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint16Array;

/** The tensor's values in their stored type (F16/BF16 as raw Uint16 bit patterns). */
export function tensorData(file: SafetensorsFile, name: string): RawData {
  const t = file.tensors.get(name);
  if (!t) fail(404, file.source, `no tensor "${name}" in the file`, name);
  const buf = alignedCopy(file, t);
  switch (t.dtype) {
    case 'F32':
      return new Float32Array(buf);
    case 'F64':
      return new Float64Array(buf);
    case 'I32':
      return new Int32Array(buf);
    case 'I64':
      return new BigInt64Array(buf);
    case 'F16':
    case 'BF16':
      return new Uint16Array(buf);
  }
}

export type WriteDtype = Dtype;

/** A tensor to write. F16/BF16 take float32 values (converted) or Uint16 bit patterns. */
export interface TensorToWrite {
  name: string;
  dtype: WriteDtype;
  shape: readonly number[];
  data: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint16Array;
}

/** The typed array whose bytes are the stored form of `t`, or null if `t.data` cannot be it. */
function storedForm(t: TensorToWrite): RawData | null {
  const d = t.data;
  const floats = d instanceof Float32Array || d instanceof Float64Array ? d : null;
  switch (t.dtype) {
    case 'F32':
      return d instanceof Float32Array ? d : floats && Float32Array.from(floats);
    case 'F64':
      return d instanceof Float64Array ? d : floats && Float64Array.from(floats);
    case 'F16':
    case 'BF16': {
      if (d instanceof Uint16Array) return d;
      if (!floats) return null;
      const f32 = floats instanceof Float32Array ? floats : Float32Array.from(floats);
      return t.dtype === 'F16' ? encodeF16(f32) : encodeBf16(f32);
    }
    case 'I32':
      return d instanceof Int32Array ? d : null;
    case 'I64':
      return d instanceof BigInt64Array ? d : null;
  }
  return null;
}

function bytesFor(t: TensorToWrite, target: string): Uint8Array {
  const count = t.shape.reduce((p, d) => p * d, 1);
  if (t.data.length !== count) {
    fail(
      413,
      target,
      `tensor "${t.name}": shape ${fmtShape(t.shape)} needs ${count} values, got ${t.data.length}`,
      t.name,
    );
  }
  const typed = storedForm(t);
  if (typed === null) {
    const from = t.data.constructor.name;
    fail(413, target, `tensor "${t.name}": ${t.dtype} cannot be written from a ${from}`, t.name);
  }
  const out = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
  if (LITTLE_ENDIAN) return out;
  const copy = out.slice();
  const size = DTYPE_SIZE[t.dtype];
  for (let i = 0; i < copy.length; i += size) copy.subarray(i, i + size).reverse();
  return copy;
}

/**
 * Serializes tensors (sorted by name) and optional metadata into safetensors bytes.
 * `target` only names the destination in error messages.
 */
export function encodeSafetensors(
  tensors: readonly TensorToWrite[],
  metadata: Record<string, string> = {},
  target = '<bytes>',
): Uint8Array {
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (let i = 0; i < sorted.length; i++) {
    const t = sorted[i];
    if (t.name === '__metadata__' || (i > 0 && sorted[i - 1].name === t.name)) {
      fail(413, target, `tensor name "${t.name}" is reserved or used twice`, t.name);
    }
    const data = bytesFor(t, target);
    header[t.name] = {
      dtype: t.dtype,
      shape: [...t.shape],
      data_offsets: [offset, offset + data.length],
    };
    chunks.push(data);
    offset += data.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + padded + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + padded);
  let pos = 8 + padded;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.length;
  }
  return out;
}

// ---- thin Node wrappers (node:fs is imported lazily so browsers never load it) ----

/** Reads a whole file; a missing or unreadable file is a WeightsError (VITC0411). */
export async function readFileBytes(path: string): Promise<Uint8Array> {
  const fs = await import('node:fs/promises');
  try {
    return await fs.readFile(path);
  } catch (e) {
    fail(
      411,
      path,
      `cannot read file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
}

/** Writes `path.tmp-<pid>` then renames it over `path`, so `path` is never partly written. */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const fs = await import('node:fs/promises');
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    await fs.writeFile(tmp, bytes);
    await fs.rename(tmp, path);
  } catch (e) {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    fail(
      412,
      path,
      `cannot write file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
}

/** Parses a safetensors file from disk. */
export async function readSafetensors(path: string): Promise<SafetensorsFile> {
  return parseSafetensors(await readFileBytes(path), path);
}

/** Writes tensors to a safetensors file atomically. */
export async function writeSafetensors(
  path: string,
  tensors: readonly TensorToWrite[],
  metadata: Record<string, string> = {},
): Promise<void> {
  await writeFileAtomic(path, encodeSafetensors(tensors, metadata, path));
}
