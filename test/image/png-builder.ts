// A minimal PNG writer for tests: builds the variants pngjs cannot write (palette, 1/2/4-bit,
// tRNS, Adam7 interlacing) from raw sample values, so the decoder is tested on real PNG bytes.
import { deflateSync } from 'node:zlib';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  out.set(Buffer.from(type, 'latin1'), 4);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

export interface BuildPng {
  width: number;
  height: number;
  depth: 1 | 2 | 4 | 8 | 16;
  colorType: 0 | 2 | 3 | 4 | 6;
  /** Raw sample values, row-major, channels interleaved (palette: indices). */
  samples: number[];
  palette?: [number, number, number][];
  /** tRNS payload: per-palette-entry alphas, or the key colour's samples. */
  trns?: number[];
  interlace?: boolean;
  /** Replace the IDAT payload (for corrupt/bomb tests). */
  idat?: Uint8Array;
}

function packRows(o: BuildPng, xs: number[], ys: number[]): Uint8Array {
  const ch = CHANNELS[o.colorType]!;
  const rowBytes = Math.ceil((xs.length * ch * o.depth) / 8);
  const out = new Uint8Array(ys.length * (rowBytes + 1));
  ys.forEach((y, r) => {
    const base = r * (rowBytes + 1) + 1; // filter byte 0 (None) precedes each row
    let bit = 0;
    for (const x of xs) {
      for (let c = 0; c < ch; c++) {
        const v = o.samples[(y * o.width + x) * ch + c]!;
        if (o.depth === 16) {
          out[base + bit / 8] = v >> 8;
          out[base + bit / 8 + 1] = v & 255;
        } else if (o.depth === 8) out[base + bit / 8] = v;
        else out[base + (bit >> 3)]! |= v << (8 - o.depth - (bit & 7));
        bit += o.depth;
      }
    }
  });
  return out;
}

export function buildPng(o: BuildPng): Uint8Array {
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, o.width);
  dv.setUint32(4, o.height);
  ihdr.set([o.depth, o.colorType, 0, 0, o.interlace ? 1 : 0], 8);
  const range = (n: number, start = 0, step = 1) =>
    Array.from({ length: Math.max(0, Math.ceil((n - start) / step)) }, (_, i) => start + i * step);
  let raw: Uint8Array;
  if (!o.interlace) raw = packRows(o, range(o.width), range(o.height));
  else {
    const passes = [
      [0, 0, 8, 8],
      [4, 0, 8, 8],
      [0, 4, 4, 8],
      [2, 0, 4, 4],
      [0, 2, 2, 4],
      [1, 0, 2, 2],
      [0, 1, 1, 2],
    ];
    const parts = passes.map(([x0, y0, dx, dy]) => {
      const xs = range(o.width, x0, dx);
      const ys = range(o.height, y0, dy);
      return xs.length && ys.length ? packRows(o, xs, ys) : new Uint8Array(0);
    });
    raw = Buffer.concat(parts);
  }
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
  ];
  if (o.palette) parts.push(chunk('PLTE', new Uint8Array(o.palette.flat())));
  if (o.trns) {
    const t =
      o.colorType === 3
        ? new Uint8Array(o.trns)
        : new Uint8Array(o.trns.flatMap((v) => [v >> 8, v & 255]));
    parts.push(chunk('tRNS', t));
  }
  parts.push(chunk('IDAT', o.idat ?? deflateSync(raw)));
  parts.push(chunk('IEND', new Uint8Array(0)));
  return Buffer.concat(parts);
}
