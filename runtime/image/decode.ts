/**
 * PNG and JPEG decoding into float HWC pixels on the 0..255 scale.
 *
 * The format is chosen by magic bytes, never by the file name, because images collected from the
 * web are often misnamed. Headers are parsed here before the decoders run so that size limits
 * reject decompression bombs before any large allocation, and so that every failure becomes an
 * ImageError naming the file instead of a decoder's stack trace.
 *
 * Pixel values follow what PIL's `Image.open(...).convert(...)` would hand timm, except where
 * PIL loses precision (16-bit samples are scaled exactly, v·255/65535, where PIL truncates or
 * clips; see docs/IMAGES.md). Node only: in a browser, decode with createImageBitmap and pass a
 * RasterImage to preprocess.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { inflateSync } from 'node:zlib';
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';
import { ImageError, type RasterImage } from './errors.js';

export type ImageFormat = 'png' | 'jpeg';

export interface DecodedImage extends RasterImage {
  format: ImageFormat;
  /** Bits per sample in the file (1, 2, 4, 8 or 16 for PNG; 8 for JPEG). */
  bitDepth: number;
  source: string;
}

export interface DecodeOptions {
  /** Largest width or height accepted (default 16384). */
  maxDimension?: number;
  /** Largest width × height accepted (default 64 megapixels). */
  maxPixels?: number;
  /** Memory cap handed to jpeg-js (default 1024 MiB). */
  maxMemoryMB?: number;
}

const DEFAULTS = { maxDimension: 16384, maxPixels: 64_000_000, maxMemoryMB: 1024 };
const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The format by magic bytes, or null when it is neither PNG nor JPEG. */
export function sniffFormat(bytes: Uint8Array): ImageFormat | null {
  if (bytes.length >= 8 && PNG_MAGIC.every((b, i) => bytes[i] === b)) return 'png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    return 'jpeg';
  }
  return null;
}

/**
 * Decode a PNG or JPEG from a path (read synchronously) or from bytes. `options.source` names
 * in-memory data in errors (default '<bytes>'); a path names itself.
 */
export function decodeImage(
  input: string | Uint8Array,
  options: DecodeOptions & { source?: string } = {},
): DecodedImage {
  if (typeof input === 'string') {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(input);
    } catch (e) {
      throw readError(input, e);
    }
    return decodeBytes(bytes, input, options);
  }
  return decodeBytes(input, options.source ?? '<bytes>', options);
}

/** Read and decode an image file without blocking the event loop. */
export async function readImage(path: string, options?: DecodeOptions): Promise<DecodedImage> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw readError(path, e);
  }
  return decodeBytes(bytes, path, options ?? {});
}

function decodeBytes(bytes: Uint8Array, source: string, options: DecodeOptions): DecodedImage {
  const opts: Required<DecodeOptions> = {
    maxDimension: options.maxDimension ?? DEFAULTS.maxDimension,
    maxPixels: options.maxPixels ?? DEFAULTS.maxPixels,
    maxMemoryMB: options.maxMemoryMB ?? DEFAULTS.maxMemoryMB,
  };
  if (bytes.length === 0) throw new ImageError('empty', source, 'the file is empty (0 bytes)');
  const format = sniffFormat(bytes);
  if (format === 'png') return decodePng(bytes, source, opts);
  if (format === 'jpeg') return decodeJpeg(bytes, source, opts);
  const head = Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new ImageError('format', source, `not a PNG or JPEG image (first bytes: ${head})`);
}

