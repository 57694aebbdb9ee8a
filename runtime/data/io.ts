/**
 * File access for data sets, the only place that touches node:fs and node:zlib. Both are
 * imported lazily so that the parsers (which work on bytes) can be bundled for a browser.
 * Node errors become DataErrors naming the path: a missing file is `notFound`, anything else
 * (permissions, a directory where a file should be) is `unreadable`.
 */
import { DataError, causeText } from './errors.js';

export async function readBytes(path: string): Promise<Uint8Array> {
  const fs = await import('node:fs/promises');
  try {
    const buf = await fs.readFile(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    throw ioError(path, e);
  }
}

export function readBytesSync(fs: typeof import('node:fs'), path: string): Uint8Array {
  try {
    const buf = fs.readFileSync(path);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    throw ioError(path, e);
  }
}

function ioError(path: string, e: unknown): DataError {
  const code = e && typeof e === 'object' && 'code' in e ? e.code : undefined;
  if (code === 'ENOENT') return new DataError('notFound', path, 'file not found');
  return new DataError('unreadable', path, `cannot read: ${causeText(e)}`);
}

/** What kind of thing is at `path`: 'file', 'dir', or null when nothing is there. */
export async function pathKind(path: string): Promise<'file' | 'dir' | 'other' | null> {
  const fs = await import('node:fs/promises');
  try {
    const st = await fs.stat(path);
    return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other';
  } catch {
    return null;
  }
}

/** gzip's two magic bytes (RFC 1952). */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * The bytes, decompressed when they start with the gzip magic; files are recognised by content,
 * not by a `.gz` suffix, because both spellings of the MNIST files circulate. Decompression runs
 * on libuv's thread pool, so it overlaps other work.
 */
export async function gunzipIfNeeded(bytes: Uint8Array, file: string): Promise<Uint8Array> {
  if (!isGzip(bytes)) return bytes;
  const zlib = await import('node:zlib');
  try {
    const out = await new Promise<Buffer>((resolve, reject) =>
      zlib.gunzip(bytes, (err, res) => (err ? reject(err) : resolve(res))),
    );
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (e) {
    throw new DataError('badGzip', file, `corrupt gzip data (${causeText(e)})`);
  }
}