function readError(path: string, e: unknown): ImageError {
  const code = (e as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code;
  return new ImageError('read', path, `cannot read image: ${why ?? (e as Error).message}`);
}

function checkSize(
  width: number,
  height: number,
  source: string,
  opts: Required<DecodeOptions>,
): void {
  if (width < 1 || height < 1) {
    throw new ImageError('unsupported', source, `image has zero size (${width}×${height})`);
  }
  if (width > opts.maxDimension || height > opts.maxDimension || width * height > opts.maxPixels) {
    throw new ImageError(
      'tooLarge',
      source,
      `image is ${width}×${height}; the limit is ${opts.maxDimension} per side and ` +
        `${opts.maxPixels} pixels (DecodeOptions.maxDimension / maxPixels)`,
    );
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

// ---------------------------------------------------------------------------------------------
// PNG

const BPP: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

function be32(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
}

function decodePng(bytes: Uint8Array, source: string, opts: Required<DecodeOptions>): DecodedImage {
  if (bytes.length < 33) throw new ImageError('png', source, 'truncated PNG (no complete header)');
  const type = String.fromCharCode(...bytes.subarray(12, 16));
  if (type !== 'IHDR') throw new ImageError('png', source, 'corrupt PNG: first chunk is not IHDR');
  const width = be32(bytes, 16);
  const height = be32(bytes, 20);
  const depth = bytes[24]!;
  const colorType = bytes[25]!;
  const interlaced = bytes[28] === 1;
  checkSize(width, height, source, opts);
  if (BPP[colorType] === undefined) {
    throw new ImageError('png', source, `corrupt PNG: unknown color type ${colorType}`);
  }
  // pngjs inflates interlaced images without a size limit, and reports overlong data in others
  // obscurely; inflate first, capped at the exact size the header implies.
  guardInflate(bytes, width, height, BPP[colorType]! * depth, interlaced, source);

  let meta: PngMeta;
  try {
    meta = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
      skipRescale: true,
    }) as unknown as PngMeta;
  } catch (e) {
    const m = message(e);
    // pngjs reports running out of input as pending reads on a finished stream.
    if (/finished stream|end of/i.test(m)) {
      throw new ImageError('png', source, 'truncated PNG: the file ends before its IEND chunk');
    }
    throw new ImageError('png', source, `corrupt PNG: ${m}`);
  }
  return pngPixels(meta, source);
}

interface PngMeta {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  alpha: boolean;
  transColor?: number[];
  /** RGBA per pixel: bytes, raw low-bit samples, or 16-bit samples in a Uint16Array. */
  data: ArrayLike<number>;
}

function guardInflate(
  bytes: Uint8Array,
  width: number,
  height: number,
  bitsPerPixel: number,
  interlaced: boolean,
  source: string,
): void {
  // Adam7 passes: (x0, y0, dx, dy). Each pass row has a filter byte plus its packed samples.
  const adam7 = [
    [0, 0, 8, 8],
    [4, 0, 8, 8],
    [0, 4, 4, 8],
    [2, 0, 4, 4],
    [0, 2, 2, 4],
    [1, 0, 2, 2],
    [0, 1, 1, 2],
  ];
  const passes = interlaced ? adam7 : [[0, 0, 1, 1]];
  let expected = 0;
  for (const [x0, y0, dx, dy] of passes as [number, number, number, number][]) {
    const pw = Math.ceil((width - x0) / dx);
    const ph = Math.ceil((height - y0) / dy);
    if (pw > 0 && ph > 0) expected += ph * (1 + Math.ceil((pw * bitsPerPixel) / 8));
  }
  const idat: Uint8Array[] = [];
  for (let i = 8; i + 8 <= bytes.length;) {
    const len = be32(bytes, i);
    const type = String.fromCharCode(...bytes.subarray(i + 4, i + 8));
    if (type === 'IDAT') idat.push(bytes.subarray(i + 8, Math.min(i + 8 + len, bytes.length)));
    if (type === 'IEND') break;
    i += 12 + len;
  }
  try {
    inflateSync(Buffer.concat(idat), { maxOutputLength: expected + 1 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
      throw new ImageError(
        'tooLarge',
        source,
        `PNG image data inflates beyond the ${expected} bytes its header implies`,
      );
    }
    // Other inflate errors (truncation, bad checksum) are reported by pngjs with more context.
  }
}

function pngPixels(meta: PngMeta, source: string): DecodedImage {
  const { width, height, depth, colorType, data } = meta;
  const n = width * height;
  const palette = colorType === 3;
  const hasAlpha = colorType === 4 || colorType === 6 || (palette && meta.alpha);
  const gray = colorType === 0;
  const channels: 1 | 3 | 4 = gray ? 1 : hasAlpha ? 4 : 3;
  // Palette entries are already 8-bit; other samples are raw (skipRescale) and scaled here.
  const scale = palette || depth === 8 ? 1 : 255 / (2 ** depth - 1);
  // pngjs zeroes pixels matching a tRNS colour in gray/RGB images; PIL's convert keeps their
  // colour and drops transparency, so put the key colour back (it is what the file stored).
  const key = !palette && colorType !== 4 && colorType !== 6 ? meta.transColor : undefined;
  const out = new Float32Array(n * channels);
  for (let p = 0; p < n; p++) {
    const s = p * 4;
    const keyed = key !== undefined && data[s + 3] === 0;
    if (channels === 1) {
      out[p] = (keyed ? key[0]! : data[s]!) * scale;
      continue;
    }
    const o = p * channels;
    for (let c = 0; c < 3; c++) {
      out[o + c] = (keyed ? key[key.length === 1 ? 0 : c]! : data[s + c]!) * scale;
    }
    if (channels === 4) out[o + 3] = data[s + 3]! * scale;
  }
  return { width, height, channels, data: out, format: 'png', bitDepth: depth, source };
}

// ---------------------------------------------------------------------------------------------
// JPEG

interface JpegHeader {
  width: number;
  height: number;
  components: number;
  sofOffset: number;
}

function jpegHeader(bytes: Uint8Array, source: string): JpegHeader {
  const fail = (kind: 'jpeg' | 'unsupported', why: string): never => {
    throw new ImageError(kind, source, why);
  };
  let i = 2;
  while (i < bytes.length) {
    if (bytes[i] !== 0xff) fail('jpeg', `corrupt JPEG: expected a marker at byte ${i}`);
    while (i < bytes.length && bytes[i] === 0xff) i++; // fill bytes
    if (i >= bytes.length) break;
    const marker = bytes[i]!;
    const at = i - 1;
    i++;
    if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) continue;
    if (marker === 0xd9 || marker === 0xda) fail('jpeg', 'corrupt JPEG: no frame header (SOF)');
    if (i + 2 > bytes.length) break;
    const len = (bytes[i]! << 8) | bytes[i + 1]!;
    if (i + len > bytes.length) break;
    const sof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8;
    if (sof && marker !== 0xcc) {
      if (marker > 0xc2) {
        const kind =
          marker === 0xc3 ? 'lossless' : marker >= 0xc9 ? 'arithmetic-coded' : 'hierarchical';
        fail(
          'unsupported',
          `${kind} JPEG (SOF${marker - 0xc0}) is not supported; use baseline or progressive`,
        );
      }
      if (len < 8) fail('jpeg', `corrupt JPEG: frame header of ${len} bytes`);
      const precision = bytes[i + 2]!;
      if (precision !== 8)
        fail('unsupported', `${precision}-bit JPEG is not supported (8-bit only)`);
      const height = (bytes[i + 3]! << 8) | bytes[i + 4]!;
      const width = (bytes[i + 5]! << 8) | bytes[i + 6]!;
      const components = bytes[i + 7]!;
      return { width, height, components, sofOffset: at };
    }
    i += len;
  }
  return fail('jpeg', 'truncated JPEG: the file ends before the frame header');
}

function decodeJpeg(
  bytes: Uint8Array,
  source: string,
  opts: Required<DecodeOptions>,
): DecodedImage {
  const h = jpegHeader(bytes, source);
  checkSize(h.width, h.height, source, opts);
  if (h.components !== 1 && h.components !== 3 && h.components !== 4) {
    throw new ImageError(
      'unsupported',
      source,
      `JPEG with ${h.components} components is not supported`,
    );
  }
  // Entropy-coded data cannot contain FF D9 (0xFF is stuffed as FF 00), so a file with no EOI
  // after its frame header was cut short; jpeg-js would silently return grey blocks instead.
  if (lastEoi(bytes) < h.sofOffset) {
    throw new ImageError('jpeg', source, 'truncated JPEG: no end-of-image marker');
  }
  let raw: { width: number; height: number; data: Uint8Array };
  try {
    raw = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      maxResolutionInMP: Math.ceil(opts.maxPixels / 1e6),
      maxMemoryUsageInMB: opts.maxMemoryMB,
    });
  } catch (e) {
    const m = message(e);
    if (/maxResolution|maxMemory|allocate enough memory/i.test(m)) {
      throw new ImageError('tooLarge', source, `JPEG too large to decode: ${m}`);
    }
    if (/Unsupported color mode/i.test(m)) {
      throw new ImageError('unsupported', source, `unsupported JPEG: ${m}`);
    }
    throw new ImageError('jpeg', source, `corrupt JPEG: ${m}`);
  }
  const { width, height } = raw;
  const n = width * height;
  // jpeg-js always returns RGB; a 1-component JPEG is grey, so keep one channel (PIL mode 'L').
  const channels: 1 | 3 = h.components === 1 ? 1 : 3;
  const out = new Float32Array(n * channels);
  if (channels === 1) for (let p = 0; p < n; p++) out[p] = raw.data[p * 3]!;
  else out.set(raw.data.subarray(0, n * 3));
  return { width, height, channels, data: out, format: 'jpeg', bitDepth: 8, source };
}

function lastEoi(bytes: Uint8Array): number {
  for (let i = bytes.length - 2; i >= 0; i--) {
    if (bytes[i] === 0xff && bytes[i + 1] === 0xd9) return i;
  }
  return -1;
}
